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

// Writes value to dir/file; a failure names the OCI field and the file.
Result<void> put(const std::string& dir, const std::string& file, const std::string& value,
                 const std::string& field) {
  auto r = write_existing(dir + "/" + file, value);
  if (r) return ok();
  int e = r.error().code;
  return Error{e, fmt::format("{}: write {}: {}", field, file, std::strerror(e))};
}

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

}  // namespace

Result<void> Cgroup::apply(const oci::Resources& in, bool update) {
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
  // Enables a controller the v2 tree serves (lazily: in hybrid mode this is
  // the only time berth changes v2 subtree_control).
  auto need_v2 = [this](const std::string& c) -> Result<void> {
    if (v2_.empty() ||
        std::find(v2_controllers_.begin(), v2_controllers_.end(), c) == v2_controllers_.end())
      return ok();
    auto have = internal::read_value(v2_ + "/cgroup.controllers");
    if (have && (" " + *have + " ").find(" " + c + " ") != std::string::npos) return ok();
    return internal::enable_v2_controllers(v2_mount_, v2_, {c}, false);
  };

  // cpuset first: on v1 nothing can join a cpuset cgroup without cpus and mems.
  if (r.cpu && (!r.cpu->cpus.empty() || !r.cpu->mems.empty())) {
    std::string d = dir_for("cpuset");
    if (d.empty())
      return no_controller(field(r.cpu->cpus.empty() ? "cpu.mems" : "cpu.cpus"), "cpuset");
    TRY_CTX(need_v2("cpuset"), "{}", field("cpu.cpus"));
    if (!r.cpu->cpus.empty()) TRY(put(d, "cpuset.cpus", r.cpu->cpus, field("cpu.cpus")));
    if (!r.cpu->mems.empty()) TRY(put(d, "cpuset.mems", r.cpu->mems, field("cpu.mems")));
  }

  // Devices: everything denied, then the spec's rules in order, then the
  // defaults every runtime allows.
  if (!update || !r.devices.empty()) {
    for (size_t i = 0; i < r.devices.size(); ++i) {
      auto& d = r.devices[i];
      if (!(d.type.empty() || d.type == "a" || d.type == "c" || d.type == "b"))
        return make_error("{}[{}].type: {:?} is not a, c or b", field("devices"), i, d.type);
      if (d.access.find_first_not_of("rwm") != std::string::npos)
        return make_error("{}[{}].access: {:?} is not a combination of r, w and m",
                          field("devices"), i, d.access);
    }
    auto rules = r.devices;
    auto defaults = internal::default_device_rules();
    rules.insert(rules.end(), defaults.begin(), defaults.end());
    if (auto it = v1_.find("devices"); it != v1_.end()) {
      auto writes = internal::v1_device_writes(rules);
      for (size_t i = 0; i < writes.size(); ++i) {
        // writes[0] is the initial deny-all; writes[i] is rules[i - 1].
        std::string f =
            i == 0 || i <= r.devices.size()
                ? (i == 0 ? field("devices") : fmt::format("{}[{}]", field("devices"), i - 1))
                : fmt::format("{} (default rule {})", field("devices"), writes[i].second);
        TRY(put(it->second, writes[i].first, writes[i].second, f));
      }
    } else if (!v2_.empty()) {
      TRY_CTX(internal::install_device_filter(v2_, internal::device_program(rules)), "{}",
              field("devices"));
    } else if (!r.devices.empty()) {
      return no_controller(field("devices"), "devices");
    }
  }

  if (r.memory) {
    const auto& m = *r.memory;
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
    std::string d = dir_for("memory");
    if (first && d.empty()) return no_controller(field(first), "memory");
    bool v2 = !d.empty() && d == v2_ && !v1_.count("memory");
    if (first && v2) TRY_CTX(need_v2("memory"), "{}", field(first));

    if (first && update && m.check_before_update.value_or(false) && m.limit && *m.limit > 0) {
      auto usage =
          TRY_CTX(internal::read_value(d + (v2 ? "/memory.current" : "/memory.usage_in_bytes")),
                  "{}", field("memory.checkBeforeUpdate"));
      if (to_u64(usage) > static_cast<uint64_t>(*m.limit))
        return make_error("{}: {} is below the current usage {} (checkBeforeUpdate)",
                          field("memory.limit"), *m.limit, usage);
    }

    if (first && !v2) {
      // Plain values rather than optionals: g++ 12 misreads optionals here.
      const bool has_limit = m.limit.has_value();
      const int64_t limit = m.limit.value_or(0);
      bool has_swap = m.swap.has_value() && *m.swap != 0;  // 0 is "unset" to runc and crun
      int64_t swap = m.swap.value_or(0);
      const bool have_memsw = path_exists(d + "/memory.memsw.limit_in_bytes");
      // Unlimited memory with swap left out means unlimited swap too.
      if (has_limit && limit == -1 && !has_swap && have_memsw) {
        has_swap = true;
        swap = -1;
      }
      if (has_swap && !have_memsw) {
        if (swap != -1)
          return make_error(
              "{}: swap accounting is off on this host (no memory.memsw.limit_in_bytes)",
              field("memory.swap"));
        has_swap = false;
      }
      // memsw may never be below the memory limit, so the order of the two
      // writes depends on whether the limits grow or shrink.
      bool swap_first = false;
      if (has_limit && has_swap) {
        auto cur = internal::read_value(d + "/memory.limit_in_bytes");
        swap_first = swap == -1 || (cur && to_u64(*cur) < static_cast<uint64_t>(swap));
      }
      if (has_swap && swap_first)
        TRY(put(d, "memory.memsw.limit_in_bytes", v1_num(swap), field("memory.swap")));
      if (has_limit) TRY(put(d, "memory.limit_in_bytes", v1_num(limit), field("memory.limit")));
      if (has_swap && !swap_first)
        TRY(put(d, "memory.memsw.limit_in_bytes", v1_num(swap), field("memory.swap")));
      if (m.reservation)
        TRY(put(d, "memory.soft_limit_in_bytes", v1_num(*m.reservation),
                field("memory.reservation")));
      if (m.swappiness) {
        if (*m.swappiness > 100)
          return make_error("{}: {} is outside 0-100", field("memory.swappiness"), *m.swappiness);
        TRY(put(d, "memory.swappiness", std::to_string(*m.swappiness), field("memory.swappiness")));
      }
      if (m.disable_oom_killer)
        TRY(put(d, "memory.oom_control", *m.disable_oom_killer ? "1" : "0",
                field("memory.disableOOMKiller")));
      if (m.use_hierarchy)
        TRY(put(d, "memory.use_hierarchy", *m.use_hierarchy ? "1" : "0",
                field("memory.useHierarchy")));
    } else if (first) {
      if (m.swap && *m.swap != 0) {
        int64_t limit = 0;
        if (m.limit) {
          limit = *m.limit;
        } else if (update) {
          auto cur = TRY_CTX(internal::read_value(d + "/memory.max"), "{}", field("memory.swap"));
          limit = cur == "max" ? -1 : std::strtoll(cur.c_str(), nullptr, 10);
        }
        auto v = internal::v2_swap_max(*m.swap, limit);
        if (!v) return std::move(v).error().wrap(field("memory.swap"));
        if (!path_exists(d + "/memory.swap.max") && *v != "max")
          return make_error("{}: swap accounting is off on this host (no memory.swap.max)",
                            field("memory.swap"));
        if (path_exists(d + "/memory.swap.max"))
          TRY(put(d, "memory.swap.max", *v, field("memory.swap")));
      } else if (m.limit && *m.limit == -1 && path_exists(d + "/memory.swap.max")) {
        TRY(put(d, "memory.swap.max", "max", field("memory.swap")));
      }
      if (m.limit) TRY(put(d, "memory.max", v2_num(*m.limit), field("memory.limit")));
      if (m.reservation)
        TRY(put(d, "memory.low", v2_num(*m.reservation), field("memory.reservation")));
      if (m.swappiness)
        log::warn("{}: ignored (cgroup v2 has no per-cgroup swappiness)",
                  field("memory.swappiness"));
      if (m.disable_oom_killer.value_or(false))
        log::warn("{}: ignored (cgroup v2 cannot disable the OOM killer)",
                  field("memory.disableOOMKiller"));
      if (m.use_hierarchy && !*m.use_hierarchy)
        log::warn("{}: ignored (cgroup v2 is always hierarchical)", field("memory.useHierarchy"));
    }
  }

  if (r.cpu) {
    const auto& c = *r.cpu;
    const char* first = c.shares             ? "cpu.shares"
                        : c.quota            ? "cpu.quota"
                        : c.period           ? "cpu.period"
                        : c.burst            ? "cpu.burst"
                        : c.realtime_runtime ? "cpu.realtimeRuntime"
                        : c.realtime_period  ? "cpu.realtimePeriod"
                        : c.idle             ? "cpu.idle"
                                             : nullptr;
    std::string d = dir_for("cpu");
    if (first && d.empty()) return no_controller(field(first), "cpu");
    bool v2 = !d.empty() && d == v2_ && !v1_.count("cpu");
    if (first && v2) TRY_CTX(need_v2("cpu"), "{}", field(first));
    if (first && !v2) {
      if (c.shares) {
        TRY(put(d, "cpu.shares", std::to_string(*c.shares), field("cpu.shares")));
        // The kernel clamps out-of-range shares silently.
        auto got = internal::read_value(d + "/cpu.shares");
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
    } else if (first) {
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
          auto cur = TRY_CTX(internal::read_value(d + "/cpu.max"), "{}", field("cpu.period"));
          q = cur.substr(0, cur.find(' '));
        }
        if (c.period) q += " " + std::to_string(*c.period);
        TRY(put(d, "cpu.max", q, field(c.quota ? "cpu.quota" : "cpu.period")));
      }
      if (c.burst) TRY(put(d, "cpu.max.burst", std::to_string(*c.burst), field("cpu.burst")));
    }
  }

  if (r.pids_limit) {
    std::string d = dir_for("pids");
    if (d.empty()) return no_controller(field("pids.limit"), "pids");
    if (d == v2_ && !v1_.count("pids")) TRY_CTX(need_v2("pids"), "{}", field("pids.limit"));
    TRY(put(d, "pids.max", internal::pids_max(*r.pids_limit), field("pids.limit")));
  }

  if (r.block_io) {
    const auto& b = *r.block_io;
    bool any = b.weight || b.leaf_weight || !b.weight_device.empty() ||
               !b.throttle_read_bps_device.empty() || !b.throttle_write_bps_device.empty() ||
               !b.throttle_read_iops_device.empty() || !b.throttle_write_iops_device.empty();
    std::string d = dir_for("blkio");
    if (any && d.empty()) return no_controller(field("blockIO"), "blkio/io");
    bool v2 = !d.empty() && d == v2_ && !v1_.count("blkio");
    if (any && v2) TRY_CTX(need_v2("io"), "{}", field("blockIO"));
    struct Throttle {
      const std::vector<oci::ThrottleDevice>& list;
      const char* name;
      const char* v1file;
      const char* v2key;
    };
    const Throttle throttles[] = {
        {b.throttle_read_bps_device, "throttleReadBpsDevice", "blkio.throttle.read_bps_device",
         "rbps"},
        {b.throttle_write_bps_device, "throttleWriteBpsDevice", "blkio.throttle.write_bps_device",
         "wbps"},
        {b.throttle_read_iops_device, "throttleReadIOPSDevice", "blkio.throttle.read_iops_device",
         "riops"},
        {b.throttle_write_iops_device, "throttleWriteIOPSDevice",
         "blkio.throttle.write_iops_device", "wiops"},
    };
    if (any && !v2) {
      // BFQ's files where the kernel has them (CFQ is gone since 5.0).
      bool bfq = path_exists(d + "/blkio.bfq.weight");
      bool weighs = bfq || path_exists(d + "/blkio.weight");
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
        TRY(put(d, "blkio.leaf_weight", std::to_string(*b.leaf_weight),
                field("blockIO.leafWeight")));
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
      for (auto& t : throttles)
        for (size_t i = 0; i < t.list.size(); ++i)
          TRY(put(d, t.v1file,
                  dev(t.list[i].major, t.list[i].minor) + " " + std::to_string(t.list[i].rate),
                  fmt::format("{}[{}]", field(std::string("blockIO.") + t.name), i)));
    } else if (any) {
      bool bfq = path_exists(d + "/io.bfq.weight");
      bool wants_weight = b.weight || std::any_of(b.weight_device.begin(), b.weight_device.end(),
                                                  [](auto& w) { return w.weight.has_value(); });
      if (wants_weight && !bfq && !path_exists(d + "/io.weight"))
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
          if (bfq)
            TRY(put(d, "io.bfq.weight", dev(w.major, w.minor) + " " + std::to_string(*w.weight),
                    f + ".weight"));
          else
            TRY(put(
                d, "io.weight",
                dev(w.major, w.minor) + " " + std::to_string(blkio_weight_to_io_weight(*w.weight)),
                f + ".weight"));
        }
        if (w.leaf_weight) log::warn("{}.leafWeight: ignored (cgroup v2 has no leaf weights)", f);
      }
      for (auto& t : throttles)
        for (size_t i = 0; i < t.list.size(); ++i) {
          auto& x = t.list[i];
          TRY(put(d, "io.max",
                  fmt::format("{} {}={}", dev(x.major, x.minor), t.v2key,
                              x.rate == 0 ? std::string("max") : std::to_string(x.rate)),
                  fmt::format("{}[{}]", field(std::string("blockIO.") + t.name), i)));
        }
    }
  }

  for (size_t i = 0; i < r.hugepage_limits.size(); ++i) {
    auto& h = r.hugepage_limits[i];
    std::string f = fmt::format("{}[{}]", field("hugepageLimits"), i);
    if (h.page_size.empty() || h.page_size.find_first_not_of("0123456789KMGB") != std::string::npos)
      return make_error("{}.pageSize: {:?} is not a size like 2MB", f, h.page_size);
    std::string d = dir_for("hugetlb");
    if (d.empty()) return no_controller(f, "hugetlb");
    bool v2 = d == v2_ && !v1_.count("hugetlb");
    if (v2) TRY_CTX(need_v2("hugetlb"), "{}", f);
    std::string base = "hugetlb." + h.page_size;
    std::string lim = std::to_string(h.limit);
    if (!v2) {
      TRY(put(d, base + ".limit_in_bytes", lim, f + ".limit"));
      if (path_exists(d + "/" + base + ".rsvd.limit_in_bytes"))
        TRY(put(d, base + ".rsvd.limit_in_bytes", lim, f + ".limit"));
    } else {
      TRY(put(d, base + ".max", lim, f + ".limit"));
      if (path_exists(d + "/" + base + ".rsvd.max"))
        TRY(put(d, base + ".rsvd.max", lim, f + ".limit"));
    }
  }

  if (r.network) {
    if (r.network->class_id) {
      auto it = v1_.find("net_cls");
      if (it == v1_.end())
        return make_error("{}: no net_cls controller on this host (cgroup v1 only)",
                          field("network.classID"));
      TRY(put(it->second, "net_cls.classid", std::to_string(*r.network->class_id),
              field("network.classID")));
    }
    if (!r.network->priorities.empty()) {
      auto it = v1_.find("net_prio");
      if (it == v1_.end())
        return make_error("{}: no net_prio controller on this host (cgroup v1 only)",
                          field("network.priorities"));
      for (size_t i = 0; i < r.network->priorities.size(); ++i) {
        auto& p = r.network->priorities[i];
        TRY(put(it->second, "net_prio.ifpriomap", p.name + " " + std::to_string(p.priority),
                fmt::format("{}[{}]", field("network.priorities"), i)));
      }
    }
  }

  if (!r.unified.empty()) {
    if (v2_.empty())
      return make_error("{}: cgroup v2 is not mounted on this host", field("unified"));
    for (auto& [k, v] : r.unified) {
      std::string f = field("unified") + "." + k;
      if (k.empty() || k.find('/') != std::string::npos || k[0] == '.')
        return make_error("{}: not a cgroup file name", f);
      std::string ctrl = k.substr(0, k.find('.'));
      if (ctrl != "cgroup") TRY_CTX(need_v2(ctrl), "{}", f);
      if (!path_exists(v2_ + "/" + k))
        return make_error("{}: no such file in the v2 cgroup (is the {} controller there?)", f,
                          ctrl);
      TRY(put(v2_, k, v, f));
    }
  }
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
