// The container's filesystem: mounts in config order (destinations resolved
// inside the rootfs, never through a symlink out of it), devices, console,
// pivot_root, masked and readonly paths. Built by the init inside its new
// mount namespace, or, for a user-namespaced container, by the host's root
// in a mount namespace the host's user namespace owns (see builder_main in
// init.h), so that the kernel locks it in the init's copy.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "engine/sys.h"
#include "oci/spec.h"

namespace berth::cgroup {
class Cgroup;
}

namespace berth::engine {

struct RootfsContext {
  const oci::Spec* spec = nullptr;
  std::string rootfs;   // absolute host path of root.path
  std::string bundle;   // relative bind sources are relative to it
  bool userns = false;  // in a new user namespace: no mknod, no fresh sysfs
  bool cgroupns = false;
  // The container has no mount namespace of its own: its mounts go into the
  // runtime's, whose propagation is left alone.
  bool shared_mountns = false;
  const cgroup::Cgroup* cgroup = nullptr;  // null when cgroups are disabled
  // Detached, idmapped mount trees the runtime made for mounts[i] (only the
  // host's root may idmap a mount), moved into place by the init.
  std::map<size_t, int> mount_fds;
  // Set when the host's root builds the tree of a user-namespaced container:
  // the container's ids in uid=/gid= options of new instances the mounter's
  // user namespace owns (tmpfs, devpts) are translated to the host's.
  const std::vector<oci::IdMapping>* uid_maps = nullptr;
  const std::vector<oci::IdMapping>* gid_maps = nullptr;
};

// The host id that id inside maps to, if any.
std::optional<uint32_t> host_id(const std::vector<oci::IdMapping>& maps, uint32_t id);

// Whether mounts[i] asks for an idmapped bind ("idmap"/"ridmap" or mappings).
bool wants_idmap(const oci::Mount& m);
// In the runtime: a detached copy of m.source idmapped with the user
// namespace userns_fd, ready for move_mount(2) in the container (idmap.h).
Result<UniqueFd> make_idmapped_tree(const oci::Mount& m, const std::string& bundle, int userns_fd,
                                    Sys& sys = real_sys());

// Opens path (absolute, as seen inside the container) below root_fd with
// RESOLVE_IN_ROOT, so symlinks cannot lead out of the rootfs. Missing
// components are created as directories (and the last one as a file when
// make_file). Returns an O_PATH descriptor.
enum class Create { No, Dir, File };
Result<UniqueFd> open_in_root(int root_fd, const std::string& path, Create create,
                              Sys& sys = real_sys());

// Before pivot_root: propagation, rootfs bind, mounts, devices.
Result<void> setup_mounts(const RootfsContext& ctx, Sys& sys = real_sys());
// pivot_root into the rootfs, or MS_MOVE + chroot (--no-pivot), or only
// chroot (no mount namespace of the container's own).
enum class Enter { PivotRoot, MoveRoot, Chroot };
Result<void> enter_rootfs(const std::string& rootfs, Enter how, Sys& sys = real_sys());
// After a container without a mount namespace of its own is gone: detaches
// every mount at or below rootfs in the current mount namespace.
void detach_mounts_below(const std::string& rootfs);
// Masked paths, readonly paths and the readonly root of the tree at root_fd
// (after pivot_root, "/"). `locked`: the tree is built for a copy into a
// user namespace's mount namespace, where the kernel locks the flags of
// every mount: masks are read-only too, and the root is nodev (its devices
// are the binds under /dev), so that no flag of any of them can be changed.
Result<void> finish_rootfs(const oci::Spec& spec, int root_fd, bool locked, Sys& sys = real_sys());
// linux.rootfsPropagation on "/", after pivot_root.
Result<void> set_rootfs_propagation(const oci::Spec& spec, Sys& sys = real_sys());

}  // namespace berth::engine
