#include "engine/rootfs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "base/files.h"
#include "base/log.h"
#include "base/mountinfo.h"
#include "base/parse.h"
#include "cgroup/cgroup.h"
#include "engine/mount_options.h"

namespace berth::engine {
namespace {

int sys_openat2(int dirfd, const char* path, uint64_t flags, uint64_t resolve) {
  struct open_how how = {};
  how.flags = flags;
  how.resolve = resolve;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

int sys_mount_setattr(int dfd, const char* path, unsigned int flags, struct mount_attr* attr) {
  return static_cast<int>(::syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof *attr));
}

std::string fd_path(int fd) {
  return "/proc/self/fd/" + std::to_string(fd);
}

std::string relative(const std::string& p) {
  size_t i = 0;
  while (i < p.size() && p[i] == '/') i++;
  return p.substr(i);
}

// MS_* flags that mount_setattr expresses as attributes.
uint64_t attrs_from_flags(unsigned long f) {
  uint64_t a = 0;
  if (f & MS_RDONLY) a |= MOUNT_ATTR_RDONLY;
  if (f & MS_NOSUID) a |= MOUNT_ATTR_NOSUID;
  if (f & MS_NODEV) a |= MOUNT_ATTR_NODEV;
  if (f & MS_NOEXEC) a |= MOUNT_ATTR_NOEXEC;
  if (f & MS_NODIRATIME) a |= MOUNT_ATTR_NODIRATIME;
  return a;
}

// Applies flags to the mount at path (inside root_fd). Used for bind mounts,
// whose flags mount(2) ignores on the first call.
Result<void> set_mount_attrs(int root_fd, const std::string& dest, const MountFlags& mf,
                             bool recursive) {
  uint64_t set = attrs_from_flags(mf.flags);
  uint64_t clr = attrs_from_flags(mf.clear);
  if (mf.nosymfollow) set |= MOUNT_ATTR_NOSYMFOLLOW;
  if (mf.flags & MS_NOATIME) {
    set |= MOUNT_ATTR_NOATIME;
    clr |= MOUNT_ATTR__ATIME;
  } else if (mf.flags & MS_STRICTATIME) {
    set |= MOUNT_ATTR_STRICTATIME;
    clr |= MOUNT_ATTR__ATIME;
  } else if (mf.flags & MS_RELATIME) {
    set |= MOUNT_ATTR_RELATIME;
    clr |= MOUNT_ATTR__ATIME;
  }
  if (!set && !clr) return ok();
  auto fd = TRY(open_in_root(root_fd, dest, Create::No));
  struct mount_attr attr = {};
  attr.attr_set = set;
  attr.attr_clr = clr;
  if (sys_mount_setattr(fd.get(), "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr) < 0)
    return errno_error("set mount flags on {}", dest);
  return ok();
}

bool is_dir_fd(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
}

// Refuses a destination that is a symlink at any point (for /proc, /sys, masked paths).
Result<void> refuse_symlink(int root_fd, const std::string& path, const char* what) {
  int fd = sys_openat2(root_fd, relative(path).c_str(), O_PATH | O_CLOEXEC,
                       RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH);
  if (fd < 0) {
    if (errno == ELOOP) return make_error("{} {} must not be a symlink", what, path);
    if (errno == ENOENT) return ok();
    return errno_error("open {}", path);
  }
  ::close(fd);
  return ok();
}

Result<void> mount_cgroup(const RootfsContext& ctx, int root_fd, const oci::Mount& m,
                          const MountFlags& mf) {
  auto layout = TRY(cgroup::detect());
  auto dest_fd = TRY(open_in_root(root_fd, m.destination, Create::Dir));
  unsigned long flags = mf.flags & ~MS_RDONLY;
  if (layout.mode == cgroup::Mode::Unified) {
    if (!ctx.cgroup && ctx.cgroupns) {
      if (::mount("cgroup2", fd_path(dest_fd.get()).c_str(), "cgroup2", mf.flags, nullptr) < 0)
        return errno_error("mount cgroup2 on {}", m.destination);
    } else if (ctx.cgroup) {
      auto& paths = ctx.cgroup->paths();
      auto it = paths.find(layout.unified);
      if (it == paths.end())
        return make_error("no unified cgroup path to bind on {}", m.destination);
      if (::mount(it->second.c_str(), fd_path(dest_fd.get()).c_str(), nullptr, MS_BIND | MS_REC,
                  nullptr) < 0)
        return errno_error("bind cgroup on {}", m.destination);
      TRY(set_mount_attrs(root_fd, m.destination, mf, true));
    }
    return ok();
  }
  // v1 or hybrid: a tmpfs holding one mount per hierarchy, like runc.
  if (::mount("tmpfs", fd_path(dest_fd.get()).c_str(), "tmpfs", flags, "mode=755") < 0)
    return errno_error("mount tmpfs on {}", m.destination);
  auto mount_one = [&](const std::string& host_mp, const std::string& fstype,
                       const std::string& data) -> Result<void> {
    std::string name = std::filesystem::path(host_mp).filename().string();
    std::string sub = m.destination + "/" + name;
    auto sfd = TRY(open_in_root(root_fd, sub, Create::Dir));
    // The container's own cgroup dirs are bound when berth made them (no
    // cgroup namespace needed yet); a fresh mount only without cgroups.
    bool fresh = !ctx.cgroup && ctx.cgroupns && !ctx.userns;
    if (fresh) {
      if (::mount("cgroup", fd_path(sfd.get()).c_str(), fstype.c_str(), mf.flags,
                  data.empty() ? nullptr : data.c_str()) == 0)
        return ok();
    }
    std::string src = host_mp;
    if (ctx.cgroup) {
      auto it = ctx.cgroup->paths().find(host_mp);
      if (it != ctx.cgroup->paths().end()) src = it->second;
    }
    if (::mount(src.c_str(), fd_path(sfd.get()).c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
      return errno_error("bind {} on {}", src, sub);
    return set_mount_attrs(root_fd, sub, mf, true);
  };
  for (auto& [mp, ctrls] : layout.v1) {
    std::string data;
    for (auto& c : ctrls) {
      if (!data.empty()) data += ',';
      data += c.rfind("name=", 0) == 0 ? "none," + c : c;
    }
    TRY(mount_one(mp, "cgroup", data));
  }
  if (!layout.unified.empty()) TRY(mount_one(layout.unified, "cgroup2", ""));
  if (mf.flags & MS_RDONLY) {
    MountFlags ro;
    ro.flags = MS_RDONLY;
    TRY(set_mount_attrs(root_fd, m.destination, ro, false));
  }
  return ok();
}

// A new tmpfs or devpts made by the host's root belongs to the host's user
// namespace, which reads its uid=/gid= options: the container's ids become
// the host ids they map to (devpts' gid=5 is the container's tty group).
// proc, sysfs and mqueue belong to the container's namespaces already.
Result<std::string> host_ids_in_options(const RootfsContext& ctx, const std::string& data) {
  std::string out;
  size_t pos = 0;
  while (pos <= data.size() && !data.empty()) {
    size_t end = data.find(',', pos);
    if (end == std::string::npos) end = data.size();
    std::string opt = data.substr(pos, end - pos);
    bool uid = opt.rfind("uid=", 0) == 0, gid = opt.rfind("gid=", 0) == 0;
    if (uid || gid) {
      auto id = parse_int<uint32_t>(std::string_view(opt).substr(4));
      if (!id) return make_error("mount option {}: not an id", opt);
      auto host = host_id(uid ? *ctx.uid_maps : *ctx.gid_maps, *id);
      if (!host)
        return make_error("mount option {}: {} {} is not mapped in the user namespace", opt,
                          uid ? "uid" : "gid", *id);
      opt = fmt::format("{}={}", uid ? "uid" : "gid", *host);
    }
    if (!out.empty()) out += ',';
    out += opt;
    pos = end + 1;
  }
  return out;
}

Result<void> do_mount(const RootfsContext& ctx, int root_fd, const oci::Mount& m, size_t index) {
  MountFlags mf = parse_mount_options(m.options);
  if (auto it = ctx.mount_fds.find(index); it != ctx.mount_fds.end()) {
    struct stat st;
    bool dir = ::fstat(it->second, &st) == 0 && S_ISDIR(st.st_mode);
    auto dest = TRY(open_in_root(root_fd, m.destination, dir ? Create::Dir : Create::File));
    if (::syscall(SYS_move_mount, it->second, "", dest.get(), "",
                  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
      return errno_error("move idmapped mount onto {}", m.destination);
    return set_mount_attrs(root_fd, m.destination, mf, mf.recursive_idmap || mf.recursive);
  }
  if (m.type == "bind") mf.bind = true;
  if (m.destination.empty() || m.destination[0] != '/')
    return make_error("mount destination {} is not an absolute path", m.destination);
  if (m.type == "cgroup" || m.type == "cgroup2") {
    if (m.type == "cgroup2") {
      auto fd = TRY(open_in_root(root_fd, m.destination, Create::Dir));
      if (::mount("cgroup2", fd_path(fd.get()).c_str(), "cgroup2", mf.flags, nullptr) < 0)
        return errno_error("mount cgroup2 on {}", m.destination);
      return ok();
    }
    return mount_cgroup(ctx, root_fd, m, mf);
  }
  bool is_proc = m.destination == "/proc" || m.type == "proc";
  bool is_sys = m.destination == "/sys" || m.type == "sysfs";
  if (is_proc || is_sys) TRY(refuse_symlink(root_fd, m.destination, "mount destination"));
  if (m.destination == "/proc" && m.type != "proc") {
    // Only procfs may sit at /proc (CVE-2019-16884).
    struct statfs sf;
    if (!mf.bind || ::statfs(m.source.c_str(), &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
      return make_error("/proc cannot be mounted because {} is not of type proc", m.source);
  }
  if (mf.bind) {
    std::string src = m.source;
    if (!src.empty() && src[0] != '/') src = ctx.bundle + "/" + src;
    int sfd = ::open(src.c_str(), O_PATH | O_CLOEXEC);
    if (sfd < 0) return errno_error("bind mount source {}", src);
    UniqueFd source(sfd);
    bool dir = is_dir_fd(source.get());
    auto dest = TRY(open_in_root(root_fd, m.destination, dir ? Create::Dir : Create::File));
    if (is_dir_fd(dest.get()) != dir)
      return make_error("cannot bind {} {} onto {} {}", dir ? "directory" : "file", src,
                        dir ? "file" : "directory", m.destination);
    if (::mount(fd_path(source.get()).c_str(), fd_path(dest.get()).c_str(), nullptr,
                MS_BIND | (mf.recursive ? MS_REC : 0), nullptr) < 0)
      return errno_error("bind mount {} on {}", src, m.destination);
    TRY(set_mount_attrs(root_fd, m.destination, mf, mf.recursive));
  } else {
    auto dest = TRY(open_in_root(root_fd, m.destination, Create::Dir));
    if (ctx.uid_maps && m.type != "proc" && m.type != "sysfs" && m.type != "mqueue")
      mf.data = TRY(host_ids_in_options(ctx, mf.data));
    const char* data = mf.data.empty() ? nullptr : mf.data.c_str();
    unsigned long flags = mf.flags;
    if (is_sys && ctx.userns && m.type == "sysfs") {
      // A user namespace without its own network namespace cannot mount sysfs;
      // fall back to binding the host's, read-only, as runc does rootless.
      if (::mount("sysfs", fd_path(dest.get()).c_str(), "sysfs", flags, data) == 0) return ok();
      if (::mount("/sys", fd_path(dest.get()).c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
        return errno_error("bind /sys on {}", m.destination);
      MountFlags ro = mf;
      ro.flags |= MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
      return set_mount_attrs(root_fd, m.destination, ro, true);
    }
    if (::mount(m.source.empty() ? m.type.c_str() : m.source.c_str(), fd_path(dest.get()).c_str(),
                m.type.c_str(), flags, data) < 0) {
      return errno_error("mount {} ({}) on {} with options {}", m.source, m.type, m.destination,
                         mf.data.empty() ? "(none)" : mf.data);
    }
    if (is_proc) {
      struct statfs sf;
      auto check = TRY(open_in_root(root_fd, m.destination, Create::No));
      if (::fstatfs(check.get(), &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
        return make_error("{} is not of type proc after mounting", m.destination);
    }
  }
  if (mf.propagation) {
    auto fd = TRY(open_in_root(root_fd, m.destination, Create::No));
    if (::mount(nullptr, fd_path(fd.get()).c_str(), nullptr, mf.propagation, nullptr) < 0)
      return errno_error("set propagation of {}", m.destination);
  }
  return ok();
}

struct DefaultDevice {
  const char* path;
  unsigned major, minor;
};
constexpr DefaultDevice kDefaultDevices[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

Result<void> make_device(const RootfsContext& ctx, int root_fd, const std::string& path, char type,
                         unsigned major, unsigned minor, mode_t mode, uid_t uid, gid_t gid) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  auto dir = TRY(open_in_root(root_fd, parent, Create::Dir));
  std::string name = std::filesystem::path(path).filename().string();
  mode_t ftype = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
  ::unlinkat(dir.get(), name.c_str(), 0);
  if (!ctx.userns &&
      ::mknodat(dir.get(), name.c_str(), ftype | (mode & 07777), makedev(major, minor)) == 0) {
    // mknod is subject to umask; set the mode exactly.
    UniqueFd f(::openat(dir.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (f) {
      ::fchmodat(dir.get(), name.c_str(), mode & 07777, 0);
      ::fchownat(dir.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
    }
    return ok();
  }
  if (type == 'p') return errno_error("mknod {}", path);
  // No mknod in a user namespace: bind the host's node onto an empty file.
  std::string host = fmt::format("/dev/{}", name);
  struct stat st;
  if (::stat(host.c_str(), &st) < 0 || major != ::major(st.st_rdev) || minor != ::minor(st.st_rdev))
    return make_error("cannot create device {} ({}:{}) and no matching host node to bind", path,
                      major, minor);
  UniqueFd f(::openat(dir.get(), name.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0));
  if (!f) return errno_error("create {}", path);
  if (::mount(host.c_str(), fd_path(f.get()).c_str(), nullptr, MS_BIND, nullptr) < 0)
    return errno_error("bind {} on {}", host, path);
  return ok();
}

bool dev_is_bind(const oci::Spec& spec) {
  for (auto& m : spec.mounts) {
    if (m.destination != "/dev") continue;
    if (m.type == "bind") return true;
    for (auto& o : m.options)
      if (o == "bind" || o == "rbind") return true;
  }
  return false;
}

Result<void> setup_dev(const RootfsContext& ctx, int root_fd) {
  const oci::Spec& spec = *ctx.spec;
  if (!dev_is_bind(spec)) {
    for (auto& d : kDefaultDevices) {
      bool configured = false;
      if (spec.linux)
        for (auto& c : spec.linux->devices) configured |= c.path == d.path;
      if (!configured) TRY(make_device(ctx, root_fd, d.path, 'c', d.major, d.minor, 0666, 0, 0));
    }
    auto dev = TRY(open_in_root(root_fd, "/dev", Create::Dir));
    const std::pair<const char*, const char*> links[] = {
        {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
        {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},         {"core", "/proc/kcore"}};
    for (auto& [name, target] : links) {
      if (::symlinkat(target, dev.get(), name) < 0 && errno != EEXIST)
        return errno_error("symlink /dev/{}", name);
    }
  }
  if (spec.linux) {
    for (auto& d : spec.linux->devices) {
      // Anywhere in the rootfs, as runc and crun make them (resolved inside it).
      if (d.path.empty() || d.path[0] != '/')
        return make_error("device path \"{}\" is not absolute", d.path);
      if (d.type.size() != 1 || std::string("cbup").find(d.type[0]) == std::string::npos)
        return make_error("device {}: unknown type \"{}\"", d.path, d.type);
      char t = d.type[0] == 'u' ? 'c' : d.type[0];
      TRY(make_device(ctx, root_fd, d.path, t, static_cast<unsigned>(d.major),
                      static_cast<unsigned>(d.minor), d.file_mode.value_or(0666), d.uid.value_or(0),
                      d.gid.value_or(0)));
    }
  }
  return ok();
}

unsigned long propagation_flag(const std::string& p) {
  if (p == "shared") return MS_SHARED;
  if (p == "rshared") return MS_SHARED | MS_REC;
  if (p == "slave") return MS_SLAVE;
  if (p == "rslave") return MS_SLAVE | MS_REC;
  if (p == "private") return MS_PRIVATE;
  if (p == "rprivate") return MS_PRIVATE | MS_REC;
  if (p == "unbindable") return MS_UNBINDABLE;
  if (p == "runbindable") return MS_UNBINDABLE | MS_REC;
  return 0;
}

}  // namespace

std::optional<uint32_t> host_id(const std::vector<oci::IdMapping>& maps, uint32_t id) {
  for (auto& m : maps)
    if (id >= m.container_id && id - m.container_id < m.size)
      return m.host_id + (id - m.container_id);
  return std::nullopt;
}

bool wants_idmap(const oci::Mount& m) {
  if (!m.uid_mappings.empty() || !m.gid_mappings.empty()) return true;
  for (auto& o : m.options)
    if (o == "idmap" || o == "ridmap") return true;
  return false;
}

Result<UniqueFd> make_idmapped_tree(const oci::Mount& m, const std::string& bundle, int userns_fd) {
  MountFlags mf = parse_mount_options(m.options);
  std::string src = m.source;
  if (!src.empty() && src[0] != '/') src = bundle + "/" + src;
  bool recursive = mf.recursive || mf.recursive_idmap;
  int fd = static_cast<int>(
      ::syscall(SYS_open_tree, AT_FDCWD, src.c_str(),
                OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0)));
  if (fd < 0) return errno_error("open_tree {}", src);
  UniqueFd tree(fd);
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(userns_fd);
  if (sys_mount_setattr(tree.get(), "", AT_EMPTY_PATH | (mf.recursive_idmap ? AT_RECURSIVE : 0),
                        &attr) < 0) {
    if (errno == EINVAL || errno == EPERM || errno == EOPNOTSUPP)
      return errno_error(
          "idmapped mount of {} (the filesystem or kernel may not support idmapped mounts)", src);
    return errno_error("idmap {}", src);
  }
  return tree;
}

Result<UniqueFd> open_in_root(int root_fd, const std::string& path, Create create) {
  std::string rel = relative(path);
  if (rel.empty()) {
    int fd = ::fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) return errno_error("dup rootfs fd");
    return UniqueFd(fd);
  }
  int fd = sys_openat2(root_fd, rel.c_str(), O_PATH | O_CLOEXEC,
                       RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (fd >= 0) return UniqueFd(fd);
  if (errno != ENOENT || create == Create::No) return errno_error("open {} in the rootfs", path);
  std::string parent = std::filesystem::path("/" + rel).parent_path().string();
  std::string name = std::filesystem::path(rel).filename().string();
  auto pfd = TRY(open_in_root(root_fd, parent, Create::Dir));
  if (create == Create::Dir) {
    if (::mkdirat(pfd.get(), name.c_str(), 0755) < 0 && errno != EEXIST)
      return errno_error("mkdir {}", path);
  } else {
    int f = ::openat(pfd.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
                     0644);
    if (f < 0 && errno != EEXIST) return errno_error("create {}", path);
    if (f >= 0) ::close(f);
  }
  // The parent's fd was resolved safely; open the new entry without following links.
  fd = ::openat(pfd.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno_error("open {}", path);
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
    ::close(fd);
    return make_error("{} is a symlink created while being set up", path);
  }
  return UniqueFd(fd);
}

Result<void> setup_mounts(const RootfsContext& ctx) {
  const oci::Spec& spec = *ctx.spec;
  // Nothing we mount may propagate back to the host.
  if (!ctx.shared_mountns && ::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
    return errno_error("make / rslave");
  // pivot_root needs the rootfs to be a mount point.
  if (::mount(ctx.rootfs.c_str(), ctx.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
    return errno_error("bind rootfs {}", ctx.rootfs);
  UniqueFd root(::open(ctx.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return errno_error("open rootfs {}", ctx.rootfs);
  for (size_t i = 0; i < spec.mounts.size(); i++) {
    const oci::Mount* m = &spec.mounts[i];
    oci::Mount absolute;
    if (!m->destination.empty() && m->destination[0] != '/') {
      // runc warns and mounts it relative to the rootfs; so does berth-oci.
      log::warn("mounts[{}].destination {}: not an absolute path, taken as /{}", i, m->destination,
                m->destination);
      absolute = *m;
      absolute.destination = "/" + m->destination;
      m = &absolute;
    }
    if (auto r = do_mount(ctx, root.get(), *m, i); !r)
      return std::move(r).error().wrap(fmt::format("mounts[{}]", i));
  }
  TRY(setup_dev(ctx, root.get()));
  return ok();
}

Result<void> enter_rootfs(const std::string& rootfs, Enter how) {
  if (how == Enter::Chroot) {
    if (::chdir(rootfs.c_str()) < 0) return errno_error("chdir {}", rootfs);
    if (::chroot(".") < 0) return errno_error("chroot {}", rootfs);
    if (::chdir("/") < 0) return errno_error("chdir /");
    return ok();
  }
  if (how == Enter::MoveRoot) {
    if (::chdir(rootfs.c_str()) < 0) return errno_error("chdir {}", rootfs);
    if (::mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) < 0)
      return errno_error("move rootfs to /");
    if (::chroot(".") < 0) return errno_error("chroot");
    if (::chdir("/") < 0) return errno_error("chdir /");
    return ok();
  }
  UniqueFd oldroot(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  UniqueFd newroot(::open(rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!oldroot || !newroot) return errno_error("open roots for pivot_root");
  if (::fchdir(newroot.get()) < 0) return errno_error("fchdir rootfs");
  if (::syscall(SYS_pivot_root, ".", ".") < 0) return errno_error("pivot_root {}", rootfs);
  // The old root now sits under the new one; detach it without letting the
  // unmount propagate anywhere.
  if (::fchdir(oldroot.get()) < 0) return errno_error("fchdir old root");
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
    return errno_error("make old root rslave");
  if (::umount2(".", MNT_DETACH) < 0) return errno_error("detach old root");
  if (::chdir("/") < 0) return errno_error("chdir /");
  return ok();
}

void detach_mounts_below(const std::string& rootfs) {
  auto text = read_file("/proc/self/mountinfo");
  if (!text || rootfs.empty() || rootfs == "/") return;
  std::vector<std::string> points;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t end = text->find('\n', pos);
    if (end == std::string::npos) end = text->size();
    std::string line = text->substr(pos, end - pos);
    pos = end + 1;
    // Field 5 is the mount point, with space, tab, newline and backslash octal-escaped.
    size_t f = 0;
    for (int i = 0; i < 4 && f != std::string::npos; i++) f = line.find(' ', f + 1);
    if (f == std::string::npos) continue;
    size_t e = line.find(' ', f + 1);
    std::string mp = unescape_mountinfo(
        line.substr(f + 1, e == std::string::npos ? std::string::npos : e - f - 1));
    if (mp == rootfs || mp.rfind(rootfs + "/", 0) == 0) points.push_back(mp);
  }
  // Mountinfo lists parents before children: undo in reverse.
  for (auto it = points.rbegin(); it != points.rend(); ++it)
    if (::umount2(it->c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL &&
        errno != ENOENT)
      log::warn("detach {}: {}", *it, strerror(errno));
}

Result<void> finish_rootfs(const oci::Spec& spec, int root_fd, bool locked) {
  UniqueFd root(::fcntl(root_fd, F_DUPFD_CLOEXEC, 3));
  if (!root) return errno_error("dup rootfs fd");
  if (spec.linux) {
    int masked_dir_src = -1;
    UniqueFd masked_holder;
    for (auto& p : spec.linux->masked_paths) {
      int fd = sys_openat2(root.get(), relative(p).c_str(), O_PATH | O_CLOEXEC,
                           RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH);
      if (fd < 0) {
        if (errno == ENOENT) continue;
        if (errno == ELOOP) return make_error("masked path {} must not be a symlink", p);
        return errno_error("open masked path {}", p);
      }
      UniqueFd target(fd);
      if (is_dir_fd(target.get())) {
        if (masked_dir_src < 0) {
          if (::mount("tmpfs", fd_path(target.get()).c_str(), "tmpfs", MS_RDONLY,
                      "size=0,mode=755") < 0)
            return errno_error("mask {}", p);
          masked_holder.reset(sys_openat2(root.get(), relative(p).c_str(), O_PATH | O_CLOEXEC,
                                          RESOLVE_NO_SYMLINKS));
          masked_dir_src = masked_holder.get();
        } else if (::mount(fd_path(masked_dir_src).c_str(), fd_path(target.get()).c_str(), nullptr,
                           MS_BIND, nullptr) < 0) {
          return errno_error("mask {}", p);
        }
      } else {
        // Bind a verified /dev/null (CVE-2025-31133: /dev/null could be a symlink or something
        // else).
        UniqueFd null(sys_openat2(root.get(), "dev/null", O_PATH | O_CLOEXEC,
                                  RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH));
        struct stat st;
        if (!null || ::fstat(null.get(), &st) < 0 || !S_ISCHR(st.st_mode) ||
            ::major(st.st_rdev) != 1 || ::minor(st.st_rdev) != 3)
          return make_error("cannot mask {}: /dev/null is not the null device", p);
        if (::mount(fd_path(null.get()).c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND,
                    nullptr) < 0)
          return errno_error("mask {}", p);
        if (locked) {
          UniqueFd mask(sys_openat2(root.get(), relative(p).c_str(), O_PATH | O_CLOEXEC,
                                    RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH));
          struct mount_attr attr = {};
          attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
          if (!mask || sys_mount_setattr(mask.get(), "", AT_EMPTY_PATH, &attr) < 0)
            return errno_error("make the mask of {} read-only", p);
        }
      }
    }
    for (auto& p : spec.linux->readonly_paths) {
      int fd = sys_openat2(root.get(), relative(p).c_str(), O_PATH | O_CLOEXEC,
                           RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH);
      if (fd < 0) {
        if (errno == ENOENT) continue;
        if (errno == ELOOP) return make_error("readonly path {} must not be a symlink", p);
        return errno_error("open readonly path {}", p);
      }
      UniqueFd target(fd);
      if (::mount(fd_path(target.get()).c_str(), fd_path(target.get()).c_str(), nullptr,
                  MS_BIND | MS_REC, nullptr) < 0)
        return errno_error("bind readonly path {}", p);
      UniqueFd mounted(sys_openat2(root.get(), relative(p).c_str(), O_PATH | O_CLOEXEC,
                                   RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH));
      struct mount_attr attr = {};
      attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
      if (!mounted || sys_mount_setattr(mounted.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
        return errno_error("make {} read-only", p);
    }
  }
  // mount_setattr changes only the attributes named, so flags the kernel
  // locks (nosuid/nodev/noexec in a user namespace) stay as they are.
  struct mount_attr attr = {};
  if (spec.root.readonly) attr.attr_set |= MOUNT_ATTR_RDONLY;
  if (locked) attr.attr_set |= MOUNT_ATTR_NODEV;
  if (attr.attr_set && sys_mount_setattr(root.get(), "", AT_EMPTY_PATH, &attr) < 0)
    return errno_error("make / {}", spec.root.readonly ? "read-only" : "nodev");
  return ok();
}

Result<void> set_rootfs_propagation(const oci::Spec& spec) {
  if (!spec.linux) return ok();
  if (unsigned long prop = propagation_flag(spec.linux->rootfs_propagation)) {
    if (::mount(nullptr, "/", nullptr, prop, nullptr) < 0)
      return errno_error("set rootfs propagation {}", spec.linux->rootfs_propagation);
  } else if (!spec.linux->rootfs_propagation.empty()) {
    return make_error("linux.rootfsPropagation: unknown value \"{}\"",
                      spec.linux->rootfs_propagation);
  }
  return ok();
}

}  // namespace berth::engine
