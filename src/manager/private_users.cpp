// private_users = "pick": a free 65536-id range per container, derived from
// its name as systemd-nspawn --private-users=pick does, recorded in the
// container's state dir so that it stays the same across restarts.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "base/files.h"
#include "base/hash.h"
#include "base/parse.h"
#include "base/unique_fd.h"
#include "cgroup/cgroup.h"
#include "manager/private_root.h"

namespace berth::manager {

namespace {

constexpr uint32_t kRange = decl::kPrivateUsersRange;

// Attempt 0 depends on the name only, so a container gets the same base on
// every host unless something there is in the way.
uint32_t candidate(const std::string& name, int attempt) {
  uint64_t slots = (kPickMax - kPickMin) / kRange;
  uint64_t h = fnv1a_64(attempt == 0 ? name : fmt::format("{}#{}", name, attempt));
  return kPickMin + static_cast<uint32_t>(h % slots) * kRange;
}

bool overlaps(uint32_t a, uint32_t b) {
  return a < b + kRange && b < a + kRange;
}

// Other containers' ranges: recorded picks under <state>/containers and the
// fixed bases of the declarations.
std::map<std::string, uint32_t> ranges_in_use(const decl::Paths& paths, const std::string& self,
                                              const decl::Declarations& decls) {
  std::map<std::string, uint32_t> out;
  std::string dir = paths.state + "/containers";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == ".." || n == self) continue;
      if (auto b = recorded_uid_base(paths, n)) out[n] = *b;
    }
    ::closedir(d);
  }
  for (auto& [n, c] : decls.containers)
    if (n != self && c.private_users.mode == decl::PrivateUsers::Mode::Base)
      out[n] = c.private_users.base;
  return out;
}

// A host user or group at the base means the range is someone's already
// (nspawn's check).
bool host_uses(uint32_t base) {
  return ::getpwuid(base) != nullptr || ::getgrgid(base) != nullptr;
}

}  // namespace

std::string uid_range_file(const decl::Paths& paths, const std::string& name) {
  return paths.container_state(name) + "/private-users";
}

std::optional<uint32_t> recorded_uid_base(const decl::Paths& paths, const std::string& name) {
  auto text = read_file(uid_range_file(paths, name));
  if (!text) return std::nullopt;
  std::string_view t = *text;
  if (t.ends_with('\n')) t.remove_suffix(1);
  auto v = parse_int<uint32_t>(t);
  if (!v || *v < kPickMin || *v >= kPickMax || *v % kRange != 0) return std::nullopt;
  return *v;
}

Result<uint32_t> pick_uid_base(const decl::Paths& paths, const decl::Container& c,
                               const decl::Declarations& decls, bool record) {
  UniqueFd lk;
  if (record) {
    TRY(mkdir_p(paths.state, 0755));
    std::string lock_path = paths.state + "/.private-users.lock";
    lk.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!lk) return errno_error("open {}", lock_path);
    while (::flock(lk.get(), LOCK_EX) < 0)
      if (errno != EINTR) return errno_error("lock {}", lock_path);
  }
  auto used = ranges_in_use(paths, c.name, decls);
  auto free = [&](uint32_t base) {
    for (auto& [n, b] : used)
      if (overlaps(base, b)) return false;
    return true;
  };
  if (auto rec = recorded_uid_base(paths, c.name); rec && free(*rec)) return *rec;
  for (int attempt = 0; attempt < 4096; ++attempt) {
    uint32_t base = candidate(c.name, attempt);
    if (!free(base) || host_uses(base)) continue;
    if (!record) return base;
    TRY(mkdir_p(paths.container_state(c.name), 0755));
    TRY_CTX(write_file_atomic(uid_range_file(paths, c.name), fmt::format("{}\n", base), 0644),
            "record the picked uid range");
    return base;
  }
  return make_error("no free range of {} uids left in {:#x}..{:#x}", kRange, kPickMin, kPickMax);
}

Result<std::optional<uint32_t>> uid_base_of(const decl::Paths& paths, const decl::Container& c,
                                            const decl::Declarations& decls, bool record) {
  switch (c.private_users.mode) {
    case decl::PrivateUsers::Mode::No:
      return std::optional<uint32_t>{};
    case decl::PrivateUsers::Mode::Base:
      return std::optional<uint32_t>{c.private_users.base};
    case decl::PrivateUsers::Mode::Pick:
      return std::optional<uint32_t>{TRY(pick_uid_base(paths, c, decls, record))};
  }
  return std::optional<uint32_t>{};
}

Result<void> delegate_cgroup(const std::string& relative, uint32_t uid) {
  auto layout = TRY(cgroup::detect());
  auto cg = cgroup::Cgroup::open(layout, relative);
  auto own = [&](const std::string& path) -> Result<void> {
    if (::chown(path.c_str(), uid, uid) < 0 && errno != ENOENT)
      return errno_error("chown {}", path);
    return ok();
  };
  for (auto& [mount, dir] : cg.paths()) {
    bool v2 = mount == layout.unified;
    auto it = layout.v1.find(mount);
    bool named = it != layout.v1.end() &&
                 std::all_of(it->second.begin(), it->second.end(),
                             [](const std::string& c) { return c.starts_with("name="); });
    // A controller hierarchy of v1 stays the host's: its files are limits.
    if (!v2 && !named) continue;
    TRY(own(dir));
    if (v2) {
      // The kernel's delegation: the directory and these three; its own
      // limits (memory.max, pids.max, ...) stay root's.
      for (const char* f : {"cgroup.procs", "cgroup.threads", "cgroup.subtree_control"})
        TRY(own(dir + "/" + f));
      continue;
    }
    // name=systemd holds no limits: all of it is the container's.
    if (DIR* d = ::opendir(dir.c_str())) {
      while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") (void)own(dir + "/" + n);
      }
      ::closedir(d);
    }
  }
  return ok();
}

Result<void> open_netns_to_userns(int netns) {
  UniqueFd self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!self) return errno_error("open the monitor's network namespace");
  if (::setns(netns, CLONE_NEWNET) < 0)
    return errno_error("enter the container's network namespace");
  auto w = write_existing("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0");
  if (w) w = write_existing("/proc/sys/net/ipv4/ping_group_range", "0 2147483647");
  if (::setns(self.get(), CLONE_NEWNET) < 0)
    return errno_error("return to the monitor's network namespace");
  return w;
}

}  // namespace berth::manager
