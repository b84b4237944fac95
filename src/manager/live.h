// What a running container takes without a restart (`apply`, `update`):
// resources (its cgroup's limits), forward_ports (its nft rules, swapped in
// one batch), bind_mounts (unbound and bound in its mount namespace, as
// `berth bind`), interfaces and macvlans (moved, made, deleted), environment
// (for the commands `run` starts from then on) and then its `reload` command
// inside it. The plan names the
// path each changed key takes.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "decl/decl.h"
#include "decl/paths.h"
#include "oci/spec.h"

namespace berth::manager {

// The declaration with the keys that change live taken from `now`: equal to
// `now` when nothing else changed (so no restart is needed).
decl::Container with_live_keys(decl::Container running, const decl::Container& now);

// One phrase per key that differs and changes live, saying how
// ("resources: cgroup limits", "forward_ports: nftables (+tcp 8081->81)"),
// then "reload: CMD" when any did; empty when none.
std::vector<std::string> live_changes(const decl::Container& running, const decl::Container& now);

// Applies them to the running container: the limits, the forwards in the
// host namespace of its monitor, then the reload command (a failure of which
// fails the update); then records `now` as what it runs.
Result<void> apply_live(const decl::Paths& paths, const decl::Declarations& decls,
                        const decl::Container& running, const decl::Container& now);

// What `run`, `shell` and `root-login` start from: the init's process, with
// the environment `apply` changed live since it started.
Result<oci::Process> run_base_process(const decl::Paths& paths, const std::string& name);

}  // namespace berth::manager
