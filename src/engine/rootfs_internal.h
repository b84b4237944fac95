// Pieces the rootfs files share (rootfs.cpp: the mounts; devices.cpp: /dev;
// rootfs_finish.cpp: pivot_root, masks, read-only paths, propagation).
#pragma once

#include <string>

#include "base/result.h"
#include "engine/mount_options.h"
#include "engine/rootfs.h"
#include "engine/sys.h"

namespace berth::engine::internal {

// "/proc/self/fd/N": the path through which mount(2) reaches what fd is.
std::string fd_path(int fd);
// path without its leading slashes, for the *at calls below a root fd.
std::string relative(const std::string& path);
bool is_dir_fd(Sys& sys, int fd);
// Applies mf's flags to the mount at dest (inside root_fd) with
// mount_setattr: bind mounts ignore them on the first mount(2).
Result<void> set_mount_attrs(Sys& sys, int root_fd, const std::string& dest, const MountFlags& mf,
                             bool recursive);
// The default device nodes (unless /dev is a bind), /dev's symlinks, and
// linux.devices, below root_fd.
Result<void> setup_dev(Sys& sys, const RootfsContext& ctx, int root_fd);

}  // namespace berth::engine::internal
