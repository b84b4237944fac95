// CVE-2019-5736: no runtime process that enters a container may run the host
// binary, or the container could reopen it for writing through
// /proc/PID/exe. Commands that enter containers re-execute themselves first
// through a detached read-only overlayfs mount (no copy), or where that is
// not possible from a sealed memfd copy of the binary's loadable part.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace berth::engine {

// Returns only when already running from a protected binary (or on error);
// otherwise execs the protected one with the same argv and environment.
Result<void> ensure_sealed_exe(char** argv);

// This process's own binary, opened the protected way, for a child that
// starts another command of it (the monitor) with exec_protected: one exec
// instead of an exec and ensure_sealed_exe's re-exec.
// `mount`, when the binary is reached through a detached overlay, is that
// mount's fd: the exec'd process inherits it (see release_exe_mount).
struct ProtectedExe {
  UniqueFd exe;
  UniqueFd mount;
};
Result<ProtectedExe> open_protected_self();
// The execveat of a binary from open_protected_self with argv, the
// environment and the markers that ensure_sealed_exe reads, in two steps:
// prepare_exec allocates what it needs before a fork; exec_prepared, in the
// child, allocates nothing (a child forked from a threaded process may find
// the allocator locked by a thread it does not have: ASan's is, in clang 14)
// and returns only if the exec failed. `exe`, argv and envp (the
// environment to pass on, without the markers) must outlive both.
struct PreparedExec {
  int fd = -1;
  int mount = -1;
  char** argv = nullptr;
  std::string marker, mount_marker;
  std::vector<char*> env;
};
PreparedExec prepare_exec(const ProtectedExe& exe, char** argv, char** envp);
void exec_prepared(PreparedExec& p);

// A process exec'd from the overlay holds that overlay's mount fd (and opens
// siblings through it) until this call. Closing the last fd of a detached
// mount waits for an RCU grace period (milliseconds on a loaded machine), so
// callers release it once the user no longer waits on them (the monitor after
// it reported ready; `run` once its command runs); else it goes at exit.
void release_exe_mount();
// In a forked child that will exec something else: drops its copy of that fd
// without the wait (the parent still holds one).
void forget_exe_mount_in_child();

// Opens the file `name` in the directory of the host binary this process was
// started from (e.g. berth-init next to berth) the same protected way: through
// a detached read-only overlayfs mount of that directory, as it is when that
// directory is itself read-only, or else as a sealed memfd copy. For a
// program a container will run from the host (close-on-exec; execveat it
// with AT_EMPTY_PATH).
Result<UniqueFd> open_protected_sibling(const std::string& name);

}  // namespace berth::engine
