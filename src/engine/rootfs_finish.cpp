// The rootfs after its mounts: entering it (pivot_root, MS_MOVE or chroot),
// the masked and readonly paths, the readonly root and its propagation.
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

#include "base/files.h"
#include "base/log.h"
#include "base/mountinfo.h"
#include "engine/rootfs.h"
#include "engine/rootfs_internal.h"

namespace berth::engine {
namespace {

using internal::fd_path;
using internal::is_dir_fd;
using internal::relative;

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

// p below root, refusing a symlink anywhere on the way.
int open_beneath(Sys& sys, int root, const std::string& p) {
  return sys.openat2(root, relative(p).c_str(), O_PATH | O_CLOEXEC,
                     RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH);
}

// A masked file gets a verified /dev/null bound over it (CVE-2025-31133:
// /dev/null could be a symlink or something else).
Result<void> mask_file(Sys& sys, int root, const std::string& p, int target, bool locked) {
  UniqueFd null(open_beneath(sys, root, "/dev/null"));
  struct stat st;
  if (!null || sys.fstat(null.get(), &st) < 0 || !S_ISCHR(st.st_mode) || ::major(st.st_rdev) != 1 ||
      ::minor(st.st_rdev) != 3)
    return make_error("cannot mask {}: /dev/null is not the null device", p);
  if (sys.mount(fd_path(null.get()).c_str(), fd_path(target).c_str(), nullptr, MS_BIND, nullptr) <
      0)
    return errno_error("mask {}", p);
  if (locked) {
    UniqueFd mask(open_beneath(sys, root, p));
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
    if (!mask || sys.mount_setattr(mask.get(), "", AT_EMPTY_PATH, &attr) < 0)
      return errno_error("make the mask of {} read-only", p);
  }
  return ok();
}

// A read-only empty tmpfs over the first masked directory, bound over the
// others.
Result<void> mask_paths(Sys& sys, int root, const std::vector<std::string>& paths, bool locked) {
  int masked_dir_src = -1;
  UniqueFd masked_holder;
  for (auto& p : paths) {
    int fd = open_beneath(sys, root, p);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      if (errno == ELOOP) return make_error("masked path {} must not be a symlink", p);
      return errno_error("open masked path {}", p);
    }
    UniqueFd target(fd);
    if (!is_dir_fd(sys, target.get())) {
      TRY(mask_file(sys, root, p, target.get(), locked));
    } else if (masked_dir_src < 0) {
      if (sys.mount("tmpfs", fd_path(target.get()).c_str(), "tmpfs", MS_RDONLY, "size=0,mode=755") <
          0)
        return errno_error("mask {}", p);
      masked_holder.reset(
          sys.openat2(root, relative(p).c_str(), O_PATH | O_CLOEXEC, RESOLVE_NO_SYMLINKS));
      masked_dir_src = masked_holder.get();
    } else if (sys.mount(fd_path(masked_dir_src).c_str(), fd_path(target.get()).c_str(), nullptr,
                         MS_BIND, nullptr) < 0) {
      return errno_error("mask {}", p);
    }
  }
  return ok();
}

Result<void> readonly_paths(Sys& sys, int root, const std::vector<std::string>& paths) {
  for (auto& p : paths) {
    int fd = open_beneath(sys, root, p);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      if (errno == ELOOP) return make_error("readonly path {} must not be a symlink", p);
      return errno_error("open readonly path {}", p);
    }
    UniqueFd target(fd);
    if (sys.mount(fd_path(target.get()).c_str(), fd_path(target.get()).c_str(), nullptr,
                  MS_BIND | MS_REC, nullptr) < 0)
      return errno_error("bind readonly path {}", p);
    UniqueFd mounted(open_beneath(sys, root, p));
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    if (!mounted || sys.mount_setattr(mounted.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
      return errno_error("make {} read-only", p);
  }
  return ok();
}

}  // namespace

Result<void> enter_rootfs(const std::string& rootfs, Enter how, Sys& sys) {
  if (how == Enter::Chroot) {
    if (sys.chdir(rootfs.c_str()) < 0) return errno_error("chdir {}", rootfs);
    if (sys.chroot(".") < 0) return errno_error("chroot {}", rootfs);
    if (sys.chdir("/") < 0) return errno_error("chdir /");
    return ok();
  }
  if (how == Enter::MoveRoot) {
    if (sys.chdir(rootfs.c_str()) < 0) return errno_error("chdir {}", rootfs);
    if (sys.mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) < 0)
      return errno_error("move rootfs to /");
    if (sys.chroot(".") < 0) return errno_error("chroot");
    if (sys.chdir("/") < 0) return errno_error("chdir /");
    return ok();
  }
  UniqueFd oldroot(sys.open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  UniqueFd newroot(sys.open(rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!oldroot || !newroot) return errno_error("open roots for pivot_root");
  if (sys.fchdir(newroot.get()) < 0) return errno_error("fchdir rootfs");
  if (sys.pivot_root(".", ".") < 0) return errno_error("pivot_root {}", rootfs);
  // The old root now sits under the new one; detach it without letting the
  // unmount propagate anywhere.
  if (sys.fchdir(oldroot.get()) < 0) return errno_error("fchdir old root");
  if (sys.mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
    return errno_error("make old root rslave");
  if (sys.umount2(".", MNT_DETACH) < 0) return errno_error("detach old root");
  if (sys.chdir("/") < 0) return errno_error("chdir /");
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

Result<void> finish_rootfs(const oci::Spec& spec, int root_fd, bool locked, Sys& sys) {
  UniqueFd root(sys.dup_cloexec(root_fd));
  if (!root) return errno_error("dup rootfs fd");
  if (spec.linux) {
    TRY(mask_paths(sys, root.get(), spec.linux->masked_paths, locked));
    TRY(readonly_paths(sys, root.get(), spec.linux->readonly_paths));
  }
  // mount_setattr changes only the attributes named, so flags the kernel
  // locks (nosuid/nodev/noexec in a user namespace) stay as they are.
  struct mount_attr attr = {};
  if (spec.root.readonly) attr.attr_set |= MOUNT_ATTR_RDONLY;
  if (locked) attr.attr_set |= MOUNT_ATTR_NODEV;
  if (attr.attr_set && sys.mount_setattr(root.get(), "", AT_EMPTY_PATH, &attr) < 0)
    return errno_error("make / {}", spec.root.readonly ? "read-only" : "nodev");
  return ok();
}

Result<void> set_rootfs_propagation(const oci::Spec& spec, Sys& sys) {
  if (!spec.linux) return ok();
  if (unsigned long prop = propagation_flag(spec.linux->rootfs_propagation)) {
    if (sys.mount(nullptr, "/", nullptr, prop, nullptr) < 0)
      return errno_error("set rootfs propagation {}", spec.linux->rootfs_propagation);
  } else if (!spec.linux->rootfs_propagation.empty()) {
    return make_error("linux.rootfsPropagation: unknown value \"{}\"",
                      spec.linux->rootfs_propagation);
  }
  return ok();
}

}  // namespace berth::engine
