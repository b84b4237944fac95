// What `berth check` asks the host beyond files and devices, behind probes a
// unit test can replace: whether a block I/O weight can be applied (the 32-bit
// question is decl/personality.h's kernel_runs_32bit).
#pragma once

#include <functional>

#include "base/result.h"

namespace berth::decl {

// ok, or an error naming what the host is missing (cgroup::io_weight_support
// unless replaced).
Result<void> host_io_weight_support();
// Replaces the probe (unit tests); an empty function restores the real one.
void set_io_weight_probe(std::function<Result<void>()> probe);

}  // namespace berth::decl
