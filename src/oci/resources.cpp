// linux.resources: parsed field by field (errors name the JSON path) and
// written back.
#include <nlohmann/json.hpp>

#include "oci/spec.h"
#include "oci/spec_json.h"

namespace berth::oci {

using nlohmann::json;
using namespace internal;

namespace {

std::optional<int64_t> opt_dev_number(const json& v, const char* key, const std::string& p) {
  if (auto* x = field(v, key)) return i64(*x, join(p, key));
  return std::nullopt;
}

DeviceRule device_rule(const json& x, const std::string& q) {
  object(x, q);
  DeviceRule dr;
  if (!field(x, "allow")) throw Bad{join(q, "allow"), "is required"};
  opt(x, "allow", q, dr.allow, boolean);
  opt(x, "type", q, dr.type, str);
  dr.major = opt_dev_number(x, "major", q);
  dr.minor = opt_dev_number(x, "minor", q);
  opt(x, "access", q, dr.access, str);
  return dr;
}

Memory memory_section(const json& m, const std::string& q) {
  object(m, q);
  Memory mem;
  opt(m, "limit", q, mem.limit, i64);
  opt(m, "reservation", q, mem.reservation, i64);
  opt(m, "swap", q, mem.swap, i64);
  opt(m, "kernel", q, mem.kernel, i64);
  opt(m, "kernelTCP", q, mem.kernel_tcp, i64);
  opt(m, "swappiness", q, mem.swappiness, u64);
  opt(m, "disableOOMKiller", q, mem.disable_oom_killer, boolean);
  opt(m, "useHierarchy", q, mem.use_hierarchy, boolean);
  opt(m, "checkBeforeUpdate", q, mem.check_before_update, boolean);
  return mem;
}

Cpu cpu_section(const json& c, const std::string& q) {
  object(c, q);
  Cpu cpu;
  opt(c, "shares", q, cpu.shares, u64);
  opt(c, "quota", q, cpu.quota, i64);
  opt(c, "burst", q, cpu.burst, u64);
  opt(c, "period", q, cpu.period, u64);
  opt(c, "realtimeRuntime", q, cpu.realtime_runtime, i64);
  opt(c, "realtimePeriod", q, cpu.realtime_period, u64);
  opt(c, "cpus", q, cpu.cpus, str);
  opt(c, "mems", q, cpu.mems, str);
  opt(c, "idle", q, cpu.idle, i64);
  return cpu;
}

uint16_t u16(const json& x, const std::string& path) {
  uint64_t n = u64(x, path);
  if (n > 65535) throw Bad{path, "is out of range"};
  return static_cast<uint16_t>(n);
}

WeightDevice weight_device(const json& x, const std::string& s) {
  object(x, s);
  WeightDevice w;
  opt(x, "major", s, w.major, i64);
  opt(x, "minor", s, w.minor, i64);
  opt(x, "weight", s, w.weight, u16);
  opt(x, "leafWeight", s, w.leaf_weight, u16);
  return w;
}

ThrottleDevice throttle_device(const json& x, const std::string& s) {
  object(x, s);
  ThrottleDevice t;
  opt(x, "major", s, t.major, i64);
  opt(x, "minor", s, t.minor, i64);
  opt(x, "rate", s, t.rate, u64);
  return t;
}

BlockIO block_io_section(const json& b, const std::string& q) {
  object(b, q);
  BlockIO bio;
  opt(b, "weight", q, bio.weight, u16);
  opt(b, "leafWeight", q, bio.leaf_weight, u16);
  if (auto* wd = field(b, "weightDevice"))
    bio.weight_device = array<WeightDevice>(*wd, join(q, "weightDevice"), weight_device);
  if (auto* t = field(b, "throttleReadBpsDevice"))
    bio.throttle_read_bps_device =
        array<ThrottleDevice>(*t, join(q, "throttleReadBpsDevice"), throttle_device);
  if (auto* t = field(b, "throttleWriteBpsDevice"))
    bio.throttle_write_bps_device =
        array<ThrottleDevice>(*t, join(q, "throttleWriteBpsDevice"), throttle_device);
  if (auto* t = field(b, "throttleReadIOPSDevice"))
    bio.throttle_read_iops_device =
        array<ThrottleDevice>(*t, join(q, "throttleReadIOPSDevice"), throttle_device);
  if (auto* t = field(b, "throttleWriteIOPSDevice"))
    bio.throttle_write_iops_device =
        array<ThrottleDevice>(*t, join(q, "throttleWriteIOPSDevice"), throttle_device);
  return bio;
}

HugepageLimit hugepage_limit(const json& x, const std::string& s) {
  object(x, s);
  HugepageLimit l;
  opt(x, "pageSize", s, l.page_size, str);
  opt(x, "limit", s, l.limit, u64);
  return l;
}

NetworkPriority network_priority(const json& x, const std::string& s) {
  object(x, s);
  NetworkPriority np;
  opt(x, "name", s, np.name, str);
  opt(x, "priority", s, np.priority, u32);
  return np;
}

Network network_section(const json& n, const std::string& q) {
  object(n, q);
  Network net;
  opt(n, "classID", q, net.class_id, u32);
  if (auto* pr = field(n, "priorities"))
    net.priorities = array<NetworkPriority>(*pr, join(q, "priorities"), network_priority);
  return net;
}
}  // namespace

Resources internal::resources(const json& v, const std::string& p) {
  object(v, p);
  Resources r;
  if (auto* d = field(v, "devices"))
    r.devices = array<DeviceRule>(*d, join(p, "devices"), device_rule);
  if (auto* m = field(v, "memory")) r.memory = memory_section(*m, join(p, "memory"));
  if (auto* c = field(v, "cpu")) r.cpu = cpu_section(*c, join(p, "cpu"));
  if (auto* pids = field(v, "pids")) {
    object(*pids, join(p, "pids"));
    if (auto* l = field(*pids, "limit")) r.pids_limit = i64(*l, join(p, "pids.limit"));
  }
  if (auto* b = field(v, "blockIO")) r.block_io = block_io_section(*b, join(p, "blockIO"));
  if (auto* h = field(v, "hugepageLimits"))
    r.hugepage_limits = array<HugepageLimit>(*h, join(p, "hugepageLimits"), hugepage_limit);
  if (auto* n = field(v, "network")) r.network = network_section(*n, join(p, "network"));
  opt(v, "unified", p, r.unified, string_map);
  return r;
}

json to_json(const Resources& r) {
  json j = json::object();
  if (!r.devices.empty()) {
    json a = json::array();
    for (auto& d : r.devices) {
      json x = {{"allow", d.allow}};
      put_str(x, "type", d.type);
      put(x, "major", d.major);
      put(x, "minor", d.minor);
      put_str(x, "access", d.access);
      a.push_back(x);
    }
    j["devices"] = a;
  }
  if (r.memory) {
    json m = json::object();
    put(m, "limit", r.memory->limit);
    put(m, "reservation", r.memory->reservation);
    put(m, "swap", r.memory->swap);
    put(m, "kernel", r.memory->kernel);
    put(m, "kernelTCP", r.memory->kernel_tcp);
    put(m, "swappiness", r.memory->swappiness);
    put(m, "disableOOMKiller", r.memory->disable_oom_killer);
    put(m, "useHierarchy", r.memory->use_hierarchy);
    put(m, "checkBeforeUpdate", r.memory->check_before_update);
    j["memory"] = m;
  }
  if (r.cpu) {
    json c = json::object();
    put(c, "shares", r.cpu->shares);
    put(c, "quota", r.cpu->quota);
    put(c, "burst", r.cpu->burst);
    put(c, "period", r.cpu->period);
    put(c, "realtimeRuntime", r.cpu->realtime_runtime);
    put(c, "realtimePeriod", r.cpu->realtime_period);
    put_str(c, "cpus", r.cpu->cpus);
    put_str(c, "mems", r.cpu->mems);
    put(c, "idle", r.cpu->idle);
    j["cpu"] = c;
  }
  if (r.pids_limit) j["pids"] = {{"limit", *r.pids_limit}};
  if (r.block_io) {
    json b = json::object();
    put(b, "weight", r.block_io->weight);
    put(b, "leafWeight", r.block_io->leaf_weight);
    if (!r.block_io->weight_device.empty()) {
      json a = json::array();
      for (auto& w : r.block_io->weight_device) {
        json x = {{"major", w.major}, {"minor", w.minor}};
        put(x, "weight", w.weight);
        put(x, "leafWeight", w.leaf_weight);
        a.push_back(x);
      }
      b["weightDevice"] = a;
    }
    auto th = [&](const char* k, const std::vector<ThrottleDevice>& v) {
      if (v.empty()) return;
      json a = json::array();
      for (auto& t : v) a.push_back({{"major", t.major}, {"minor", t.minor}, {"rate", t.rate}});
      b[k] = a;
    };
    th("throttleReadBpsDevice", r.block_io->throttle_read_bps_device);
    th("throttleWriteBpsDevice", r.block_io->throttle_write_bps_device);
    th("throttleReadIOPSDevice", r.block_io->throttle_read_iops_device);
    th("throttleWriteIOPSDevice", r.block_io->throttle_write_iops_device);
    j["blockIO"] = b;
  }
  if (!r.hugepage_limits.empty()) {
    json a = json::array();
    for (auto& h : r.hugepage_limits) a.push_back({{"pageSize", h.page_size}, {"limit", h.limit}});
    j["hugepageLimits"] = a;
  }
  if (r.network) {
    json n = json::object();
    put(n, "classID", r.network->class_id);
    if (!r.network->priorities.empty()) {
      json a = json::array();
      for (auto& p : r.network->priorities)
        a.push_back({{"name", p.name}, {"priority", p.priority}});
      n["priorities"] = a;
    }
    j["network"] = n;
  }
  if (!r.unified.empty()) j["unified"] = r.unified;
  return j;
}

Result<Resources> parse_resources(const json& j, const std::string& where) {
  return guarded([&] { return resources(j, where); });
}

}  // namespace berth::oci
