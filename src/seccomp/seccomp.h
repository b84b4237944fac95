// seccomp for containers: an OCI linux.seccomp section compiled to a BPF
// program with libseccomp (in the runtime, before clone, cached), installed in
// the container's init just before exec, and the notify listener fd handed to
// listenerPath.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::seccomp {

struct Program {
  std::vector<struct sock_filter> filter;
  unsigned int flags = 0;    // SECCOMP_FILTER_FLAG_* for seccomp(2)
  bool uses_notify = false;  // the filter has SCMP_ACT_NOTIFY rules
};

// Compiles the profile. Syscalls the profile does not name and that are newer
// than every syscall it names get ENOSYS instead of the default action, so
// programs fall back (clone3 -> clone). cache_dir (if not empty) keeps
// compiled programs keyed by a hash of the profile.
Result<Program> compile(const oci::Seccomp& profile, const std::string& cache_dir = "");

// In the container's init, after fork: no allocation, async-signal-safe.
// Returns the listener fd (uses_notify), 0 when there is none, or -errno.
int install(const Program& prog);

// Sends the listener fd to profile.listener_path over SCM_RIGHTS together
// with the container state JSON (the runtime-spec seccomp-notify protocol).
Result<void> send_listener(int listener_fd, const oci::Seccomp& profile,
                           const std::string& state_json);

// The containers-common (podman) default profile, as JSON for config.json.
nlohmann::json default_profile();

// Where compile() keeps (or would keep) the program for this profile.
std::string cache_path(const oci::Seccomp& profile, const std::string& cache_dir);

// The runtime-spec "containerProcessState" send_listener() sends: state
// wrapped with ociVersion, fds ["seccompFd"], pid (state.pid) and metadata.
Result<nlohmann::json> container_process_state(const oci::Seccomp& profile,
                                               const std::string& state_json);

}  // namespace berth::seccomp
