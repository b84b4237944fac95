// The container's filesystem, built inside its new mount namespace by the
// init before exec: mounts in config order (destinations resolved inside the
// rootfs, never through a symlink out of it), devices, console, pivot_root,
// masked and readonly paths.
#pragma once

#include <map>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "oci/spec.h"

namespace berth::cgroup {
class Cgroup;
}

namespace berth::engine {

struct RootfsContext {
  const oci::Spec* spec = nullptr;
  std::string rootfs;  // absolute host path of root.path
  std::string bundle;  // relative bind sources are relative to it
  bool userns = false;  // in a new user namespace: no mknod, no fresh sysfs
  bool cgroupns = false;
  // The container has no mount namespace of its own: its mounts go into the
  // runtime's, whose propagation is left alone.
  bool shared_mountns = false;
  const cgroup::Cgroup* cgroup = nullptr;  // null when cgroups are disabled
  // Detached, idmapped mount trees the runtime made for mounts[i] (only the
  // host's root may idmap a mount), moved into place by the init.
  std::map<size_t, int> mount_fds;
};

// Whether mounts[i] asks for an idmapped bind ("idmap"/"ridmap" or mappings).
bool wants_idmap(const oci::Mount& m);
// In the runtime: a detached copy of m.source idmapped with the user
// namespace userns_fd, ready for move_mount(2) in the container.
Result<UniqueFd> make_idmapped_tree(const oci::Mount& m, const std::string& bundle, int userns_fd);

// Opens path (absolute, as seen inside the container) below root_fd with
// RESOLVE_IN_ROOT, so symlinks cannot lead out of the rootfs. Missing
// components are created as directories (and the last one as a file when
// make_file). Returns an O_PATH descriptor.
enum class Create { No, Dir, File };
Result<UniqueFd> open_in_root(int root_fd, const std::string& path, Create create);

// Before pivot_root: propagation, rootfs bind, mounts, devices.
Result<void> setup_mounts(const RootfsContext& ctx);
// pivot_root into the rootfs, or MS_MOVE + chroot (--no-pivot), or only
// chroot (no mount namespace of the container's own).
enum class Enter { PivotRoot, MoveRoot, Chroot };
Result<void> enter_rootfs(const std::string& rootfs, Enter how);
// After a container without a mount namespace of its own is gone: detaches
// every mount at or below rootfs in the current mount namespace.
void detach_mounts_below(const std::string& rootfs);
// After pivot_root: masked paths, readonly paths, rootfs propagation, readonly root.
Result<void> finish_rootfs(const oci::Spec& spec);

}  // namespace berth::engine
