// A running container as the verbs that reach into it from the host see it
// (copy-to, copy-from, bind, unbind): its init, its root and the host ids of
// its root user; and a forked child to do the work that changes the caller's
// namespaces or filesystem ids.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "decl/paths.h"

namespace berth::manager {

struct Running {
  pid_t pid = 0;
  uint64_t start_time = 0;  // of the init, against pid reuse
  UniqueFd root;            // O_PATH of /proc/PID/root
  uid_t uid = 0;            // the host ids of its root user
  gid_t gid = 0;
};

// "NAME is not running" unless the engine's init of NAME is alive; the root
// opened is that init's (checked after the open).
Result<Running> open_running(const decl::Paths& paths, const std::string& name);

// Makes every permitted capability effective again (after setfsuid to a
// non-zero id cleared the filesystem ones).
void set_effective_to_permitted();

// Runs fn in a forked child (for setns, unshare, setfsuid: what must not
// change the caller); what it returns comes back through a pipe: its text,
// or its error on one line. fn allocates in the child: from a threaded
// process (apply's jobs) that relies on glibc's malloc, which fork leaves
// usable; clang 14's ASan allocator is not (see engine::PreparedExec).
Result<std::string> in_child(const std::function<Result<std::string>()>& fn);
// The same for work that returns nothing.
Result<void> in_child(const std::function<Result<void>()>& fn);

}  // namespace berth::manager
