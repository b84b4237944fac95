// bind / unbind (see bind.h), with the new mount API: the host path is
// cloned as a detached tree in the host's mount namespace (open_tree), its
// flags set (mount_setattr), and attached (move_mount) from a child that has
// entered the container's mount namespace, onto a destination opened within
// the container's root (engine::open_in_root). The binds made are recorded in
// the engine's state dir of the container, which goes at stop and restart
// with the mount namespace that held them.
#include "manager/bind.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/files.h"
#include "engine/rootfs.h"
#include "engine/state.h"
#include "engine/sys.h"
#include "manager/running.h"
#include "manager/runtime.h"

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x4000U
#endif

namespace berth::manager {

namespace {

// Transient binds of one run of the container (its init's pid and start time).
struct Record {
  pid_t pid = 0;
  uint64_t start_time = 0;
  std::vector<TransientBind> binds;
};

std::string record_file(const RunDir& rd, const std::string& name) {
  return rd.store().dir(name) + "/berth-binds.json";
}

// The binds recorded for the run (pid, start_time); none for another run.
std::vector<TransientBind> read_binds(const RunDir& rd, const std::string& name, pid_t pid,
                                      uint64_t start_time) {
  std::vector<TransientBind> out;
  auto text = read_file(record_file(rd, name));
  if (!text) return out;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object() || j.value("pid", 0) != pid ||
      j.value("start_time", uint64_t{0}) != start_time)
    return out;
  for (auto& b : j.value("binds", nlohmann::json::array()))
    out.push_back({b.value("path", ""), b.value("host_path", ""), b.value("read_only", false),
                   b.value("mount_id", uint64_t{0})});
  return out;
}

Result<void> write_binds(const RunDir& rd, const std::string& name, const Running& c,
                         const std::vector<TransientBind>& binds) {
  nlohmann::json list = nlohmann::json::array();
  for (auto& b : binds)
    list.push_back({{"path", b.path},
                    {"host_path", b.host_path},
                    {"read_only", b.read_only},
                    {"mount_id", b.mount_id}});
  nlohmann::json j = {{"pid", c.pid}, {"start_time", c.start_time}, {"binds", list}};
  return write_file_atomic(record_file(rd, name), j.dump() + "\n", 0644, false);
}

// Absolute, without "." or ".." or a trailing slash.
Result<std::string> container_path(const std::string& path) {
  if (!path.starts_with("/"))
    return make_error("{}: the path in the container must be absolute", path);
  auto n = std::filesystem::path(path).lexically_normal().string();
  while (n.size() > 1 && n.back() == '/') n.pop_back();
  return n;
}

// The mount fd is on (unique id where the kernel has one), and whether fd is its root.
struct MountOf {
  uint64_t id = 0;
  bool root = false;
};
Result<MountOf> mount_of(int fd, const std::string& shown) {
  struct statx sx = {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID | STATX_MNT_ID_UNIQUE, &sx) < 0)
    return errno_error("statx {}", shown);
  if (!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
    return make_error("the kernel does not say whether {} is a mount point (Linux 5.8 or later)",
                      shown);
  return MountOf{sx.stx_mnt_id, (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0};
}

// A running container, entered under its lock: its namespaces as fds.
struct Target {
  Running c;
  UniqueFd mntns, userns;
  bool own_userns = false;  // one of its own, not the caller's
};

Result<UniqueFd> open_ns(pid_t pid, const char* ns) {
  UniqueFd fd(::open(fmt::format("/proc/{}/ns/{}", pid, ns).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open the {} namespace of pid {}", ns, pid);
  return fd;
}

bool same_ns(int fd, const char* ns) {
  struct stat a, b;
  return ::fstat(fd, &a) == 0 && ::stat(fmt::format("/proc/self/ns/{}", ns).c_str(), &b) == 0 &&
         a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

Result<Target> open_target(const decl::Paths& paths, const std::string& name) {
  Target t{TRY(open_running(paths, name)), {}, {}, false};
  t.mntns = TRY(open_ns(t.c.pid, "mnt"));
  t.userns = TRY(open_ns(t.c.pid, "user"));
  if (same_ns(t.mntns.get(), "mnt"))
    return make_error("{} shares the host's mount namespace", name);
  t.own_userns = !same_ns(t.userns.get(), "user");
  // Still the same init, now that its namespaces are open.
  if (engine::process_start_time(t.c.pid) != t.c.start_time)
    return make_error("{} is not running", name);
  return t;
}

// In a user-namespaced container, a mount the host's root attaches keeps
// flags its root could clear (remount rw); the kernel locks them only in a
// copy of a mount namespace made from a less privileged user namespace. So
// the tree is attached over host_path in a private copy of ours, that copied
// again from the container's user namespace, and the bind cloned from there.
Result<UniqueFd> locked_copy(UniqueFd tree, const std::string& host_path, int userns) {
  auto& sys = engine::real_sys();
  std::filesystem::path hp(host_path);
  if (::unshare(CLONE_NEWNS) < 0) return errno_error("unshare the mount namespace");
  if (sys.mount(nullptr, "/", nullptr, MS_PRIVATE | MS_REC, nullptr) < 0)
    return errno_error("make / private");
  if (::chdir(hp.parent_path().c_str()) < 0) return errno_error("{}", hp.parent_path().string());
  std::string base = hp.filename().string();
  if (sys.move_mount(tree.get(), "", AT_FDCWD, base.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return errno_error("attach {}", host_path);
  if (::setns(userns, CLONE_NEWUSER) < 0) return errno_error("enter its user namespace");
  if (::unshare(CLONE_NEWNS) < 0) return errno_error("unshare the mount namespace");
  UniqueFd locked(
      sys.open_tree(AT_FDCWD, base.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
  if (!locked) return errno_error("clone {}", host_path);
  return locked;
}

// In the child: everything of the bind, the container's root's filesystem
// ids in effect from the destination on (what --mkdir makes is its root's).
Result<void> attach(const Target& t, const std::string& host_path, bool dir,
                    const std::string& path, const BindOptions& o) {
  auto& sys = engine::real_sys();
  UniqueFd tree(sys.open_tree(AT_FDCWD, host_path.c_str(),
                              OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
  if (!tree && errno == ENOSYS) return make_error("the kernel has no open_tree (Linux 5.2)");
  if (!tree) return errno_error("open_tree {}", host_path);
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (o.read_only ? MOUNT_ATTR_RDONLY : 0);
  if (sys.mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
    return errno == ENOSYS ? make_error("the kernel has no mount_setattr (Linux 5.12)")
                           : errno_error("set the flags of {}", host_path);
  if (t.own_userns && o.idmap) {
    // Only the top mount: one below on a filesystem that cannot be idmapped
    // would fail the whole bind (as the engine's "idmap" of a declared one).
    struct mount_attr idmap = {};
    idmap.attr_set = MOUNT_ATTR_IDMAP;
    idmap.userns_fd = static_cast<uint64_t>(t.userns.get());
    if (sys.mount_setattr(tree.get(), "", AT_EMPTY_PATH, &idmap) < 0)
      return errno_error(
          "idmap the bind of {} (the filesystem or kernel may not support idmapped mounts; "
          "--no-idmap binds it as it is)",
          host_path);
  }
  ::setfsgid(t.c.gid);
  ::setfsuid(t.c.uid);
  set_effective_to_permitted();
  auto create = !o.mkdir ? engine::Create::No : dir ? engine::Create::Dir : engine::Create::File;
  auto dest = engine::open_in_root(t.c.root.get(), path, create);
  if (!dest) {
    int err = dest.error().code;
    if (err == ENOENT && !o.mkdir)
      return make_error("{}: No such file or directory (--mkdir makes it)", path);
    if (err == 0) return std::move(dest).error().wrap(path);
    errno = err;
    return errno_error("{}", path);
  }
  struct stat st;
  if (::fstat(dest->get(), &st) < 0) return errno_error("{}", path);
  if (S_ISDIR(st.st_mode) != dir)
    return make_error("{} is {}a directory and {} is {}", path, dir ? "not " : "", host_path,
                      dir ? "one" : "not");
  if (t.own_userns) tree = TRY(locked_copy(std::move(tree), host_path, t.userns.get()));
  if (::setns(t.mntns.get(), CLONE_NEWNS) < 0) return errno_error("enter its mount namespace");
  if (sys.move_mount(tree.get(), "", dest->get(), "",
                     MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return errno_error("move_mount onto {}", path);
  return ok();
}

// The lock of NAME's run dir, taken only while it runs (so that no run dir is
// made for a container that is not running), and dropped with the dir when
// the container has gone meanwhile.
template <class F>
Result<void> locked(const decl::Paths& paths, const std::string& name, F&& f) {
  TRY(open_running(paths, name));
  RunDir rd(paths, name);
  Lock lock = TRY(Lock::acquire(rd));
  auto r = [&]() -> Result<void> {
    auto t = TRY(open_target(paths, name));
    return f(rd, t);
  }();
  lock.remove_if_idle(rd);
  return r;
}

}  // namespace

Result<void> bind(const decl::Paths& paths, const std::string& name, const std::string& host_path,
                  const std::string& path, const BindOptions& o) {
  auto p = TRY(container_path(path));
  if (p == "/") return make_error("/: the container's root cannot be bound over");
  std::error_code ec;
  auto hp = std::filesystem::canonical(host_path, ec).string();
  if (ec) return code_error(ec.value(), "{}", host_path);
  struct stat st;
  if (::stat(hp.c_str(), &st) < 0) return errno_error("{}", host_path);
  if (hp == "/") return make_error("/: the host's root is not bound into a container");
  return locked(paths, name, [&](const RunDir& rd, const Target& t) -> Result<void> {
    TRY(in_child([&] { return attach(t, hp, S_ISDIR(st.st_mode), p, o); }));
    if (o.declared) return ok();
    // The mount now on top at p is the bind.
    auto binds = read_binds(rd, name, t.c.pid, t.c.start_time);
    TransientBind b{p, hp, o.read_only, 0};
    if (auto fd = engine::open_in_root(t.c.root.get(), p, engine::Create::No))
      if (auto m = mount_of(fd->get(), p)) b.mount_id = m->id;
    binds.push_back(b);
    return write_binds(rd, name, t.c, binds);
  });
}

Result<void> unbind(const decl::Paths& paths, const std::string& name, const std::string& path,
                    bool declared) {
  auto p = TRY(container_path(path));
  return locked(paths, name, [&](const RunDir& rd, const Target& t) -> Result<void> {
    auto binds = read_binds(rd, name, t.c.pid, t.c.start_time);
    auto fd = engine::open_in_root(t.c.root.get(), p, engine::Create::No);
    if (!fd) {
      errno = fd.error().code;
      return errno_error("{}", p);
    }
    auto m = TRY(mount_of(fd->get(), p));
    auto it = std::find_if(binds.rbegin(), binds.rend(), [&](auto& b) { return b.path == p; });
    if (declared) {
      if (!m.root) return make_error("{} is not a mount point", p);
    } else if (it == binds.rend()) {
      auto snap = load_snapshot(rd, name);
      if (snap && snap->bind_mounts.count(p))
        return make_error("{} is declared in bind_mounts; only a bind of berth bind is unbound", p);
      if (!m.root) return make_error("{} is not a mount point", p);
      return make_error("{} is not a bind made by berth bind", p);
    }
    if (!declared && (!m.root || m.id != it->mount_id)) {  // unmounted or covered inside: forgotten
      binds.erase(std::next(it).base());
      TRY(write_binds(rd, name, t.c, binds));
      return make_error("{} is no longer the bind berth bind made (unmounted inside?)", p);
    }
    UniqueFd proc(::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!proc) return errno_error("open /proc");
    TRY(in_child([&]() -> Result<void> {
      if (::setns(t.mntns.get(), CLONE_NEWNS) < 0) return errno_error("enter its mount namespace");
      // The host's /proc, where this process is: the container's has no /proc/self of it.
      if (::fchdir(proc.get()) < 0) return errno_error("enter /proc");
      if (::umount2(fmt::format("self/fd/{}", fd->get()).c_str(), MNT_DETACH) < 0)
        return errno_error("unmount {}", p);
      return ok();
    }));
    if (declared) return ok();
    binds.erase(std::next(it).base());
    return write_binds(rd, name, t.c, binds);
  });
}

std::vector<TransientBind> transient_binds(const decl::Paths& paths, const std::string& name) {
  RunDir rd(paths, name);
  auto s = rd.store().load(name);
  if (!s || engine::process_start_time(s->pid) != s->start_time) return {};
  return read_binds(rd, name, s->pid, s->start_time);
}

}  // namespace berth::manager
