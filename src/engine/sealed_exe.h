// CVE-2019-5736: no runtime process that enters a container may run the host
// binary, or the container could reopen it for writing through
// /proc/PID/exe. Commands that enter containers re-execute themselves from a
// sealed memfd copy of the binary's loadable part first.
#pragma once

#include "base/result.h"

namespace berth::engine {

// Returns only when already running from a sealed copy (or on error);
// otherwise execs the copy with the same argv and environment.
Result<void> ensure_sealed_exe(char** argv);

}  // namespace berth::engine
