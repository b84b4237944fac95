// /dev in the rootfs: the default nodes, its symlinks and linux.devices
// (mknod, or a bind of the host's node in a user namespace).
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>

#include "engine/rootfs_internal.h"

namespace berth::engine::internal {
namespace {

struct DefaultDevice {
  const char* path;
  unsigned major, minor;
};
constexpr DefaultDevice kDefaultDevices[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

struct Node {
  std::string path;
  char type;  // 'c', 'b' or 'p'
  unsigned major, minor;
  mode_t mode;
  uid_t uid;
  gid_t gid;
};

Result<void> make_device(Sys& sys, const RootfsContext& ctx, int root_fd, const Node& n) {
  std::string parent = std::filesystem::path(n.path).parent_path().string();
  auto dir = TRY(open_in_root(root_fd, parent, Create::Dir, sys));
  std::string name = std::filesystem::path(n.path).filename().string();
  mode_t ftype = n.type == 'b' ? S_IFBLK : n.type == 'p' ? S_IFIFO : S_IFCHR;
  sys.unlinkat(dir.get(), name.c_str(), 0);
  if (!ctx.userns && sys.mknodat(dir.get(), name.c_str(), ftype | (n.mode & 07777),
                                 makedev(n.major, n.minor)) == 0) {
    // mknod is subject to umask; set the mode exactly.
    UniqueFd f(sys.openat(dir.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC, 0));
    if (f) {
      sys.fchmodat(dir.get(), name.c_str(), n.mode & 07777, 0);
      sys.fchownat(dir.get(), name.c_str(), n.uid, n.gid, AT_SYMLINK_NOFOLLOW);
    }
    return ok();
  }
  if (n.type == 'p') return errno_error("mknod {}", n.path);
  // No mknod in a user namespace: bind the host's node onto an empty file.
  std::string host = fmt::format("/dev/{}", name);
  struct stat st;
  if (sys.stat(host.c_str(), &st) < 0 || n.major != ::major(st.st_rdev) ||
      n.minor != ::minor(st.st_rdev))
    return make_error("cannot create device {} ({}:{}) and no matching host node to bind", n.path,
                      n.major, n.minor);
  UniqueFd f(sys.openat(dir.get(), name.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0));
  if (!f) return errno_error("create {}", n.path);
  if (sys.mount(host.c_str(), fd_path(f.get()).c_str(), nullptr, MS_BIND, nullptr) < 0)
    return errno_error("bind {} on {}", host, n.path);
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

Result<void> default_dev(Sys& sys, const RootfsContext& ctx, int root_fd) {
  const oci::Spec& spec = *ctx.spec;
  for (auto& d : kDefaultDevices) {
    bool configured = false;
    if (spec.linux)
      for (auto& c : spec.linux->devices) configured |= c.path == d.path;
    if (!configured)
      TRY(make_device(sys, ctx, root_fd, {d.path, 'c', d.major, d.minor, 0666, 0, 0}));
  }
  auto dev = TRY(open_in_root(root_fd, "/dev", Create::Dir, sys));
  const std::pair<const char*, const char*> links[] = {
      {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
      {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},         {"core", "/proc/kcore"}};
  for (auto& [name, target] : links) {
    if (sys.symlinkat(target, dev.get(), name) < 0 && errno != EEXIST)
      return errno_error("symlink /dev/{}", name);
  }
  return ok();
}

}  // namespace

Result<void> setup_dev(Sys& sys, const RootfsContext& ctx, int root_fd) {
  const oci::Spec& spec = *ctx.spec;
  if (!dev_is_bind(spec)) TRY(default_dev(sys, ctx, root_fd));
  if (!spec.linux) return ok();
  for (auto& d : spec.linux->devices) {
    // Anywhere in the rootfs, as runc and crun make them (resolved inside it).
    if (d.path.empty() || d.path[0] != '/')
      return make_error("device path \"{}\" is not absolute", d.path);
    if (d.type.size() != 1 || std::string("cbup").find(d.type[0]) == std::string::npos)
      return make_error("device {}: unknown type \"{}\"", d.path, d.type);
    char t = d.type[0] == 'u' ? 'c' : d.type[0];
    TRY(make_device(sys, ctx, root_fd,
                    {d.path, t, static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor),
                     d.file_mode.value_or(0666), d.uid.value_or(0), d.gid.value_or(0)}));
  }
  return ok();
}

}  // namespace berth::engine::internal
