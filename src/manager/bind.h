// `berth bind` and `unbind` (as machinectl's): a host file or directory
// bind-mounted into a running container's mount namespace, and taken out
// again. Such binds are transient: they go with the container's mount
// namespace at stop or restart (bind_mounts declares lasting ones).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "decl/paths.h"

namespace berth::manager {

struct BindOptions {
  bool read_only = false;
  bool mkdir = false;  // create a missing PATH (a directory or an empty file, as HOST_PATH)
  // In a user-namespaced container: idmapped to its range (its root owns
  // what the host's root does), as declared bind_mounts are by default.
  bool idmap = true;
  // A bind_mounts entry applied live (`apply`): not recorded as transient.
  bool declared = false;
};

// A bind that `berth bind` made in the container's current run.
struct TransientBind {
  std::string path;  // in the container
  std::string host_path;
  bool read_only = false;
  uint64_t mount_id = 0;  // statx's, to know it is still that mount
};

// Binds host_path (followed; with the mounts below it) on path (absolute,
// resolved within the container's root, never through a symlink out of it)
// in the running container NAME, always nosuid and nodev; in a user-
// namespaced container its flags are locked (its root cannot remount it
// read-write). Recorded in the container's run state for status and unbind.
Result<void> bind(const decl::Paths& paths, const std::string& name, const std::string& host_path,
                  const std::string& path, const BindOptions& o);
// Detaches the bind at path that `berth bind` made in this run of NAME;
// anything else (a declared bind, /proc, a mount made inside) is refused.
// declared: the bind_mounts entry at path, removed live (`apply`): the mount
// on top at path is detached, whatever made it.
Result<void> unbind(const decl::Paths& paths, const std::string& name, const std::string& path,
                    bool declared = false);
// The transient binds of NAME's current run (none when it is not running).
std::vector<TransientBind> transient_binds(const decl::Paths& paths, const std::string& name);

}  // namespace berth::manager
