#include <algorithm>
#include <cctype>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include "base/files.h"
#include "base/mountinfo.h"
#include "base/table.h"
#include "cgroup/cgroup.h"
#include "cgroup/cgroup_internal.h"

namespace berth::cgroup {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

constexpr std::string_view kV1Controllers[] = {
    "cpu",   "cpuacct",    "cpuset",  "memory", "devices", "freezer", "net_cls", "net_prio",
    "blkio", "perf_event", "hugetlb", "pids",   "rdma",    "misc",    "debug"};

// No double, trailing or "." components; always absolute.
std::string clean_path(const std::string& p) {
  std::string out;
  for (auto& part : split(p, '/')) {
    if (part.empty() || part == ".") continue;
    out += "/" + part;
  }
  return out.empty() ? "/" : out;
}

}  // namespace

Layout parse_layout(const std::string& mountinfo, const std::string& unified_controllers) {
  Layout l;
  std::set<std::string> seen_devices;  // a hierarchy mounted twice has one st_dev
  std::istringstream in(mountinfo);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::vector<std::string> f;
    std::string w;
    while (ls >> w) f.push_back(w);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 6 || dash == f.end() || f.end() - dash < 4) continue;
    const std::string& fstype = *(dash + 1);
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    if (!seen_devices.insert(f[2]).second) continue;
    std::string root = unescape_mountinfo(f[3]);
    std::string mount = unescape_mountinfo(f[4]);
    if (fstype == "cgroup2") {
      if (!l.unified.empty()) continue;
      l.unified = mount;
      l.roots[mount] = root;
      continue;
    }
    std::vector<std::string> ctrls;
    for (auto& opt : split(*(dash + 3), ','))
      if (contains(kV1Controllers, opt) || opt.rfind("name=", 0) == 0) ctrls.push_back(opt);
    if (ctrls.empty()) continue;
    l.v1[mount] = ctrls;
    l.roots[mount] = root;
  }
  if (!l.unified.empty()) {
    std::istringstream cs(unified_controllers);
    std::string c;
    while (cs >> c) l.unified_controllers.push_back(c);
  }
  if (l.v1.empty())
    l.mode = Mode::Unified;
  else
    l.mode = l.unified.empty() ? Mode::Legacy : Mode::Hybrid;
  return l;
}

Result<Layout> detect() {
  static std::mutex mu;
  static std::optional<Layout> cached;
  std::lock_guard lock(mu);
  if (cached) return *cached;
  auto mi = TRY_CTX(read_file("/proc/self/mountinfo"), "detect cgroup layout");
  Layout l = parse_layout(mi, "");
  if (!l.unified.empty()) {
    auto c = read_file(l.unified + "/cgroup.controllers");
    if (c) l = parse_layout(mi, *c);
  }
  if (l.v1.empty() && l.unified.empty()) return make_error("no cgroup filesystem is mounted");
  cached = l;
  return l;
}

namespace internal {

std::map<std::string, std::string> parse_proc_cgroup(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find(':');
    if (a == std::string::npos) continue;
    auto b = line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1);
    out[hierarchy_key(split(ctrls, ','))] = line.substr(b + 1);
  }
  return out;
}

std::string hierarchy_key(std::vector<std::string> controllers) {
  controllers.erase(std::remove(controllers.begin(), controllers.end(), ""), controllers.end());
  std::sort(controllers.begin(), controllers.end());
  std::string k;
  for (auto& c : controllers) k += (k.empty() ? "" : ",") + c;
  return k;
}

Result<std::map<std::string, std::string>> resolve(const Layout& layout,
                                                   const std::string& cgroups_path,
                                                   const std::string& id,
                                                   const std::string& proc_self_cgroup) {
  std::string p = cgroups_path;
  if (p.empty()) {
    if (id.empty() || id.find('/') != std::string::npos || id == "." || id == "..")
      return make_error("invalid container id {:?} for a cgroup name", id);
    p = "/berth/" + id;
  }
  // No systemd driver here: such a unit goes where systemd would put it.
  if (is_systemd_cgroups_path(p)) p = TRY(systemd_cgroups_path_to_cgroupfs(p));
  for (auto& part : split(p, '/'))
    if (part == "..") return make_error("cgroupsPath {:?}: must not contain \"..\"", cgroups_path);
  std::map<std::string, std::string> out;
  std::vector<std::pair<std::string, std::string>> mounts;  // mount -> key in /proc/self/cgroup
  for (auto& [m, ctrls] : layout.v1) mounts.emplace_back(m, hierarchy_key(ctrls));
  if (!layout.unified.empty()) mounts.emplace_back(layout.unified, "");
  if (p[0] == '/') {
    for (auto& [m, key] : mounts) out[m] = clean_path(p);
    return out;
  }
  auto own = parse_proc_cgroup(proc_self_cgroup);
  for (auto& [m, key] : mounts) {
    std::string base = "/";
    if (auto it = own.find(key); it != own.end()) base = it->second;
    // Inside a container the mount's root is a cgroup below the real root,
    // and /proc/self/cgroup paths start with it.
    auto r = layout.roots.find(m);
    if (r != layout.roots.end() && r->second != "/" && base.rfind(r->second, 0) == 0)
      base = base.substr(r->second.size());
    out[m] = clean_path(base + "/" + p);
  }
  return out;
}

}  // namespace internal
}  // namespace berth::cgroup
