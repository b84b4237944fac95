// `berth copy-to` and `copy-from` (as machinectl's): a file, a symlink or a
// directory tree copied into or out of a running container.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "decl/paths.h"

namespace berth::manager {

struct CopyReport {
  int files = 0, dirs = 0, symlinks = 0;
  // What was not copied: devices, fifos, sockets, and the mounts of
  // proc, sysfs, cgroup and the like ("PATH (a socket)").
  std::vector<std::string> skipped;
};

// Copies host_path to path (absolute, as the container sees it) in the
// running container NAME. path is the copy's own name, not a directory to
// copy into: a directory is merged into an existing one (whose owner, mode
// and times stay), a file or symlink replaces one of its kind; any other
// existing type is refused. Regular files, directories and symlinks (as
// symlinks; host_path itself is followed) keep their mode and times and are
// owned by the container's root (its uid 0, mapped through its user
// namespace). Every path in the container is resolved within its root
// (openat2 RESOLVE_IN_ROOT from /proc/INIT/root, then one name at a time,
// never following a symlink), so no symlink of the container's leads out of
// it.
Result<CopyReport> copy_to(const decl::Paths& paths, const std::string& name,
                           const std::string& host_path, const std::string& path);
// The other way: path in the container (followed within its root) to
// host_path, owned by the caller.
Result<CopyReport> copy_from(const decl::Paths& paths, const std::string& name,
                             const std::string& path, const std::string& host_path);

}  // namespace berth::manager
