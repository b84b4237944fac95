// linux.resources -> cgroup files, v1 or v2 per controller.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <sys/stat.h>
#include <unistd.h>

#include "base/files.h"
#include "base/log.h"
#include "cgroup/cgroup.h"
#include "cgroup/cgroup_internal.h"
#include "cgroup/probe.h"

namespace berth::cgroup {

namespace internal {

Result<std::string> v2_swap_max(int64_t oci_swap, int64_t limit) {
  if (oci_swap == -1) return std::string("max");
  if (oci_swap < 0) return make_error("invalid value {}", oci_swap);
  if (limit == 0 || limit == -1)
    return make_error("a swap limit needs a memory limit (swap is memory+swap in the spec)");
  if (limit < 0) return make_error("invalid memory limit {}", limit);
  if (oci_swap < limit)
    return make_error("memory+swap {} is below the memory limit {}", oci_swap, limit);
  return std::to_string(oci_swap - limit);
}

std::string pids_max(int64_t limit) {
  return limit > 0 ? std::to_string(limit) : "max";
}

}  // namespace internal

namespace {

constexpr const char* kRes = "linux.resources";

std::string field(const std::string& path) {
  return std::string(kRes) + "." + path;
}

std::string v1_num(int64_t v) {
  return std::to_string(v);
}
std::string v2_num(int64_t v) {
  return v < 0 ? "max" : std::to_string(v);
}

constexpr const char* kNoV1Weight =
    "its blkio controller has neither blkio.weight nor blkio.bfq.weight: no disk uses the BFQ "
    "scheduler";

Error no_controller(const std::string& fld, const std::string& controller) {
  return make_error("{}: no {} controller on this host", fld, controller);
}

uint64_t to_u64(const std::string& s) {
  return std::strtoull(s.c_str(), nullptr, 10);
}

std::string dev(int64_t major, int64_t minor) {
  return fmt::format("{}:{}", major, minor);
}

// Throttle files of blockIO as v1 and v2 name them.
struct Throttle {
  const std::vector<oci::ThrottleDevice>& list;
  const char* name;
  const char* v1file;
  const char* v2key;
};
std::vector<Throttle> throttles_of(const oci::BlockIO& b) {
  return {
      {b.throttle_read_bps_device, "throttleReadBpsDevice", "blkio.throttle.read_bps_device",
       "rbps"},
      {b.throttle_write_bps_device, "throttleWriteBpsDevice", "blkio.throttle.write_bps_device",
       "wbps"},
      {b.throttle_read_iops_device, "throttleReadIOPSDevice", "blkio.throttle.read_iops_device",
       "riops"},
      {b.throttle_write_iops_device, "throttleWriteIOPSDevice", "blkio.throttle.write_iops_device",
       "wiops"},
  };
}

}  // namespace

// linux.resources written to one cgroup, one controller at a time, each on
// v1 or v2 wherever the host has it (Cgroup::dir_for).
class Cgroup::Writer {
 public:
  Writer(Cgroup& cg, bool update, Files& files) : cg_(cg), update_(update), files_(files) {}
  Result<void> cpuset(const oci::Cpu& c);
  Result<void> devices(const std::vector<oci::DeviceRule>& spec_rules);
  Result<void> memory(const oci::Memory& m);
  Result<void> cpu(const oci::Cpu& c);
  Result<void> pids(int64_t limit);
  Result<void> block_io(const oci::BlockIO& b);
  Result<void> hugetlb(const std::vector<oci::HugepageLimit>& limits);
  Result<void> network(const oci::Network& n);
  Result<void> unified(const std::map<std::string, std::string>& files);

 private:
  // Writes value to dir/file; a failure names the OCI field and the file.
  Result<void> put(const std::string& dir, const std::string& file, const std::string& value,
                   const std::string& field) {
    auto r = files_.write(dir + "/" + file, value);
    if (r) return ok();
    int e = r.error().code;
    return Error{e, fmt::format("{}: write {}: {}", field, file, std::strerror(e))};
  }
  Result<std::string> read(const std::string& path) const { return files_.read(path); }
  bool exists(const std::string& path) const { return files_.exists(path); }
  // Whether the controller's directory d is the v2 one (v1 does not have it).
  bool on_v2(const std::string& d, const std::string& v1name) const {
    return !d.empty() && d == cg_.v2_ && !cg_.v1_.count(v1name);
  }
  Result<void> need_v2(const std::string& c) const;
  Result<void> memory_v1(const std::string& d, const oci::Memory& m);
  Result<void> memory_v2(const std::string& d, const oci::Memory& m);
  Result<void> cpu_v1(const std::string& d, const oci::Cpu& c);
  Result<void> cpu_v2(const std::string& d, const oci::Cpu& c);
  Result<void> block_io_v1(const std::string& d, const oci::BlockIO& b);
  Result<void> block_io_v2(const std::string& d, const oci::BlockIO& b);

  Cgroup& cg_;
  bool update_;
  Files& files_;
};

// Enables a controller the v2 tree serves (lazily: in hybrid mode this is
// the only time berth changes v2 subtree_control).
Result<void> Cgroup::Writer::need_v2(const std::string& c) const {
  const auto& ctrls = cg_.v2_controllers_;
  if (cg_.v2_.empty() || std::find(ctrls.begin(), ctrls.end(), c) == ctrls.end()) return ok();
  auto have = read(cg_.v2_ + "/cgroup.controllers");
  if (have && (" " + *have + " ").find(" " + c + " ") != std::string::npos) return ok();
  return internal::enable_v2_controllers(cg_.v2_mount_, cg_.v2_, {c}, false, files_);
}

// On v1 nothing can join a cpuset cgroup without cpus and mems: first.
Result<void> Cgroup::Writer::cpuset(const oci::Cpu& c) {
  if (c.cpus.empty() && c.mems.empty()) return ok();
  std::string d = cg_.dir_for("cpuset");
  if (d.empty()) return no_controller(field(c.cpus.empty() ? "cpu.mems" : "cpu.cpus"), "cpuset");
  TRY_CTX(need_v2("cpuset"), "{}", field("cpu.cpus"));
  if (!c.cpus.empty()) TRY(put(d, "cpuset.cpus", c.cpus, field("cpu.cpus")));
  if (!c.mems.empty()) TRY(put(d, "cpuset.mems", c.mems, field("cpu.mems")));
  return ok();
}

// Everything denied, then the spec's rules in order, then the defaults
// every runtime allows.
Result<void> Cgroup::Writer::devices(const std::vector<oci::DeviceRule>& spec_rules) {
  for (size_t i = 0; i < spec_rules.size(); ++i) {
    auto& d = spec_rules[i];
    if (!(d.type.empty() || d.type == "a" || d.type == "c" || d.type == "b"))
      return make_error("{}[{}].type: {:?} is not a, c or b", field("devices"), i, d.type);
    if (d.access.find_first_not_of("rwm") != std::string::npos)
      return make_error("{}[{}].access: {:?} is not a combination of r, w and m", field("devices"),
                        i, d.access);
  }
  auto rules = spec_rules;
  auto defaults = internal::default_device_rules();
  rules.insert(rules.end(), defaults.begin(), defaults.end());
  if (auto it = cg_.v1_.find("devices"); it != cg_.v1_.end()) {
    auto writes = internal::v1_device_writes(rules);
    for (size_t i = 0; i < writes.size(); ++i) {
      // writes[0] is the initial deny-all; writes[i] is rules[i - 1].
      std::string f =
          i == 0 || i <= spec_rules.size()
              ? (i == 0 ? field("devices") : fmt::format("{}[{}]", field("devices"), i - 1))
              : fmt::format("{} (default rule {})", field("devices"), writes[i].second);
      TRY(put(it->second, writes[i].first, writes[i].second, f));
    }
  } else if (!cg_.v2_.empty()) {
    TRY_CTX(internal::install_device_filter(cg_.v2_, internal::device_program(rules)), "{}",
            field("devices"));
  } else if (!spec_rules.empty()) {
    return no_controller(field("devices"), "devices");
  }
  return ok();
}

Result<void> Cgroup::Writer::memory(const oci::Memory& m) {
  if (m.kernel)
    log::warn("{}: ignored (kernel memory limits are gone from the kernel)",
              field("memory.kernel"));
  if (m.kernel_tcp)
    log::warn("{}: ignored (kernel memory limits are gone from the kernel)",
              field("memory.kernelTCP"));
  const char* first = m.limit                ? "memory.limit"
                      : m.swap               ? "memory.swap"
                      : m.reservation        ? "memory.reservation"
                      : m.swappiness         ? "memory.swappiness"
                      : m.disable_oom_killer ? "memory.disableOOMKiller"
                      : m.use_hierarchy      ? "memory.useHierarchy"
                                             : nullptr;
  if (!first) return ok();
  std::string d = cg_.dir_for("memory");
  if (d.empty()) return no_controller(field(first), "memory");
  bool v2 = on_v2(d, "memory");
  if (v2) TRY_CTX(need_v2("memory"), "{}", field(first));
  if (update_ && m.check_before_update.value_or(false) && m.limit && *m.limit > 0) {
    auto usage = TRY_CTX(read(d + (v2 ? "/memory.current" : "/memory.usage_in_bytes")), "{}",
                         field("memory.checkBeforeUpdate"));
    if (to_u64(usage) > static_cast<uint64_t>(*m.limit))
      return make_error("{}: {} is below the current usage {} (checkBeforeUpdate)",
                        field("memory.limit"), *m.limit, usage);
  }
  return v2 ? memory_v2(d, m) : memory_v1(d, m);
}

Result<void> Cgroup::Writer::memory_v1(const std::string& d, const oci::Memory& m) {
  // Plain values rather than optionals: g++ 12 misreads optionals here.
  const bool has_limit = m.limit.has_value();
  const int64_t limit = m.limit.value_or(0);
  bool has_swap = m.swap.has_value() && *m.swap != 0;  // 0 is "unset" to runc and crun
  int64_t swap = m.swap.value_or(0);
  const bool have_memsw = exists(d + "/memory.memsw.limit_in_bytes");
  // Unlimited memory with swap left out means unlimited swap too.
  if (has_limit && limit == -1 && !has_swap && have_memsw) {
    has_swap = true;
    swap = -1;
  }
  if (has_swap && !have_memsw) {
    if (swap != -1)
      return make_error("{}: swap accounting is off on this host (no memory.memsw.limit_in_bytes)",
                        field("memory.swap"));
    has_swap = false;
  }
  // memsw may never be below the memory limit, so the order of the two
  // writes depends on whether the limits grow or shrink.
  bool swap_first = false;
  if (has_limit && has_swap) {
    auto cur = read(d + "/memory.limit_in_bytes");
    swap_first = swap == -1 || (cur && to_u64(*cur) < static_cast<uint64_t>(swap));
  }
  if (has_swap && swap_first)
    TRY(put(d, "memory.memsw.limit_in_bytes", v1_num(swap), field("memory.swap")));
  if (has_limit) TRY(put(d, "memory.limit_in_bytes", v1_num(limit), field("memory.limit")));
  if (has_swap && !swap_first)
    TRY(put(d, "memory.memsw.limit_in_bytes", v1_num(swap), field("memory.swap")));
  if (m.reservation)
    TRY(put(d, "memory.soft_limit_in_bytes", v1_num(*m.reservation), field("memory.reservation")));
  if (m.swappiness) {
    if (*m.swappiness > 100)
      return make_error("{}: {} is outside 0-100", field("memory.swappiness"), *m.swappiness);
    TRY(put(d, "memory.swappiness", std::to_string(*m.swappiness), field("memory.swappiness")));
  }
  if (m.disable_oom_killer)
    TRY(put(d, "memory.oom_control", *m.disable_oom_killer ? "1" : "0",
            field("memory.disableOOMKiller")));
  if (m.use_hierarchy)
    TRY(put(d, "memory.use_hierarchy", *m.use_hierarchy ? "1" : "0", field("memory.useHierarchy")));
  return ok();
}

Result<void> Cgroup::Writer::memory_v2(const std::string& d, const oci::Memory& m) {
  if (m.swap && *m.swap != 0) {
    int64_t limit = 0;
    if (m.limit) {
      limit = *m.limit;
    } else if (update_) {
      auto cur = TRY_CTX(read(d + "/memory.max"), "{}", field("memory.swap"));
      limit = cur == "max" ? -1 : std::strtoll(cur.c_str(), nullptr, 10);
    }
    auto v = internal::v2_swap_max(*m.swap, limit);
    if (!v) return std::move(v).error().wrap(field("memory.swap"));
    if (!exists(d + "/memory.swap.max") && *v != "max")
      return make_error("{}: swap accounting is off on this host (no memory.swap.max)",
                        field("memory.swap"));
    if (exists(d + "/memory.swap.max")) TRY(put(d, "memory.swap.max", *v, field("memory.swap")));
  } else if (m.limit && *m.limit == -1 && exists(d + "/memory.swap.max")) {
    TRY(put(d, "memory.swap.max", "max", field("memory.swap")));
  }
  if (m.limit) TRY(put(d, "memory.max", v2_num(*m.limit), field("memory.limit")));
  if (m.reservation) TRY(put(d, "memory.low", v2_num(*m.reservation), field("memory.reservation")));
  if (m.swappiness)
    log::warn("{}: ignored (cgroup v2 has no per-cgroup swappiness)", field("memory.swappiness"));
  if (m.disable_oom_killer.value_or(false))
    log::warn("{}: ignored (cgroup v2 cannot disable the OOM killer)",
              field("memory.disableOOMKiller"));
  if (m.use_hierarchy && !*m.use_hierarchy)
    log::warn("{}: ignored (cgroup v2 is always hierarchical)", field("memory.useHierarchy"));
  return ok();
}

Result<void> Cgroup::Writer::cpu(const oci::Cpu& c) {
  const char* first = c.shares             ? "cpu.shares"
                      : c.quota            ? "cpu.quota"
                      : c.period           ? "cpu.period"
                      : c.burst            ? "cpu.burst"
                      : c.realtime_runtime ? "cpu.realtimeRuntime"
                      : c.realtime_period  ? "cpu.realtimePeriod"
                      : c.idle             ? "cpu.idle"
                                           : nullptr;
  if (!first) return ok();
  std::string d = cg_.dir_for("cpu");
  if (d.empty()) return no_controller(field(first), "cpu");
  if (!on_v2(d, "cpu")) return cpu_v1(d, c);
  TRY_CTX(need_v2("cpu"), "{}", field(first));
  return cpu_v2(d, c);
}

Result<void> Cgroup::Writer::cpu_v1(const std::string& d, const oci::Cpu& c) {
  if (c.shares) {
    TRY(put(d, "cpu.shares", std::to_string(*c.shares), field("cpu.shares")));
    // The kernel clamps out-of-range shares silently.
    auto got = read(d + "/cpu.shares");
    if (got && *got != std::to_string(*c.shares))
      return make_error("{}: {} is outside the range the kernel accepts (it set {})",
                        field("cpu.shares"), *c.shares, *got);
  }
  if (c.period) {
    auto pr = put(d, "cpu.cfs_period_us", std::to_string(*c.period), field("cpu.period"));
    // A shorter period can be refused while the old quota is in place.
    if (!pr && pr.error().code == EINVAL && c.quota) {
      TRY(put(d, "cpu.cfs_quota_us", v1_num(*c.quota), field("cpu.quota")));
      TRY(put(d, "cpu.cfs_period_us", std::to_string(*c.period), field("cpu.period")));
    } else if (!pr) {
      return std::move(pr).error();
    }
  }
  if (c.quota) TRY(put(d, "cpu.cfs_quota_us", v1_num(*c.quota), field("cpu.quota")));
  if (c.burst) TRY(put(d, "cpu.cfs_burst_us", std::to_string(*c.burst), field("cpu.burst")));
  if (c.realtime_period)
    TRY(put(d, "cpu.rt_period_us", std::to_string(*c.realtime_period),
            field("cpu.realtimePeriod")));
  if (c.realtime_runtime)
    TRY(put(d, "cpu.rt_runtime_us", v1_num(*c.realtime_runtime), field("cpu.realtimeRuntime")));
  if (c.idle) TRY(put(d, "cpu.idle", std::to_string(*c.idle), field("cpu.idle")));
  return ok();
}

Result<void> Cgroup::Writer::cpu_v2(const std::string& d, const oci::Cpu& c) {
  if (c.realtime_runtime && *c.realtime_runtime != 0)
    return make_error("{}: cgroup v2 has no realtime cpu limits", field("cpu.realtimeRuntime"));
  if (c.realtime_period && *c.realtime_period != 0)
    return make_error("{}: cgroup v2 has no realtime cpu limits", field("cpu.realtimePeriod"));
  if (c.idle) TRY(put(d, "cpu.idle", std::to_string(*c.idle), field("cpu.idle")));
  if (c.shares && *c.shares != 0)
    TRY(put(d, "cpu.weight", std::to_string(shares_to_weight(*c.shares)), field("cpu.shares")));
  if (c.quota || c.period) {
    std::string q;
    if (c.quota) {
      q = v2_num(*c.quota);
    } else {  // keep the quota that is there
      auto cur = TRY_CTX(read(d + "/cpu.max"), "{}", field("cpu.period"));
      q = cur.substr(0, cur.find(' '));
    }
    if (c.period) q += " " + std::to_string(*c.period);
    TRY(put(d, "cpu.max", q, field(c.quota ? "cpu.quota" : "cpu.period")));
  }
  if (c.burst) TRY(put(d, "cpu.max.burst", std::to_string(*c.burst), field("cpu.burst")));
  return ok();
}

Result<void> Cgroup::Writer::pids(int64_t limit) {
  std::string d = cg_.dir_for("pids");
  if (d.empty()) return no_controller(field("pids.limit"), "pids");
  if (on_v2(d, "pids")) TRY_CTX(need_v2("pids"), "{}", field("pids.limit"));
  return put(d, "pids.max", internal::pids_max(limit), field("pids.limit"));
}

Result<void> Cgroup::Writer::block_io(const oci::BlockIO& b) {
  bool any = b.weight || b.leaf_weight || !b.weight_device.empty() ||
             !b.throttle_read_bps_device.empty() || !b.throttle_write_bps_device.empty() ||
             !b.throttle_read_iops_device.empty() || !b.throttle_write_iops_device.empty();
  if (!any) return ok();
  std::string d = cg_.dir_for("blkio");
  if (d.empty()) return no_controller(field("blockIO"), "blkio/io");
  if (!on_v2(d, "blkio")) return block_io_v1(d, b);
  TRY_CTX(need_v2("io"), "{}", field("blockIO"));
  return block_io_v2(d, b);
}

Result<void> Cgroup::Writer::block_io_v1(const std::string& d, const oci::BlockIO& b) {
  // BFQ's files where the kernel has them (CFQ is gone since 5.0).
  bool bfq = exists(d + "/blkio.bfq.weight");
  bool weighs = bfq || exists(d + "/blkio.weight");
  bool wants_weight = b.weight || b.leaf_weight ||
                      std::any_of(b.weight_device.begin(), b.weight_device.end(),
                                  [](auto& w) { return w.weight || w.leaf_weight; });
  if (wants_weight && !weighs)
    return make_error("{}: this host cannot apply block I/O weights ({})",
                      field(b.weight        ? "blockIO.weight"
                            : b.leaf_weight ? "blockIO.leafWeight"
                                            : "blockIO.weightDevice"),
                      kNoV1Weight);
  if (b.weight)
    TRY(put(d, bfq ? "blkio.bfq.weight" : "blkio.weight", std::to_string(*b.weight),
            field("blockIO.weight")));
  if (b.leaf_weight)
    TRY(put(d, "blkio.leaf_weight", std::to_string(*b.leaf_weight), field("blockIO.leafWeight")));
  for (size_t i = 0; i < b.weight_device.size(); ++i) {
    auto& w = b.weight_device[i];
    std::string f = fmt::format("{}[{}]", field("blockIO.weightDevice"), i);
    if (w.weight)
      TRY(put(d, bfq ? "blkio.bfq.weight_device" : "blkio.weight_device",
              dev(w.major, w.minor) + " " + std::to_string(*w.weight), f + ".weight"));
    if (w.leaf_weight)
      TRY(put(d, "blkio.leaf_weight_device",
              dev(w.major, w.minor) + " " + std::to_string(*w.leaf_weight), f + ".leafWeight"));
  }
  for (auto& t : throttles_of(b))
    for (size_t i = 0; i < t.list.size(); ++i)
      TRY(put(d, t.v1file,
              dev(t.list[i].major, t.list[i].minor) + " " + std::to_string(t.list[i].rate),
              fmt::format("{}[{}]", field(std::string("blockIO.") + t.name), i)));
  return ok();
}

Result<void> Cgroup::Writer::block_io_v2(const std::string& d, const oci::BlockIO& b) {
  bool bfq = exists(d + "/io.bfq.weight");
  bool wants_weight = b.weight || std::any_of(b.weight_device.begin(), b.weight_device.end(),
                                              [](auto& w) { return w.weight.has_value(); });
  if (wants_weight && !bfq && !exists(d + "/io.weight"))
    return make_error(
        "{}: this host cannot apply block I/O weights (its io controller has neither "
        "io.weight nor io.bfq.weight: no iocost, no disk uses the BFQ scheduler)",
        field(b.weight ? "blockIO.weight" : "blockIO.weightDevice"));
  if (b.weight) {
    if (bfq)
      TRY(put(d, "io.bfq.weight", std::to_string(*b.weight), field("blockIO.weight")));
    else
      TRY(put(d, "io.weight", std::to_string(blkio_weight_to_io_weight(*b.weight)),
              field("blockIO.weight")));
  }
  if (b.leaf_weight)
    log::warn("{}: ignored (cgroup v2 has no leaf weights)", field("blockIO.leafWeight"));
  for (size_t i = 0; i < b.weight_device.size(); ++i) {
    auto& w = b.weight_device[i];
    std::string f = fmt::format("{}[{}]", field("blockIO.weightDevice"), i);
    if (w.weight) {
      uint64_t weight = bfq ? *w.weight : blkio_weight_to_io_weight(*w.weight);
      TRY(put(d, bfq ? "io.bfq.weight" : "io.weight",
              dev(w.major, w.minor) + " " + std::to_string(weight), f + ".weight"));
    }
    if (w.leaf_weight) log::warn("{}.leafWeight: ignored (cgroup v2 has no leaf weights)", f);
  }
  for (auto& t : throttles_of(b))
    for (size_t i = 0; i < t.list.size(); ++i) {
      auto& x = t.list[i];
      TRY(put(d, "io.max",
              fmt::format("{} {}={}", dev(x.major, x.minor), t.v2key,
                          x.rate == 0 ? std::string("max") : std::to_string(x.rate)),
              fmt::format("{}[{}]", field(std::string("blockIO.") + t.name), i)));
    }
  return ok();
}

Result<void> Cgroup::Writer::hugetlb(const std::vector<oci::HugepageLimit>& limits) {
  for (size_t i = 0; i < limits.size(); ++i) {
    auto& h = limits[i];
    std::string f = fmt::format("{}[{}]", field("hugepageLimits"), i);
    if (h.page_size.empty() || h.page_size.find_first_not_of("0123456789KMGB") != std::string::npos)
      return make_error("{}.pageSize: {:?} is not a size like 2MB", f, h.page_size);
    std::string d = cg_.dir_for("hugetlb");
    if (d.empty()) return no_controller(f, "hugetlb");
    bool v2 = on_v2(d, "hugetlb");
    if (v2) TRY_CTX(need_v2("hugetlb"), "{}", f);
    std::string base = "hugetlb." + h.page_size;
    std::string lim = std::to_string(h.limit);
    std::string limit_file = base + (v2 ? ".max" : ".limit_in_bytes");
    std::string rsvd_file = base + (v2 ? ".rsvd.max" : ".rsvd.limit_in_bytes");
    TRY(put(d, limit_file, lim, f + ".limit"));
    if (exists(d + "/" + rsvd_file)) TRY(put(d, rsvd_file, lim, f + ".limit"));
  }
  return ok();
}

// net_cls and net_prio exist on v1 only.
Result<void> Cgroup::Writer::network(const oci::Network& n) {
  if (n.class_id) {
    auto it = cg_.v1_.find("net_cls");
    if (it == cg_.v1_.end())
      return make_error("{}: no net_cls controller on this host (cgroup v1 only)",
                        field("network.classID"));
    TRY(put(it->second, "net_cls.classid", std::to_string(*n.class_id), field("network.classID")));
  }
  if (n.priorities.empty()) return ok();
  auto it = cg_.v1_.find("net_prio");
  if (it == cg_.v1_.end())
    return make_error("{}: no net_prio controller on this host (cgroup v1 only)",
                      field("network.priorities"));
  for (size_t i = 0; i < n.priorities.size(); ++i) {
    auto& p = n.priorities[i];
    TRY(put(it->second, "net_prio.ifpriomap", p.name + " " + std::to_string(p.priority),
            fmt::format("{}[{}]", field("network.priorities"), i)));
  }
  return ok();
}

// Files of the v2 cgroup by name, as runc's linux.resources.unified.
Result<void> Cgroup::Writer::unified(const std::map<std::string, std::string>& files) {
  if (cg_.v2_.empty())
    return make_error("{}: cgroup v2 is not mounted on this host", field("unified"));
  for (auto& [k, v] : files) {
    std::string f = field("unified") + "." + k;
    if (k.empty() || k.find('/') != std::string::npos || k[0] == '.')
      return make_error("{}: not a cgroup file name", f);
    std::string ctrl = k.substr(0, k.find('.'));
    if (ctrl != "cgroup") TRY_CTX(need_v2(ctrl), "{}", f);
    if (!exists(cg_.v2_ + "/" + k))
      return make_error("{}: no such file in the v2 cgroup (is the {} controller there?)", f, ctrl);
    TRY(put(cg_.v2_, k, v, f));
  }
  return ok();
}

Result<void> Cgroup::apply(const oci::Resources& in, bool update, Files& files) {
  // 0 means "not set" for these, as in runc and crun (the kernel would
  // refuse most of them or read them as "nothing allowed").
  oci::Resources r = in;
  if (r.memory) {
    if (r.memory->limit == 0) r.memory->limit.reset();
    if (r.memory->reservation == 0) r.memory->reservation.reset();
  }
  if (r.cpu) {
    if (r.cpu->shares == 0u) r.cpu->shares.reset();
    if (r.cpu->quota == 0) r.cpu->quota.reset();
    if (r.cpu->period == 0u) r.cpu->period.reset();
    if (r.cpu->realtime_runtime == 0) r.cpu->realtime_runtime.reset();
    if (r.cpu->realtime_period == 0u) r.cpu->realtime_period.reset();
  }
  Writer w(*this, update, files);
  if (r.cpu) TRY(w.cpuset(*r.cpu));
  if (!update || !r.devices.empty()) TRY(w.devices(r.devices));
  if (r.memory) TRY(w.memory(*r.memory));
  if (r.cpu) TRY(w.cpu(*r.cpu));
  if (r.pids_limit) TRY(w.pids(*r.pids_limit));
  if (r.block_io) TRY(w.block_io(*r.block_io));
  TRY(w.hugetlb(r.hugepage_limits));
  if (r.network) TRY(w.network(*r.network));
  if (!r.unified.empty()) TRY(w.unified(r.unified));
  return ok();
}

Result<void> io_weight_support() {
  auto layout = TRY(detect());
  std::string v1_mount;
  for (auto& [mp, ctrls] : layout.v1)
    if (std::find(ctrls.begin(), ctrls.end(), "blkio") != ctrls.end()) v1_mount = mp;
  if (!v1_mount.empty()) {
    // Every v1 cgroup below the root has the same files: any one will do.
    std::error_code ec;
    std::string child;
    for (auto& e : std::filesystem::directory_iterator(v1_mount, ec))
      if (e.is_directory(ec)) {
        child = e.path().string();
        break;
      }
    std::string probe;
    if (child.empty()) {
      probe = fmt::format("{}/berth-io-probe-{}", v1_mount, ::getpid());
      if (::mkdir(probe.c_str(), 0755) < 0) return errno_error("make a probe cgroup {}", probe);
      child = probe;
    }
    bool weighs = path_exists(child + "/blkio.bfq.weight") || path_exists(child + "/blkio.weight");
    if (!probe.empty()) ::rmdir(probe.c_str());
    if (!weighs) return make_error("this host cannot apply block I/O weights ({})", kNoV1Weight);
    return ok();
  }
  auto& ctl = layout.unified_controllers;
  if (layout.unified.empty() || std::find(ctl.begin(), ctl.end(), "io") == ctl.end())
    return make_error(
        "this host cannot apply block I/O weights (no blkio or io cgroup controller)");
  if (path_exists(layout.unified + "/io.cost.qos")) return ok();  // iocost: io.weight
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator("/sys/block", ec)) {
    auto sched = read_file(e.path().string() + "/queue/scheduler");
    if (sched && sched->find("bfq") != std::string::npos) return ok();  // io.bfq.weight
  }
  return make_error(
      "this host cannot apply block I/O weights (the io controller has no io.weight (iocost) and "
      "no disk can use "
      "the BFQ scheduler for io.bfq.weight)");
}

}  // namespace berth::cgroup
