// What the container's process gets just before exec: identity (uid, gid,
// groups, umask), rlimits, capabilities, and the executable looked up in the
// container's PATH.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "engine/sys.h"
#include "oci/spec.h"

namespace berth::engine {

Result<int> capability_from_name(const std::string& name);
Result<void> set_rlimits(const std::vector<oci::Rlimit>& rlimits);
// Drops the bounding set to caps->bounding (before the uid change).
Result<void> drop_bounding(const oci::Capabilities& caps, Sys& sys = real_sys());
// setgroups/setresgid/setresuid keeping capabilities across the change.
Result<void> switch_user(const oci::User& user, Sys& sys = real_sys());
// Sets effective, permitted, inheritable (capset) and ambient sets.
Result<void> apply_capabilities(const oci::Capabilities& caps, Sys& sys = real_sys());
// Resolves args[0] with the PATH in env (or the default PATH) inside the
// current root; error "executable file not found in $PATH" like runc.
Result<std::string> find_executable(const std::string& arg0, const std::vector<std::string>& env);
Result<void> set_personality(const oci::Personality& p);
Result<void> set_io_priority(const oci::IoPriority& p);
Result<void> set_scheduler(const oci::Scheduler& s);

}  // namespace berth::engine
