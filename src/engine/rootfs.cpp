// The mounts of config.json, in order, below the rootfs (see rootfs.h).
#include "engine/rootfs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <filesystem>

#include "base/log.h"
#include "base/parse.h"
#include "cgroup/cgroup.h"
#include "engine/idmap.h"
#include "engine/mount_options.h"
#include "engine/rootfs_internal.h"

namespace berth::engine {

namespace internal {

std::string fd_path(int fd) {
  return "/proc/self/fd/" + std::to_string(fd);
}

std::string relative(const std::string& p) {
  size_t i = 0;
  while (i < p.size() && p[i] == '/') i++;
  return p.substr(i);
}

bool is_dir_fd(Sys& sys, int fd) {
  struct stat st;
  return sys.fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
}

namespace {

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

}  // namespace

Result<void> set_mount_attrs(Sys& sys, int root_fd, const std::string& dest, const MountFlags& mf,
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
  auto fd = TRY(open_in_root(root_fd, dest, Create::No, sys));
  struct mount_attr attr = {};
  attr.attr_set = set;
  attr.attr_clr = clr;
  if (sys.mount_setattr(fd.get(), "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr) < 0)
    return errno_error("set mount flags on {}", dest);
  return ok();
}

}  // namespace internal

namespace {

using internal::fd_path;
using internal::is_dir_fd;
using internal::relative;
using internal::set_mount_attrs;

// Refuses a destination that is a symlink at any point (for /proc, /sys).
Result<void> refuse_symlink(Sys& sys, int root_fd, const std::string& path, const char* what) {
  int fd = sys.openat2(root_fd, relative(path).c_str(), O_PATH | O_CLOEXEC,
                       RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH);
  if (fd < 0) {
    if (errno == ELOOP) return make_error("{} {} must not be a symlink", what, path);
    if (errno == ENOENT) return ok();
    return errno_error("open {}", path);
  }
  ::close(fd);
  return ok();
}

Result<void> mount_cgroup2(Sys& sys, const RootfsContext& ctx, int root_fd, const oci::Mount& m,
                           const MountFlags& mf, const cgroup::Layout& layout) {
  auto dest_fd = TRY(open_in_root(root_fd, m.destination, Create::Dir, sys));
  if (!ctx.cgroup && ctx.cgroupns) {
    if (sys.mount("cgroup2", fd_path(dest_fd.get()).c_str(), "cgroup2", mf.flags, nullptr) < 0)
      return errno_error("mount cgroup2 on {}", m.destination);
  } else if (ctx.cgroup) {
    auto& paths = ctx.cgroup->paths();
    auto it = paths.find(layout.unified);
    if (it == paths.end()) return make_error("no unified cgroup path to bind on {}", m.destination);
    if (sys.mount(it->second.c_str(), fd_path(dest_fd.get()).c_str(), nullptr, MS_BIND | MS_REC,
                  nullptr) < 0)
      return errno_error("bind cgroup on {}", m.destination);
    TRY(set_mount_attrs(sys, root_fd, m.destination, mf, true));
  }
  return ok();
}

Result<void> mount_cgroup(Sys& sys, const RootfsContext& ctx, int root_fd, const oci::Mount& m,
                          const MountFlags& mf) {
  auto layout = TRY(cgroup::detect());
  if (layout.mode == cgroup::Mode::Unified) return mount_cgroup2(sys, ctx, root_fd, m, mf, layout);
  // v1 or hybrid: a tmpfs holding one mount per hierarchy, like runc.
  auto dest_fd = TRY(open_in_root(root_fd, m.destination, Create::Dir, sys));
  if (sys.mount("tmpfs", fd_path(dest_fd.get()).c_str(), "tmpfs", mf.flags & ~MS_RDONLY,
                "mode=755") < 0)
    return errno_error("mount tmpfs on {}", m.destination);
  auto mount_one = [&](const std::string& host_mp, const std::string& fstype,
                       const std::string& data) -> Result<void> {
    std::string name = std::filesystem::path(host_mp).filename().string();
    std::string sub = m.destination + "/" + name;
    auto sfd = TRY(open_in_root(root_fd, sub, Create::Dir, sys));
    // The container's own cgroup dirs are bound when berth made them (no
    // cgroup namespace needed yet); a fresh mount only without cgroups.
    bool fresh = !ctx.cgroup && ctx.cgroupns && !ctx.userns;
    if (fresh) {
      if (sys.mount("cgroup", fd_path(sfd.get()).c_str(), fstype.c_str(), mf.flags,
                    data.empty() ? nullptr : data.c_str()) == 0)
        return ok();
    }
    std::string src = host_mp;
    if (ctx.cgroup) {
      auto it = ctx.cgroup->paths().find(host_mp);
      if (it != ctx.cgroup->paths().end()) src = it->second;
    }
    if (sys.mount(src.c_str(), fd_path(sfd.get()).c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
      return errno_error("bind {} on {}", src, sub);
    return set_mount_attrs(sys, root_fd, sub, mf, true);
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
    TRY(set_mount_attrs(sys, root_fd, m.destination, ro, false));
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

// An idmapped tree the runtime made for this mount, moved into place.
Result<void> move_idmapped(Sys& sys, int root_fd, const oci::Mount& m, const MountFlags& mf,
                           int tree) {
  struct stat st;
  bool dir = sys.fstat(tree, &st) == 0 && S_ISDIR(st.st_mode);
  auto dest = TRY(open_in_root(root_fd, m.destination, dir ? Create::Dir : Create::File, sys));
  TRY_CTX(attach_tree(tree, dest.get(), "", sys), "move idmapped mount onto {}", m.destination);
  return set_mount_attrs(sys, root_fd, m.destination, mf, mf.recursive_idmap || mf.recursive);
}

Result<void> bind_mount(Sys& sys, const RootfsContext& ctx, int root_fd, const oci::Mount& m,
                        const MountFlags& mf) {
  std::string src = m.source;
  if (!src.empty() && src[0] != '/') src = ctx.bundle + "/" + src;
  int sfd = sys.open(src.c_str(), O_PATH | O_CLOEXEC);
  if (sfd < 0) return errno_error("bind mount source {}", src);
  UniqueFd source(sfd);
  bool dir = is_dir_fd(sys, source.get());
  auto dest = TRY(open_in_root(root_fd, m.destination, dir ? Create::Dir : Create::File, sys));
  if (is_dir_fd(sys, dest.get()) != dir)
    return make_error("cannot bind {} {} onto {} {}", dir ? "directory" : "file", src,
                      dir ? "file" : "directory", m.destination);
  if (sys.mount(fd_path(source.get()).c_str(), fd_path(dest.get()).c_str(), nullptr,
                MS_BIND | (mf.recursive ? MS_REC : 0), nullptr) < 0)
    return errno_error("bind mount {} on {}", src, m.destination);
  return set_mount_attrs(sys, root_fd, m.destination, mf, mf.recursive);
}

// sysfs in a user namespace: one without its own network namespace cannot
// mount it; then the host's is bound, read-only, as runc does rootless.
Result<void> sysfs_in_userns(Sys& sys, int root_fd, const oci::Mount& m, const MountFlags& mf) {
  auto dest = TRY(open_in_root(root_fd, m.destination, Create::Dir, sys));
  const char* data = mf.data.empty() ? nullptr : mf.data.c_str();
  if (sys.mount("sysfs", fd_path(dest.get()).c_str(), "sysfs", mf.flags, data) == 0) return ok();
  if (sys.mount("/sys", fd_path(dest.get()).c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
    return errno_error("bind /sys on {}", m.destination);
  MountFlags ro = mf;
  ro.flags |= MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  return set_mount_attrs(sys, root_fd, m.destination, ro, true);
}

// A new filesystem instance (proc, tmpfs, devpts, mqueue, ...).
Result<void> new_mount(Sys& sys, const RootfsContext& ctx, int root_fd, const oci::Mount& m,
                       MountFlags mf) {
  auto dest = TRY(open_in_root(root_fd, m.destination, Create::Dir, sys));
  if (ctx.uid_maps && m.type != "proc" && m.type != "sysfs" && m.type != "mqueue")
    mf.data = TRY(host_ids_in_options(ctx, mf.data));
  const char* data = mf.data.empty() ? nullptr : mf.data.c_str();
  if (sys.mount(m.source.empty() ? m.type.c_str() : m.source.c_str(), fd_path(dest.get()).c_str(),
                m.type.c_str(), mf.flags, data) < 0) {
    return errno_error("mount {} ({}) on {} with options {}", m.source, m.type, m.destination,
                       mf.data.empty() ? "(none)" : mf.data);
  }
  if (m.destination == "/proc" || m.type == "proc") {
    struct statfs sf;
    auto check = TRY(open_in_root(root_fd, m.destination, Create::No, sys));
    if (sys.fstatfs(check.get(), &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
      return make_error("{} is not of type proc after mounting", m.destination);
  }
  return ok();
}

Result<void> do_mount(Sys& sys, const RootfsContext& ctx, int root_fd, const oci::Mount& m,
                      size_t index) {
  MountFlags mf = parse_mount_options(m.options);
  if (auto it = ctx.mount_fds.find(index); it != ctx.mount_fds.end())
    return move_idmapped(sys, root_fd, m, mf, it->second);
  if (m.type == "bind") mf.bind = true;
  if (m.destination.empty() || m.destination[0] != '/')
    return make_error("mount destination {} is not an absolute path", m.destination);
  if (m.type == "cgroup2") {
    auto fd = TRY(open_in_root(root_fd, m.destination, Create::Dir, sys));
    if (sys.mount("cgroup2", fd_path(fd.get()).c_str(), "cgroup2", mf.flags, nullptr) < 0)
      return errno_error("mount cgroup2 on {}", m.destination);
    return ok();
  }
  if (m.type == "cgroup") return mount_cgroup(sys, ctx, root_fd, m, mf);
  bool is_proc = m.destination == "/proc" || m.type == "proc";
  bool is_sys = m.destination == "/sys" || m.type == "sysfs";
  if (is_proc || is_sys) TRY(refuse_symlink(sys, root_fd, m.destination, "mount destination"));
  if (m.destination == "/proc" && m.type != "proc") {
    // Only procfs may sit at /proc (CVE-2019-16884).
    struct statfs sf;
    if (!mf.bind || sys.statfs(m.source.c_str(), &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
      return make_error("/proc cannot be mounted because {} is not of type proc", m.source);
  }
  if (mf.bind)
    TRY(bind_mount(sys, ctx, root_fd, m, mf));
  else if (is_sys && ctx.userns && m.type == "sysfs")
    return sysfs_in_userns(sys, root_fd, m, mf);
  else
    TRY(new_mount(sys, ctx, root_fd, m, mf));
  if (mf.propagation) {
    auto fd = TRY(open_in_root(root_fd, m.destination, Create::No, sys));
    if (sys.mount(nullptr, fd_path(fd.get()).c_str(), nullptr, mf.propagation, nullptr) < 0)
      return errno_error("set propagation of {}", m.destination);
  }
  return ok();
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

Result<UniqueFd> open_in_root(int root_fd, const std::string& path, Create create, Sys& sys) {
  std::string rel = relative(path);
  if (rel.empty()) {
    int fd = sys.dup_cloexec(root_fd);
    if (fd < 0) return errno_error("dup rootfs fd");
    return UniqueFd(fd);
  }
  int fd = sys.openat2(root_fd, rel.c_str(), O_PATH | O_CLOEXEC,
                       RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (fd >= 0) return UniqueFd(fd);
  if (errno != ENOENT || create == Create::No) return errno_error("open {} in the rootfs", path);
  std::string parent = std::filesystem::path("/" + rel).parent_path().string();
  std::string name = std::filesystem::path(rel).filename().string();
  auto pfd = TRY(open_in_root(root_fd, parent, Create::Dir, sys));
  if (create == Create::Dir) {
    if (sys.mkdirat(pfd.get(), name.c_str(), 0755) < 0 && errno != EEXIST)
      return errno_error("mkdir {}", path);
  } else {
    int f = sys.openat(pfd.get(), name.c_str(),
                       O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (f < 0 && errno != EEXIST) return errno_error("create {}", path);
    if (f >= 0) ::close(f);
  }
  // The parent's fd was resolved safely; open the new entry without following links.
  fd = sys.openat(pfd.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fd < 0) return errno_error("open {}", path);
  struct stat st;
  if (sys.fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
    ::close(fd);
    return make_error("{} is a symlink created while being set up", path);
  }
  return UniqueFd(fd);
}

Result<void> setup_mounts(const RootfsContext& ctx, Sys& sys) {
  const oci::Spec& spec = *ctx.spec;
  // Nothing we mount may propagate back to the host.
  if (!ctx.shared_mountns && sys.mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
    return errno_error("make / rslave");
  // pivot_root needs the rootfs to be a mount point.
  if (sys.mount(ctx.rootfs.c_str(), ctx.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
    return errno_error("bind rootfs {}", ctx.rootfs);
  UniqueFd root(sys.open(ctx.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
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
    if (auto r = do_mount(sys, ctx, root.get(), *m, i); !r)
      return std::move(r).error().wrap(fmt::format("mounts[{}]", i));
  }
  TRY(internal::setup_dev(sys, ctx, root.get()));
  return ok();
}

}  // namespace berth::engine
