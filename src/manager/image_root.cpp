// The root of a container on an image: the image's tree as the read-only
// lower layer of an overlay whose upper layer is the container's own, kept
// under its state directory (see private_root.h).
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "base/clone_vm.h"
#include "base/fdpass.h"
#include "base/files.h"
#include "base/unique_fd.h"
#include "engine/mount_options.h"
#include "manager/private_root.h"

namespace berth::manager {

Result<UniqueFd> hold_image(const decl::Paths& paths, const std::string& image) {
  std::string dir = paths.images() + "/" + image;
  for (int attempt = 0; attempt < 10; attempt++) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT)
        return make_error(
            "no image \"{}\" in {} (berth image import adds one; one declared in [images] is "
            "built by `berth image build {}` or `berth apply`)",
            image, paths.images(), image);
      return errno_error("open {}", dir);
    }
    int r;
    while ((r = ::flock(fd.get(), LOCK_SH)) < 0 && errno == EINTR) {
    }
    if (r < 0) return errno_error("lock {}", dir);
    // Replaced (import --force) between the open and the lock: take the new one.
    struct stat held, now;
    if (::fstat(fd.get(), &held) == 0 && ::stat(dir.c_str(), &now) == 0 &&
        held.st_ino == now.st_ino && held.st_dev == now.st_dev)
      return fd;
  }
  return make_error("image \"{}\" keeps being replaced", image);
}

Result<std::string> ensure_layer(const decl::Paths& paths, const decl::Container& c) {
  std::string layer = paths.container_layer(c.name);
  if (path_exists(layer + "/upper") && path_exists(layer + "/work")) return layer;
  TRY(mkdir_p(paths.container_state(c.name), 0755));
  // Made whole beside it, then renamed: a crash leaves no half layer.
  std::string tmp = layer + ".tmp";
  (void)remove_tree(tmp);
  std::string upper = tmp + "/upper", work = tmp + "/work";
  for (auto& d : {tmp, upper, work})
    if (::mkdir(d.c_str(), 0755) < 0) return errno_error("mkdir {}", d);
  // The merged root takes the upper dir's owner and mode: the image's.
  std::string lower = paths.image_rootfs(c.image);
  struct stat st;
  if (::stat(lower.c_str(), &st) < 0) return errno_error("stat {}", lower);
  if (::chown(upper.c_str(), st.st_uid, st.st_gid) < 0 ||
      ::chmod(upper.c_str(), st.st_mode & 07777) < 0)
    return errno_error("set the owner of {}", upper);
  if (path_exists(layer)) TRY(remove_tree(layer));  // half of one (no upper or work)
  if (::rename(tmp.c_str(), layer.c_str()) < 0) return errno_error("rename {}", tmp);
  return layer;
}

namespace {

// What the mounting child reports: its errno and the step, and the fd.
struct ChildReport {
  int err = 0;
  char what[200] = {};
};

[[noreturn]] BERTH_NO_ASAN void child_fail(int sock, const char* step, int fs) {
  ChildReport rep;
  rep.err = errno;
  int n = std::snprintf(rep.what, sizeof rep.what, "%s", step);
  // The filesystem's own message says more than the errno ("overlayfs: ...").
  if (fs >= 0 && n >= 0 && static_cast<size_t>(n) + 3 < sizeof rep.what) {
    rep.what[n] = ':';
    rep.what[n + 1] = ' ';
    ssize_t m = ::read(fs, rep.what + n + 2, sizeof rep.what - n - 3);
    rep.what[m > 0 ? n + 2 + m : n] = '\0';
  }
  (void)send_with_fd(sock, &rep, sizeof rep, -1);
  _exit(1);
}

// The overlay's options set on an fsopen context (by the child).
bool configure(int fs, const std::string& lower, const std::string& upper,
               const std::string& work) {
  auto set = [&](const char* k, const std::string& v) {
    return ::syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, k, v.c_str(), 0) == 0;
  };
  return set("lowerdir", lower) && set("upperdir", upper) && set("workdir", work) &&
         ::syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "userxattr", nullptr, 0) == 0;
}

// What the child that mounts an overlay in a user namespace is given.
struct OverlayChild {
  int sock;
  int userns;
  const std::string &lowerdir, &upper, &work;  // the caller's, alive until clone returns
};

BERTH_NO_ASAN int mount_overlay_in_userns(void* arg) {
  auto& oc = *static_cast<OverlayChild*>(arg);
  int s = oc.sock;
  if (::setns(oc.userns, CLONE_NEWUSER) < 0) child_fail(s, "enter the user namespace", -1);
  if (::unshare(CLONE_NEWNS) < 0) child_fail(s, "unshare a mount namespace", -1);
  // The raw calls: glibc's would make every thread of the caller's change too.
  if (::syscall(SYS_setresgid, 0, 0, 0) < 0 || ::syscall(SYS_setresuid, 0, 0, 0) < 0)
    child_fail(s, "become root", -1);
  int fs = static_cast<int>(::syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC));
  if (fs < 0) child_fail(s, "fsopen overlay", -1);
  if (!configure(fs, oc.lowerdir, oc.upper, oc.work)) child_fail(s, "configure the overlay", fs);
  if (::syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
    child_fail(s, "create the overlay", fs);
  int m = static_cast<int>(::syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0));
  if (m < 0) child_fail(s, "fsmount", fs);
  ChildReport rep;
  _exit(send_with_fd(s, &rep, sizeof rep, m) < 0 ? 1 : 0);
}

}  // namespace

PendingOverlay::~PendingOverlay() {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

Result<PendingOverlay> begin_layered_root(const std::string& lower, const std::string& layer,
                                          const std::string& root, int userns) {
  TRY(mkdir_p(root, 0755));
  PendingOverlay p;
  p.root = root;
  std::string upper = layer + "/upper", work = layer + "/work";
  // user.overlay.* xattrs either way: the layer on disk is the same with and
  // without a user namespace (which has no trusted.* ones).
  if (userns < 0) {
    std::string opts =
        fmt::format("lowerdir={},upperdir={},workdir={},userxattr", engine::overlay_escape(lower),
                    engine::overlay_escape(upper), engine::overlay_escape(work));
    if (::mount("overlay", root.c_str(), "overlay", 0, opts.c_str()) < 0)
      return errno_error("mount the overlay of the image on {}", root);
    return p;
  }
  // Mounted from inside the container's user namespace as its root, so that
  // what the overlay makes in the upper layer (its work dir, copy-ups, new
  // files) is made as that root, which the idmapped layer writes as 0.
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    return errno_error("socketpair");
  UniqueFd mine(sp[0]), theirs(sp[1]);
  std::string lowerdir = engine::overlay_escape(lower);
  OverlayChild oc{theirs.get(), userns, lowerdir, upper, work};
  // Its memory is ours until it exits (base/clone_vm.h): nothing copied, and
  // the report and the mount are in the socket when clone returns.
  VmStack stack;
  pid_t pid = clone_vm(mount_overlay_in_userns, &oc, stack, true);
  if (pid < 0) return errno_error("clone");
  p.pid = pid;
  p.sock = std::move(mine);
  return p;
}

Result<void> finish_layered_root(PendingOverlay& p) {
  if (p.pid <= 0) return ok();  // mounted at once
  ChildReport rep;
  int fd = -1;
  ssize_t n = recv_with_fd(p.sock.get(), &rep, sizeof rep, &fd);
  int saved = errno;
  UniqueFd tree(fd);
  // Not waited for: its exit tears down its mount namespace, which waits for
  // an RCU grace period (namespace_unlock; up to ~10 ms on a busy machine).
  // The monitor's loop reaps it (any child of the monitor's), off the path a
  // start waits on; one that failed has exited already.
  if (n == sizeof rep && tree) p.pid = -1;
  p.sock.reset();
  if (p.pid > 0) {
    while (::waitpid(p.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    p.pid = -1;
  }
  if (n < 0) {
    errno = saved;
    return errno_error("mount the overlay of the image");
  }
  if (n != sizeof rep) return make_error("mount the overlay of the image: its process died");
  if (!tree) {
    rep.what[sizeof rep.what - 1] = '\0';
    errno = rep.err;
    return errno_error("mount the overlay of the image: {}", rep.what);
  }
  if (::syscall(SYS_move_mount, tree.get(), "", AT_FDCWD, p.root.c_str(), MOVE_MOUNT_F_EMPTY_PATH) <
      0)
    return errno_error("mount the overlay of the image on {}", p.root);
  return ok();
}

}  // namespace berth::manager
