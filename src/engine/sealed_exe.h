// CVE-2019-5736: no runtime process that enters a container may run the host
// binary, or the container could reopen it for writing through
// /proc/PID/exe. Commands that enter containers re-execute themselves first
// through a detached read-only overlayfs mount (no copy), or where that is
// not possible from a sealed memfd copy of the binary's loadable part.
#pragma once

#include "base/result.h"

namespace berth::engine {

// Returns only when already running from a protected binary (or on error);
// otherwise execs the protected one with the same argv and environment.
Result<void> ensure_sealed_exe(char** argv);

}  // namespace berth::engine
