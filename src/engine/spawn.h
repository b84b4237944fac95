// A new process where it belongs: cloned into its namespaces and, with
// clone3(CLONE_INTO_CGROUP), straight into its v2 cgroup; joining its v1
// cgroups itself before anything else (moving oneself through v1's `tasks`
// skips the global threadgroup lock and its RCU grace period, which a move
// made by another process pays: milliseconds). The runtime moves it the
// usual way where neither applies. Used for the init (create) and for exec.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "cgroup/cgroup.h"

namespace berth::engine {

// fork-like clone with `flags` (CLONE_NEW*), into the v2 cgroup open at
// cgroup_fd when >= 0 (falling back to clone where clone3 cannot).
// Returns -1 with errno on failure.
pid_t clone_into(int flags, int cgroup_fd);

// How a new process enters cg: `v2dir` for clone_into, `self_join` when
// the child joins its v1 cgroups itself (join_self_v1 in the child).
struct CgroupEntry {
  UniqueFd v2dir;
  bool self_join = false;
};
CgroupEntry cgroup_entry(const cgroup::Cgroup& cg);
// In the runtime after the clone: moves pid into whatever of cg the entry
// did not put it in (all of it without self_join; v2 when clone3 fell back).
Result<void> finish_cgroup_entry(const cgroup::Cgroup& cg, const CgroupEntry& entry, pid_t pid);

// Writes pid to path (made absolute against the cwd) atomically; "" is none.
Result<void> write_pid_file(const std::string& path, pid_t pid);

}  // namespace berth::engine
