// The container's root in the monitor's own mount namespace: the throwaway
// overlay of an ephemeral container and the idmapped tree of one with a
// user namespace (see private_root.h).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "base/clone_vm.h"
#include "base/files.h"
#include "base/unique_fd.h"
#include "decl/spec.h"
#include "engine/idmap.h"
#include "engine/mount_options.h"
#include "manager/private_root.h"

namespace berth::manager {

namespace {

bool g_private_ns = false;

// Mounts made from here on stay in this process (and the containers it
// makes): none reaches the host, and all go with their last user.
Result<void> ensure_private_mount_ns() {
  if (g_private_ns) return ok();
  if (::unshare(CLONE_NEWNS) < 0) return errno_error("unshare the monitor's mount namespace");
  if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
    return errno_error("make the monitor's mounts slaves of the host's");
  g_private_ns = true;
  return ok();
}

std::string root_dir(const RunDir& rd) {
  return rd.dir + "/root";
}
std::string scratch_dir(const RunDir& rd) {
  return rd.dir + "/scratch";
}
std::string idmapped_dir(const RunDir& rd) {
  return rd.dir + "/idmapped";
}
// The container's layer of an image, idmapped (in a user namespace).
std::string layer_view_dir(const RunDir& rd) {
  return rd.dir + "/layer";
}

// The image held while the container runs (see hold_image).
UniqueFd g_image_lock;

void unmount_all(const std::string& path) {
  while (::umount2(path.c_str(), MNT_DETACH) == 0) {
  }
}

// The child that holds a new user namespace: it unshares it, says so, and
// waits for the parent to be done with it. It runs beside the parent in its
// memory and thread-local storage: raw system calls only (no sanitizer's
// interceptor runs here), and only a failed unshare sets the errno it
// shares, before the parent reads on.
struct UsernsChild {
  int wait_r, unshared_w, theirs[2];  // theirs: the parent's ends, closed here
};

BERTH_NO_ASAN int hold_new_userns(void* arg) {
  auto& c = *static_cast<UsernsChild*>(arg);
  ::syscall(SYS_close, c.theirs[0]);
  ::syscall(SYS_close, c.theirs[1]);
  if (::syscall(SYS_unshare, CLONE_NEWUSER) < 0) ::syscall(SYS_exit, 1);
  char b = 'u';
  ::syscall(SYS_write, c.unshared_w, &b, 1);
  ::syscall(SYS_read, c.wait_r, &b, 1);  // until the parent has what it needs
  ::syscall(SYS_exit, 0);
  return 0;
}

// A user namespace mapping 0..65535 to base.., for mount_setattr: an
// idmapped mount takes its mapping from any namespace, not necessarily the
// container's (which does not exist yet).
Result<UniqueFd> make_userns(uint32_t base) {
  int sync[2], done[2];
  if (::pipe2(sync, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd r(sync[0]), w(sync[1]);
  if (::pipe2(done, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd unshared_r(done[0]), unshared_w(done[1]);
  // It shares our memory (base/clone_vm.h) and runs beside us: its stack
  // outlives it (reap() below waits for it).
  UsernsChild uc{r.get(), unshared_w.get(), {w.get(), unshared_r.get()}};
  VmStack stack;
  pid_t pid = clone_vm(hold_new_userns, &uc, stack, false);
  if (pid < 0) return errno_error("clone");
  r.reset();
  unshared_w.reset();
  auto reap = [&] {
    w.reset();
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  };
  // The child says when it has unshared (EOF: it failed and exited).
  char b;
  while (::read(unshared_r.get(), &b, 1) < 0 && errno == EINTR) {
  }
  std::string map = fmt::format("0 {} {}\n", base, decl::kPrivateUsersRange);
  Result<void> wrote = write_existing(fmt::format("/proc/{}/uid_map", pid), map);
  if (wrote) wrote = write_existing(fmt::format("/proc/{}/setgroups", pid), "deny");
  if (wrote) wrote = write_existing(fmt::format("/proc/{}/gid_map", pid), map);
  if (!wrote) {
    reap();
    return std::move(wrote).error().wrap("map a user namespace");
  }
  UniqueFd ns(::open(fmt::format("/proc/{}/ns/user", pid).c_str(), O_RDONLY | O_CLOEXEC));
  int saved = errno;
  reap();
  if (!ns) {
    errno = saved;
    return errno_error("open a user namespace");
  }
  return ns;
}

// A detached copy of `tree` idmapped through userns (read-only too when
// asked, recursively when it can). An error means the kernel or the
// filesystem cannot do it.
Result<UniqueFd> idmapped_copy(const std::string& tree, int userns, bool readonly) {
  engine::IdmapOptions o;
  o.recursive = o.recursive_idmap = true;
  o.readonly = readonly;
  if (auto t = engine::idmapped_tree(tree, userns, o)) return t;
  o.recursive = o.recursive_idmap = false;
  return engine::idmapped_tree(tree, userns, o);
}

Result<void> move_to(int tree, const std::string& where) {
  TRY_CTX(engine::attach_tree(tree, AT_FDCWD, where), "mount the idmapped tree on {}", where);
  return ok();
}

// Mounts `tree` idmapped to base at `where`.
Result<void> mount_idmapped(const std::string& tree, int userns, const std::string& where) {
  auto t = TRY(idmapped_copy(tree, userns, false));
  TRY(mkdir_p(where, 0755));
  return move_to(t.get(), where);
}

bool is_shared_host_bind(const oci::Mount& m) {
  if (m.type != "bind") return false;
  for (auto& d : decl::shared_host_dirs())
    if (m.destination == "/" + d) return true;
  return false;
}

}  // namespace

bool needs_private_root(const decl::Container& c) {
  return c.ephemeral || !c.image.empty() || c.private_users.mode != decl::PrivateUsers::Mode::No;
}

namespace {

// prepare_root's first half (start_image_root's too): the mounts of the
// previous run gone, the image held, the tree idmapped in a user namespace,
// and for an image (not ephemeral) its layer idmapped and the overlay begun.
Result<void> start_root(const decl::Paths& paths, const RunDir& rd, const decl::Container& c,
                        const std::string& tree, std::optional<uint32_t> uid_base, EarlyRoot& e) {
  TRY(ensure_private_mount_ns());
  // What the previous run (a reboot or a restart) left: ephemeral means a
  // fresh overlay every time the container starts.
  for (auto& d : {root_dir(rd), scratch_dir(rd), idmapped_dir(rd), layer_view_dir(rd)})
    unmount_all(d);
  g_image_lock.reset();
  if (!c.image.empty()) g_image_lock = TRY(hold_image(paths, c.image));
  e.started = true;
  e.lower = tree;
  if (uid_base) {
    // The init resolves the root path as the container's root, which the
    // host's root owns nothing of: it needs to search the run dir.
    struct stat rst;
    if (::stat(rd.dir.c_str(), &rst) < 0 ||
        ::chmod(rd.dir.c_str(), (rst.st_mode & 07777) | 0111) < 0)
      return errno_error("make {} searchable", rd.dir);
    Result<void> m = ok();
    if (auto ns = make_userns(*uid_base); !ns) {
      m = Result<void>(std::move(ns).error());
    } else {
      e.userns = std::move(*ns);
      m = mount_idmapped(tree, e.userns.get(), idmapped_dir(rd));
    }
    if (m) {
      e.lower = idmapped_dir(rd);
      e.idmapped = true;
    } else {
      e.note = fmt::format(
          "the tree {} is not idmapped ({}): inside, files appear owned by their on-disk ids "
          "mapped through {}..{} (others as nobody); chown the tree by {} or use a kernel and "
          "filesystem with idmapped mounts",
          tree, m.error().message, *uid_base, *uid_base + decl::kPrivateUsersRange - 1, *uid_base);
    }
  }
  if (!c.image.empty() && !c.ephemeral) {
    // The image under the container's own layer, persistent. In a user
    // namespace the layer is idmapped too, so that it holds the container's
    // ids on disk (0 for its root), as the image does.
    std::string layer = TRY(ensure_layer(paths, c));
    int ns = -1;
    if (e.idmapped) {
      if (auto m = mount_idmapped(layer, e.userns.get(), layer_view_dir(rd)); m) {
        layer = layer_view_dir(rd);
        ns = e.userns.get();
      } else {
        e.note += fmt::format(
            "{}its layer {} is not idmapped ({}): its files are written with the "
            "host's ids of the container's range",
            e.note.empty() ? "" : "; ", layer, m.error().message);
      }
    }
    e.overlay = TRY(begin_layered_root(e.lower, layer, root_dir(rd), ns));
  }
  return ok();
}

}  // namespace

Result<void> start_image_root(const decl::Paths& paths, const RunDir& rd, const decl::Container& c,
                              std::optional<uint32_t> uid_base, EarlyRoot& early) {
  if (c.image.empty() || c.ephemeral) return ok();
  return start_root(paths, rd, c, paths.image_rootfs(c.image), uid_base, early);
}

Result<std::string> prepare_root(const decl::Paths& paths, const RunDir& rd,
                                 const decl::Container& c, oci::Spec& spec,
                                 std::optional<uint32_t> uid_base, EarlyRoot* early) {
  if (!c.ephemeral && !uid_base && c.image.empty()) return std::string();
  EarlyRoot here;
  EarlyRoot& e = early && early->started ? *early : here;
  if (!e.started) TRY(start_root(paths, rd, c, spec.root.path, uid_base, e));
  std::string note = e.note;
  std::string lower = e.lower;
  UniqueFd& userns = e.userns;
  bool idmapped = e.idmapped;
  if (!c.image.empty() && !c.ephemeral) {
    TRY(finish_layered_root(e.overlay));
    spec.root.path = root_dir(rd);
  } else if (c.ephemeral) {
    std::string scratch = scratch_dir(rd), root = root_dir(rd);
    TRY(mkdir_p(scratch, 0700));
    TRY(mkdir_p(root, 0755));
    if (::mount("tmpfs", scratch.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0)
      return errno_error("mount the ephemeral scratch tmpfs on {}", scratch);
    std::string upper = scratch + "/upper", work = scratch + "/work";
    for (auto& d : {upper, work})
      if (::mkdir(d.c_str(), 0755) < 0) return errno_error("mkdir {}", d);
    // The merged root takes the upper dir's owner and mode: the tree's, as
    // the container sees it.
    struct stat st;
    if (::stat(lower.c_str(), &st) < 0) return errno_error("stat {}", lower);
    if (::chown(upper.c_str(), st.st_uid, st.st_gid) < 0 ||
        ::chmod(upper.c_str(), st.st_mode & 07777) < 0)
      return errno_error("set the owner of {}", upper);
    std::string opts =
        fmt::format("lowerdir={},upperdir={},workdir={}", engine::overlay_escape(lower),
                    engine::overlay_escape(upper), engine::overlay_escape(work));
    if (::mount("overlay", root.c_str(), "overlay", 0, opts.c_str()) < 0)
      return errno_error("mount the ephemeral overlay on {}", root);
    spec.root.path = root;
  } else if (lower != spec.root.path) {
    spec.root.path = lower;
  }
  if (idmapped && c.share_host) {
    // The host's /usr & co., idmapped so that its root owns them, and made
    // read-only here, in the host's user namespace: the container's mount
    // namespace copies them locked, so its root (CAP_SYS_ADMIN in its own
    // namespace) cannot make them writable. Made by the engine inside the
    // container they would not be locked, and idmapped they would be its.
    std::vector<oci::Mount> rest;
    for (auto& mnt : spec.mounts) {
      if (!is_shared_host_bind(mnt)) {
        rest.push_back(mnt);
        continue;
      }
      auto t = TRY(idmapped_copy(mnt.source, userns.get(), true));
      std::string where = spec.root.path + mnt.destination;
      TRY(mkdir_p(where, 0755));
      TRY(move_to(t.get(), where));
    }
    spec.mounts = std::move(rest);
  }
  // A bind marked idmap whose filesystem (or kernel) cannot be idmapped is
  // bound as it is rather than failing the start; the log says which.
  for (auto& mnt : spec.mounts) {
    auto idmap = std::find(mnt.options.begin(), mnt.options.end(), "idmap");
    if (mnt.type != "bind" || idmap == mnt.options.end()) continue;
    engine::IdmapOptions o;
    o.recursive = true;
    auto probe = userns ? engine::idmapped_tree(mnt.source, userns.get(), o)
                        : Result<UniqueFd>(make_error("no user namespace to map it with"));
    if (probe) continue;
    mnt.options.erase(idmap);
    note += fmt::format(
        "{}the bind of {} on {} is not idmapped ({}): inside, its files appear owned by their "
        "on-disk ids mapped through the container's range (others as nobody)",
        note.empty() ? "" : "; ", mnt.source, mnt.destination, probe.error().message);
  }
  return note;
}

void remove_root_dirs(const RunDir& rd) {
  // In the monitor's namespace they may still be mount points; elsewhere
  // they are plain dirs (the mounts live only where the monitor made them).
  if (g_private_ns)
    for (auto& d : {root_dir(rd), scratch_dir(rd), idmapped_dir(rd), layer_view_dir(rd)})
      unmount_all(d);
  for (auto& d : {root_dir(rd), scratch_dir(rd), idmapped_dir(rd), layer_view_dir(rd)})
    ::rmdir(d.c_str());
  g_image_lock.reset();
}

}  // namespace berth::manager
