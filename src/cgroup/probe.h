// Questions about what this host's cgroups can do, asked before a container
// needs the answer (`berth check`).
#pragma once

#include "base/result.h"

namespace berth::cgroup {

// Whether this host can apply a block I/O weight (blockIO.weight, berth's
// io_weight): ok, or an error saying what is missing. Decided by the files
// apply() writes: v1 blkio.weight (CFQ) or blkio.bfq.weight (BFQ) in a
// cgroup below the hierarchy's root (weights are not on the root; a probe
// cgroup is made and removed when there is none); v2 io.weight (iocost,
// io.cost.qos on the root) or io.bfq.weight (BFQ, a scheduler of some disk).
Result<void> io_weight_support();

}  // namespace berth::cgroup
