// Usage counters in the shape of `runc events --stats` (types/events.go).
#include <dirent.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <sstream>

#include "base/files.h"
#include "cgroup/cgroup.h"
#include "cgroup/cgroup_internal.h"

namespace berth::cgroup {
namespace {

using nlohmann::json;

std::optional<uint64_t> num(const std::string& path) {
  auto v = internal::read_value(path);
  if (!v) return std::nullopt;
  if (*v == "max") return UINT64_MAX;
  char* end = nullptr;
  unsigned long long n = std::strtoull(v->c_str(), &end, 10);
  if (end == v->c_str()) return std::nullopt;
  return n;
}

uint64_t num0(const std::string& path) {
  return num(path).value_or(0);
}

std::map<std::string, uint64_t> keyed(const std::string& path) {
  auto t = read_file(path);
  return t ? internal::parse_flat_keyed(*t) : std::map<std::string, uint64_t>{};
}

std::vector<uint64_t> list(const std::string& path) {
  std::vector<uint64_t> out;
  auto t = read_file(path);
  if (!t) return out;
  std::istringstream in(*t);
  for (uint64_t v; in >> v;) out.push_back(v);
  return out;
}

uint64_t sat_add(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

// v1 blkio lines: "8:0 Read 4096" (and a device-less "Total" line).
json blkio_v1(const std::string& path) {
  json out = json::array();
  auto t = read_file(path);
  if (!t) return out;
  std::istringstream in(*t);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string devno, op;
    uint64_t v = 0;
    if (!(ls >> devno >> op >> v)) continue;
    auto colon = devno.find(':');
    if (colon == std::string::npos) continue;
    out.push_back({{"major", std::strtoull(devno.c_str(), nullptr, 10)},
                   {"minor", std::strtoull(devno.c_str() + colon + 1, nullptr, 10)},
                   {"op", op},
                   {"value", v}});
  }
  return out;
}

// /sys/kernel/mm/hugepages/hugepages-2048kB -> "2MB", the cgroup file spelling.
std::vector<std::string> hugepage_sizes() {
  std::vector<std::string> out;
  DIR* d = ::opendir("/sys/kernel/mm/hugepages");
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    unsigned long kb = 0;
    if (std::sscanf(e->d_name, "hugepages-%lukB", &kb) != 1) continue;
    if (kb >= 1024 * 1024 && kb % (1024 * 1024) == 0)
      out.push_back(std::to_string(kb / (1024 * 1024)) + "GB");
    else if (kb >= 1024 && kb % 1024 == 0)
      out.push_back(std::to_string(kb / 1024) + "MB");
    else
      out.push_back(std::to_string(kb) + "KB");
  }
  ::closedir(d);
  return out;
}

// cpuacct (v1) or cpu.stat (v2) for the usage, the cpu controller's
// cpu.stat for the throttling.
json cpu_stats(const std::map<std::string, std::string>& v1, const std::string& v2) {
  json cpu = {{"usage", json::object()}, {"throttling", json::object()}};
  if (auto it = v1.find("cpuacct"); it != v1.end()) {
    const std::string& d = it->second;
    auto& u = cpu["usage"];
    u["total"] = num0(d + "/cpuacct.usage");
    u["percpu"] = list(d + "/cpuacct.usage_percpu");
    u["percpu_kernel"] = list(d + "/cpuacct.usage_percpu_sys");
    u["percpu_user"] = list(d + "/cpuacct.usage_percpu_user");
    // cpuacct.stat counts USER_HZ ticks.
    auto st = keyed(d + "/cpuacct.stat");
    uint64_t ns_per_tick = 1000000000ull / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
    u["kernel"] = st["system"] * ns_per_tick;
    u["user"] = st["user"] * ns_per_tick;
  } else if (!v2.empty()) {
    auto st = keyed(v2 + "/cpu.stat");
    cpu["usage"] = {{"total", st["usage_usec"] * 1000},
                    {"kernel", st["system_usec"] * 1000},
                    {"user", st["user_usec"] * 1000}};
  }
  if (auto it = v1.find("cpu"); it != v1.end()) {
    auto st = keyed(it->second + "/cpu.stat");
    cpu["throttling"] = {{"periods", st["nr_periods"]},
                         {"throttledPeriods", st["nr_throttled"]},
                         {"throttledTime", st["throttled_time"]}};
  } else if (!v2.empty()) {
    auto st = keyed(v2 + "/cpu.stat");
    cpu["throttling"] = {{"periods", st["nr_periods"]},
                         {"throttledPeriods", st["nr_throttled"]},
                         {"throttledTime", st["throttled_usec"] * 1000}};
  }
  return cpu;
}

json memory_stats_v1(const std::string& d) {
  json mem = json::object();
  auto entry = [&d](const std::string& prefix) {
    return json{{"usage", num0(d + "/" + prefix + "usage_in_bytes")},
                {"max", num0(d + "/" + prefix + "max_usage_in_bytes")},
                {"limit", num0(d + "/" + prefix + "limit_in_bytes")},
                {"failcnt", num0(d + "/" + prefix + "failcnt")}};
  };
  auto raw = keyed(d + "/memory.stat");
  mem["cache"] = raw["cache"];
  mem["usage"] = entry("memory.");
  if (path_exists(d + "/memory.memsw.usage_in_bytes")) mem["swap"] = entry("memory.memsw.");
  if (path_exists(d + "/memory.kmem.usage_in_bytes")) mem["kernel"] = entry("memory.kmem.");
  if (path_exists(d + "/memory.kmem.tcp.usage_in_bytes"))
    mem["kernelTCP"] = entry("memory.kmem.tcp.");
  mem["raw"] = raw;
  mem["oom_kill"] = keyed(d + "/memory.oom_control")["oom_kill"];
  return mem;
}

json memory_stats_v2(const std::string& v2) {
  json mem = json::object();
  auto raw = keyed(v2 + "/memory.stat");
  auto events = keyed(v2 + "/memory.events");
  uint64_t usage = num0(v2 + "/memory.current"),
           limit = num(v2 + "/memory.max").value_or(UINT64_MAX);
  mem["cache"] = raw["file"];
  mem["usage"] = {{"usage", usage},
                  {"max", num0(v2 + "/memory.peak")},
                  {"limit", limit},
                  {"failcnt", events["max"]}};
  // v1's memsw counts memory plus swap; runc reports v2 the same way.
  if (path_exists(v2 + "/memory.swap.current"))
    mem["swap"] = {{"usage", sat_add(usage, num0(v2 + "/memory.swap.current"))},
                   {"max", 0},
                   {"limit", sat_add(limit, num(v2 + "/memory.swap.max").value_or(UINT64_MAX))},
                   {"failcnt", keyed(v2 + "/memory.swap.events")["max"]}};
  mem["raw"] = raw;
  mem["oom_kill"] = events["oom_kill"];
  return mem;
}

json pids_stats(const std::string& d) {
  json pids = json::object();
  if (!d.empty()) {
    pids["current"] = num0(d + "/pids.current");
    uint64_t lim = num(d + "/pids.max").value_or(UINT64_MAX);
    pids["limit"] = lim == UINT64_MAX ? 0 : lim;  // runc: 0 is "no limit"
  }
  return pids;
}

json blkio_stats_v1(const std::string& d) {
  json blkio = json::object();
  // runc's order: BFQ, CFQ, then the throttle counters, whichever the
  // kernel has with data.
  for (const char* prefix : {"blkio.bfq.", "blkio.", "blkio.throttle."}) {
    auto bytes = blkio_v1(d + "/" + prefix + "io_service_bytes_recursive");
    if (bytes.empty()) continue;
    blkio["ioServiceBytesRecursive"] = bytes;
    blkio["ioServicedRecursive"] = blkio_v1(d + "/" + prefix + "io_serviced_recursive");
    break;
  }
  return blkio;
}

// v2 io.stat lines: "8:0 rbytes=4096 wbytes=0 rios=1 wios=0 ...".
json blkio_stats_v2(const std::string& v2) {
  json blkio = json::object();
  json bytes = json::array(), ios = json::array();
  auto t = read_file(v2 + "/io.stat");
  std::istringstream in(t ? *t : "");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string devno;
    ls >> devno;
    uint64_t major = std::strtoull(devno.c_str(), nullptr, 10);
    uint64_t minor = std::strtoull(devno.c_str() + devno.find(':') + 1, nullptr, 10);
    for (std::string kv; ls >> kv;) {
      auto eq = kv.find('=');
      if (eq == std::string::npos) continue;
      std::string k = kv.substr(0, eq);
      uint64_t v = std::strtoull(kv.c_str() + eq + 1, nullptr, 10);
      json e = {{"major", major}, {"minor", minor}, {"value", v}};
      if (k == "rbytes" || k == "wbytes") {
        e["op"] = k == "rbytes" ? "Read" : "Write";
        bytes.push_back(e);
      } else if (k == "rios" || k == "wios") {
        e["op"] = k == "rios" ? "Read" : "Write";
        ios.push_back(e);
      }
    }
  }
  blkio["ioServiceBytesRecursive"] = bytes;
  blkio["ioServicedRecursive"] = ios;
  return blkio;
}

json hugetlb_stats(const std::string& d, bool v1) {
  json huge = json::object();
  if (d.empty()) return huge;
  for (auto& size : hugepage_sizes()) {
    std::string b = d + "/hugetlb." + size;
    if (v1 && path_exists(b + ".usage_in_bytes"))
      huge[size] = {{"usage", num0(b + ".usage_in_bytes")},
                    {"max", num0(b + ".max_usage_in_bytes")},
                    {"failcnt", num0(b + ".failcnt")}};
    else if (!v1 && path_exists(b + ".current"))
      huge[size] = {{"usage", num0(b + ".current")}, {"failcnt", keyed(b + ".events")["max"]}};
  }
  return huge;
}

}  // namespace

Result<nlohmann::json> Cgroup::stats() const {
  bool exists = false;
  for (auto& [m, dir] : paths_) exists = exists || path_exists(dir);
  if (!exists) return make_error("stats: cgroup {} does not exist", relative_);

  json cpu = cpu_stats(v1_, v2_);

  json mem = json::object();
  if (auto it = v1_.find("memory"); it != v1_.end())
    mem = memory_stats_v1(it->second);
  else if (dir_for("memory") == v2_ && !v2_.empty())
    mem = memory_stats_v2(v2_);

  json pids = pids_stats(dir_for("pids"));

  json blkio = json::object();
  if (auto it = v1_.find("blkio"); it != v1_.end())
    blkio = blkio_stats_v1(it->second);
  else if (dir_for("io") == v2_ && !v2_.empty())
    blkio = blkio_stats_v2(v2_);

  json huge = hugetlb_stats(dir_for("hugetlb"), v1_.count("hugetlb") > 0);

  return json{{"cpu", cpu}, {"memory", mem}, {"pids", pids}, {"blkio", blkio}, {"hugetlb", huge}};
}

}  // namespace berth::cgroup
