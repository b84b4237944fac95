// The container's init between clone and exec (init_main), and the builder
// of a user-namespaced container's tree (builder_main). create.cpp is the
// runtime's side; the two speak over a Channel (sync.h).
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>

#include "base/unique_fd.h"
#include "cgroup/cgroup.h"
#include "engine/container.h"
#include "engine/namespaces.h"
#include "engine/sync.h"
#include "oci/spec.h"
#include "seccomp/seccomp.h"

namespace berth::engine {

// Everything the init needs, worked out by the runtime before the clone,
// and what it learns from the runtime's messages after it.
struct InitPlan {
  const oci::Spec* spec = nullptr;
  const CreateOptions* opts = nullptr;
  std::string rootfs;
  NamespacePlan ns;  // joins the runtime entered for the clone are gone from it
  std::optional<seccomp::Program> seccomp;
  bool seccomp_early = false;  // see filter_early
  int fifo_fd = -1;            // exec.fifo, read end: `start` writes to it
  const cgroup::Cgroup* cgroup = nullptr;
  // The init joins its v1 cgroups itself (see spawn.h); or the builder,
  // cloned into the v2 one, joins them and the init it clones inherits them.
  bool self_join = false;
  bool builder_join = false;
  // A user-namespaced container with a mount namespace of its own: its tree
  // is built by the host's root (builder_main), told over `tree` in the init.
  bool builder = false;
  // The runtime is not the host's root (its euid, read before the clone: in
  // an unmapped user namespace the init's own is the overflow uid).
  bool rootless = false;
  Channel* tree = nullptr;

  // From the runtime. Joining a v1 cgroup from outside costs an RCU grace
  // period (milliseconds), so the runtime does what it must while the init
  // builds its mounts; the init waits for CgroupJoined only where it matters
  // (before its cgroup namespace).
  bool cgroup_joined = false;
  std::map<size_t, UniqueFd> mount_fds;  // idmapped trees for mounts[i]
  pid_t host_pid = 0;                    // the init's pid as the runtime sees it (hook state)
};

// The init: sets the container up as the plan says, reports Ready, waits for
// `start` on exec.fifo, runs the startContainer hooks and execs the
// workload. Errors go to the runtime over chan.
[[noreturn]] void init_main(InitPlan& plan, Channel& chan);

// The builder of a user-namespaced container's tree: forked by the runtime,
// in a new mount namespace that the host's user namespace owns. It clones the
// init (CLONE_PARENT: the runtime's child, as without a builder) into every
// new namespace but the mount one, which the init shares until the tree is
// built here; then the init takes a copy of it that its own user namespace
// owns, and in that copy the kernel locks every mount (mount_namespaces(7)).
// Errors go to the runtime until the init exists, then to the init.
[[noreturn]] void builder_main(InitPlan& plan, Channel& runtime, Channel& init_chan);

}  // namespace berth::engine
