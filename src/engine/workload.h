// The last steps of a container's process, the same for the init and for
// exec: the process config applied as root in the container (finalize_
// process: priorities, rlimits, the identity change, the working directory,
// capabilities, no_new_privs), the fds it keeps, the seccomp filter and the
// execve itself.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "engine/sys.h"
#include "oci/spec.h"
#include "seccomp/seccomp.h"

namespace berth::engine {

// Whether the seccomp filter must be loaded before the process takes its
// final capabilities instead of right before execve, as runc and crun decide:
// a notify filter's listener goes to the runtime before `Ready`, and without
// no_new_privs loading a filter needs CAP_SYS_ADMIN, which the final
// capabilities may not hold.
bool filter_early(const oci::Process& p, const seccomp::Program& prog);

// After the namespaces and the rootfs are in place, as root in the
// container. An early filter (seccomp_early) is loaded as late as it can be:
// after the identity change and the working directory, before the final
// capabilities; its notify listener, if any, goes to *listener.
Result<void> finalize_process(const oci::Process& p, const seccomp::Program* seccomp,
                              bool seccomp_early, UniqueFd* listener, Sys& sys = real_sys());

// Closes every fd >= 3 + preserve except `keep` (which are close-on-exec),
// and clears close-on-exec on the preserved ones: nothing the caller had
// open leaks into the container (CVE-2024-21626), not even while it waits.
void prepare_fds_for_exec(int preserve, std::vector<int> keep);

// A stub init exec'd in front of the workload (CreateOptions::init_fd).
struct StubInit {
  int fd = -1;  // -1: none
  std::string name;
};
// Default signal dispositions, an empty mask, the late filter (one not
// loaded early: the last thing before execve, so a profile may deny any
// syscall the runtime itself makes), then execve of exe with proc's args and
// env -- or of the stub init with {name, "-e", exe, "--", args...}.
[[noreturn]] void exec_workload(const std::string& exe, const oci::Process& proc,
                                const seccomp::Program* late_filter, const StubInit& stub = {},
                                Sys& sys = real_sys());

}  // namespace berth::engine
