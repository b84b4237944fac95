// OCI hooks: each runs with the container state JSON on stdin, its own env,
// and an optional timeout; a failure names the hook and how it failed.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::engine {

Result<void> run_hooks(const std::vector<oci::Hook>& hooks, const std::string& state_json,
                       const char* phase);
// For poststart and poststop (runtime-spec: a failure is logged as a warning,
// and the remaining hooks and the lifecycle go on): runs every hook, warns
// about each that fails.
void run_hooks_warn(const std::vector<oci::Hook>& hooks, const std::string& state_json,
                    const char* phase);

}  // namespace berth::engine
