#include "cgroup/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include "base/files.h"
#include "base/log.h"
#include "cgroup/cgroup_internal.h"

namespace berth::cgroup {

namespace internal {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\n");
  return s.substr(b, e - b + 1);
}

Result<std::string> read_value(const std::string& path) {
  auto r = TRY(read_file(path));
  return trim(r);
}

std::map<std::string, uint64_t> parse_flat_keyed(const std::string& text) {
  std::map<std::string, uint64_t> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string k, v;
    if (!(ls >> k >> v)) continue;
    if (v == "max") {
      out[k] = UINT64_MAX;
      continue;
    }
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (errno == 0 && end && *end == '\0') out[k] = n;
  }
  return out;
}

std::string v2_controller_name(const std::string& v1) {
  if (v1 == "cpuacct") return "cpu";
  if (v1 == "blkio") return "io";
  return v1;
}

Result<void> enable_v2_controllers(const std::string& mount, const std::string& dir,
                                   const std::vector<std::string>& ctrls, bool best_effort,
                                   Files& files) {
  if (ctrls.empty() || dir.size() <= mount.size()) return ok();
  // Ancestors from the mount point down to dir's parent.
  std::vector<std::string> chain{mount};
  std::string rest = dir.substr(mount.size());
  size_t pos = 0;
  while ((pos = rest.find('/', pos + 1)) != std::string::npos)
    chain.push_back(mount + rest.substr(0, pos));
  for (auto& a : chain) {
    auto cur = TRY(files.read(a + "/cgroup.subtree_control"));
    std::set<std::string> on;
    std::istringstream in(cur);
    for (std::string c; in >> c;) on.insert(c);
    std::string add;
    std::vector<std::string> missing;
    for (auto& c : ctrls)
      if (!on.count(c)) {
        add += (add.empty() ? "+" : " +") + c;
        missing.push_back(c);
      }
    if (add.empty()) continue;
    auto r = files.write(a + "/cgroup.subtree_control", add);
    if (r) continue;
    if (!best_effort) return std::move(r).error().wrap("enable controllers");
    for (auto& c : missing) (void)files.write(a + "/cgroup.subtree_control", "+" + c);
  }
  return ok();
}

Result<void> init_cpuset(const std::string& dir) {
  std::string parent = dir.substr(0, dir.find_last_of('/'));
  for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
    auto cur = TRY(read_value(dir + "/" + f));
    if (!cur.empty()) continue;
    auto pv = TRY(read_value(parent + "/" + f));
    TRY_CTX(write_existing(dir + "/" + f, pv), "copy {} from the parent cgroup", f);
  }
  return ok();
}

}  // namespace internal

namespace {

class RealFiles final : public Files {
 public:
  Result<void> write(const std::string& path, const std::string& value) override {
    return write_existing(path, value);
  }
  Result<std::string> read(const std::string& path) override { return internal::read_value(path); }
  bool exists(const std::string& path) override { return path_exists(path); }
};

constinit RealFiles g_real_files;

}  // namespace

Files& real_files() {
  return g_real_files;
}

using internal::read_value;

namespace {

std::vector<std::string> components(const std::string& rel) {
  std::vector<std::string> out;
  std::istringstream in(rel);
  for (std::string p; std::getline(in, p, '/');)
    if (!p.empty()) out.push_back(p);
  return out;
}

std::string join_dir(const std::string& mount, const std::string& rel) {
  return rel == "/" ? mount : mount + rel;
}

bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Reads every pid in dir/cgroup.procs and in those of the cgroups below it
// (a booted system's services, a nested runtime's containers); a missing
// directory has none.
Result<void> read_procs(const std::string& dir, std::set<pid_t>& out, int depth = 0) {
  auto t = read_file(dir + "/cgroup.procs");
  if (!t) {
    if (t.error().code == ENOENT) return ok();
    return std::move(t).error();
  }
  std::istringstream in(*t);
  for (long p; in >> p;) out.insert(static_cast<pid_t>(p));
  if (depth >= 32) return ok();
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_directory(ec) && !e.is_symlink(ec)) TRY(read_procs(e.path(), out, depth + 1));
  return ok();
}

using Clock = std::chrono::steady_clock;

}  // namespace

Cgroup Cgroup::open(const Layout& layout, const std::string& relative) {
  std::map<std::string, std::string> rel;
  for (auto& [m, c] : layout.v1) rel[m] = relative;
  if (!layout.unified.empty()) rel[layout.unified] = relative;
  Cgroup cg;
  std::set<std::string> v1_covered;  // v2 names of the controllers v1 has
  for (auto& [m, ctrls] : layout.v1) {
    std::string dir = join_dir(m, rel[m]);
    cg.paths_[m] = dir;
    for (auto& c : ctrls) {
      cg.v1_[c] = dir;
      v1_covered.insert(internal::v2_controller_name(c));
    }
  }
  if (!layout.unified.empty()) {
    cg.v2_mount_ = layout.unified;
    cg.v2_ = join_dir(layout.unified, rel[layout.unified]);
    cg.paths_[layout.unified] = cg.v2_;
    for (auto& c : layout.unified_controllers)
      if (!v1_covered.count(c)) cg.v2_controllers_.push_back(c);
  }
  cg.relative_ = relative;
  return cg;
}

Result<Cgroup> Cgroup::create(const std::string& cgroups_path, const std::string& id) {
  auto layout = TRY(detect());
  return create(layout, cgroups_path, id);
}

Result<Cgroup> Cgroup::create(const Layout& layout, const std::string& cgroups_path,
                              const std::string& id) {
  std::string own;
  if (!cgroups_path.empty() && cgroups_path[0] != '/')
    own = TRY_CTX(read_file("/proc/self/cgroup"), "find the caller's cgroup");
  auto rel = TRY(internal::resolve(layout, cgroups_path, id, own));
  Cgroup cg = open(layout, "/");
  // open() gave the hierarchy roots; place the cgroup at rel in each.
  for (auto& [m, dir] : cg.paths_) dir = join_dir(m, rel[m]);
  for (auto& [c, dir] : cg.v1_)
    for (auto& [m, ctrls] : layout.v1)
      if (has(ctrls, c)) dir = cg.paths_[m];
  if (!layout.unified.empty()) cg.v2_ = cg.paths_[layout.unified];
  if (!layout.unified.empty())
    cg.relative_ = rel[layout.unified];
  else if (auto s = std::find_if(layout.v1.begin(), layout.v1.end(),
                                 [](auto& e) { return has(e.second, "name=systemd"); });
           s != layout.v1.end())
    cg.relative_ = rel[s->first];
  else if (!rel.empty())
    cg.relative_ = rel.begin()->second;

  std::vector<std::string> made;
  auto undo = [&made] {
    for (auto it = made.rbegin(); it != made.rend(); ++it) ::rmdir(it->c_str());
  };
  for (auto& [m, dir] : cg.paths_) {
    bool cpuset = layout.v1.count(m) && has(layout.v1.at(m), "cpuset");
    std::string cur = m;
    auto parts = components(rel[m]);
    int retries = 3;
    for (size_t i = 0; i < parts.size(); ++i) {
      cur += "/" + parts[i];
      bool created = ::mkdir(cur.c_str(), 0755) == 0;
      if (!created && errno == ENOENT && i > 0 && retries-- > 0) {
        // A shared parent (e.g. the manager's /berth) was removed by the
        // last container leaving it between our two mkdirs: start over.
        cur = m;
        i = static_cast<size_t>(-1);
        continue;
      }
      if (!created && errno != EEXIST) {
        auto e = errno_error("mkdir {}", cur);
        undo();
        return e.wrap("create cgroup");
      }
      if (created) made.push_back(cur);
      // Every level, not only those we made: a parent another start has
      // just made (the manager's /berth) may not have its cpus and mems
      // yet, and a child copying them empty could take no task (ENOSPC).
      if (cpuset) {
        if (auto r = internal::init_cpuset(cur); !r) {
          undo();
          return std::move(r).error().wrap(fmt::format("create cgroup {}", cur));
        }
      }
    }
  }
  // On a pure v2 host the parents hand every controller down, as runc does,
  // so stats and later updates find their files. In hybrid mode the v2
  // controllers are enabled only when a resource needs them.
  if (layout.mode == Mode::Unified && !cg.v2_.empty())
    (void)internal::enable_v2_controllers(cg.v2_mount_, cg.v2_, cg.v2_controllers_, true);
  return cg;
}

nlohmann::json Cgroup::to_json() const {
  return {{"relative", relative_}, {"paths", paths_}, {"v1", v1_},
          {"v2_mount", v2_mount_}, {"v2", v2_},       {"v2_controllers", v2_controllers_}};
}

Result<Cgroup> Cgroup::from_json(const nlohmann::json& j) {
  Cgroup cg;
  try {
    cg.relative_ = j.at("relative").get<std::string>();
    cg.paths_ = j.at("paths").get<std::map<std::string, std::string>>();
    cg.v1_ = j.at("v1").get<std::map<std::string, std::string>>();
    cg.v2_mount_ = j.value("v2_mount", "");
    cg.v2_ = j.value("v2", "");
    cg.v2_controllers_ = j.value("v2_controllers", std::vector<std::string>{});
  } catch (const nlohmann::json::exception& e) {
    return make_error("cgroup state: {}", e.what());
  }
  return cg;
}

std::string Cgroup::dir_for(const std::string& controller) const {
  std::string v1name = controller == "io" ? "blkio" : controller;
  if (auto it = v1_.find(v1name); it != v1_.end()) return it->second;
  if (v2_.empty()) return "";
  // The v2 core does freezing, and device filtering is an eBPF program.
  if (controller == "freezer" || controller == "devices") return v2_;
  if (has(v2_controllers_, internal::v2_controller_name(controller))) return v2_;
  return "";
}

Result<void> Cgroup::add_process(pid_t pid) const {
  std::string s = std::to_string(pid);
  for (auto& [m, dir] : paths_)
    TRY_CTX(write_existing(dir + "/cgroup.procs", s), "add process {} to cgroup {}", pid, dir);
  return ok();
}

Result<void> Cgroup::join_self_v1() const {
  for (auto& [m, dir] : paths_) {
    if (!v2_mount_.empty() && m == v2_mount_) continue;
    // "0" is the writer itself; v1's per-thread file avoids the lock.
    TRY_CTX(write_existing(dir + "/tasks", "0"), "join cgroup {}", dir);
  }
  return ok();
}

Result<std::vector<pid_t>> Cgroup::pids() const {
  std::set<pid_t> all;
  for (auto& [m, dir] : paths_) TRY_CTX(read_procs(dir, all), "list processes of cgroup {}", dir);
  return std::vector<pid_t>(all.begin(), all.end());
}

Result<void> Cgroup::freeze() {
  if (auto it = v1_.find("freezer"); it != v1_.end()) {
    std::string f = it->second + "/freezer.state";
    TRY_CTX(write_existing(f, "FROZEN"), "freeze");
    // Freezing is asynchronous; a task in vfork or uninterruptible sleep can
    // hold it up, and writing FROZEN again retries those.
    auto deadline = Clock::now() + std::chrono::seconds(2);
    for (int i = 0;; ++i) {
      auto s = TRY_CTX(read_value(f), "freeze");
      if (s == "FROZEN") return ok();
      if (Clock::now() > deadline) {
        (void)write_existing(f, "THAWED");
        return make_error("freeze {}: still {} after 2 s", it->second, s);
      }
      if (i % 20 == 19) (void)write_existing(f, "FROZEN");
      std::this_thread::sleep_for(std::chrono::microseconds(i < 10 ? 100 : 1000));
    }
  }
  if (v2_.empty()) return make_error("freeze: no freezer on this host");
  TRY_CTX(write_existing(v2_ + "/cgroup.freeze", "1"), "freeze");
  UniqueFd fd(::open((v2_ + "/cgroup.events").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("freeze: open {}/cgroup.events", v2_);
  auto deadline = Clock::now() + std::chrono::seconds(2);
  for (;;) {
    char buf[512];
    ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    if (n < 0) return errno_error("freeze: read {}/cgroup.events", v2_);
    auto ev = internal::parse_flat_keyed(std::string(buf, static_cast<size_t>(n)));
    if (ev["frozen"] == 1) return ok();
    if (Clock::now() > deadline) {
      (void)write_existing(v2_ + "/cgroup.freeze", "0");
      return make_error("freeze {}: not frozen after 2 s", v2_);
    }
    // The kernel signals POLLPRI on cgroup.events when it changes.
    struct pollfd p = {fd.get(), POLLPRI, 0};
    ::poll(&p, 1, 10);
  }
}

Result<void> Cgroup::thaw() {
  if (auto it = v1_.find("freezer"); it != v1_.end()) {
    TRY_CTX(write_existing(it->second + "/freezer.state", "THAWED"), "thaw");
    return ok();
  }
  if (v2_.empty()) return make_error("thaw: no freezer on this host");
  TRY_CTX(write_existing(v2_ + "/cgroup.freeze", "0"), "thaw");
  return ok();
}

Result<bool> Cgroup::frozen() const {
  if (auto it = v1_.find("freezer"); it != v1_.end())
    return TRY(read_value(it->second + "/freezer.state")) == "FROZEN";
  if (v2_.empty()) return false;
  auto want = read_value(v2_ + "/cgroup.freeze");
  if (!want) {
    if (want.error().code == ENOENT) return false;  // the root or a kernel before 5.2
    return std::move(want).error();
  }
  if (*want != "1") return false;
  auto ev = internal::parse_flat_keyed(TRY(read_file(v2_ + "/cgroup.events")));
  return ev["frozen"] == 1;
}

Result<void> Cgroup::kill_all(int sig) {
  if (TRY(pids()).empty()) return ok();  // nothing to signal (or already removed)
  bool v1_freezer = v1_.count("freezer") > 0;
  if (sig == SIGKILL && !v2_.empty() && path_exists(v2_ + "/cgroup.kill")) {
    TRY_CTX(write_existing(v2_ + "/cgroup.kill", "1"), "kill all processes");
    // A v1-frozen task cannot act on SIGKILL until it is thawed.
    if (v1_freezer) (void)thaw();
    // Processes put in the v1 cgroups only (by another tool) are not in v2.
    for (pid_t p : TRY(pids())) ::kill(p, SIGKILL);
    return ok();
  }
  bool can_freeze = v1_freezer || !v2_.empty();
  bool was_frozen = false;
  if (can_freeze) {
    auto f = frozen();
    was_frozen = f.ok() && *f;
  }
  bool froze = false;
  if (can_freeze && !was_frozen) {
    if (auto r = freeze(); r)
      froze = true;
    else
      log::warn("kill: cannot freeze {} first: {}", relative_, r.error().message);
  }
  Result<void> result = ok();
  auto list = pids();
  if (!list) {
    result = std::move(list).error();
  } else {
    for (pid_t p : *list)
      if (::kill(p, sig) < 0 && errno != ESRCH && result.ok())
        result = errno_error("kill process {} with signal {}", p, sig);
  }
  if (froze || (was_frozen && sig == SIGKILL)) {
    auto t = thaw();
    if (!t && result.ok()) result = std::move(t).error();
  }
  return result;
}

namespace {

// Directories below dir (and dir itself), children before parents.
void subdirs_deepest_first(const std::string& dir, std::vector<std::string>& out) {
  if (DIR* d = ::opendir(dir.c_str())) {
    while (struct dirent* e = ::readdir(d)) {
      if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      subdirs_deepest_first(dir + "/" + e->d_name, out);
    }
    ::closedir(d);
  }
  out.push_back(dir);
}

}  // namespace

Result<void> Cgroup::destroy() {
  auto deadline = Clock::now() + std::chrono::seconds(1);
  for (auto& [m, dir] : paths_) {
    if (dir == m) continue;  // never the hierarchy root
    std::vector<std::string> dirs;
    subdirs_deepest_first(dir, dirs);
    for (auto& d : dirs) {
      for (;;) {
        if (::rmdir(d.c_str()) == 0 || errno == ENOENT) break;
        if (errno != EBUSY || Clock::now() > deadline) return errno_error("remove cgroup {}", d);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  }
  return ok();
}

uint64_t shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t w) {
  if (w == 0) return 0;
  w = std::clamp<uint64_t>(w, 10, 1000);
  return 1 + (w - 10) * 9999 / 990;
}

std::vector<oci::DeviceRule> allow_rules_for(const std::vector<oci::Device>& devices) {
  std::vector<oci::DeviceRule> out;
  for (auto& d : devices) {
    if (d.type == "p") continue;  // fifos are not devices to the cgroup
    oci::DeviceRule r;
    r.allow = true;
    r.type = d.type == "b" ? "b" : "c";  // "u" (unbuffered) is a char device
    r.major = d.major;
    r.minor = d.minor;
    r.access = "rwm";
    out.push_back(r);
  }
  return out;
}

}  // namespace berth::cgroup
