// Idmapped mounts (mount_setattr(2) MOUNT_ATTR_IDMAP): a detached copy of a
// tree whose ids are seen through a user namespace's mapping. Used by the
// engine for idmapped bind mounts and by the manager for the idmapped root
// of a container with private users.
#pragma once

#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "engine/sys.h"

namespace berth::engine {

struct IdmapOptions {
  bool recursive = false;        // clone the mounts below source too
  bool recursive_idmap = false;  // and idmap them as well
  bool readonly = false;         // the copy is read-only too
};

// open_tree(OPEN_TREE_CLONE) of source, then mount_setattr(MOUNT_ATTR_IDMAP)
// with userns_fd. An error says when the kernel or filesystem cannot do it.
Result<UniqueFd> idmapped_tree(const std::string& source, int userns_fd, const IdmapOptions& o,
                               Sys& sys = real_sys());
// move_mount(2) of a detached tree onto `where`, a path (relative ones
// below dirfd, or dirfd itself when where is ""). The caller names the place
// in the error.
Result<void> attach_tree(int tree, int dirfd, const std::string& where, Sys& sys = real_sys());

}  // namespace berth::engine
