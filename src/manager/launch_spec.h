// The spec a container runs with: decl::to_spec plus what the monitor adds
// (the notify socket, capabilities the host withholds, the default seccomp
// profile). The monitor runs it and `berth spec NAME` prints it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"
#include "decl/decl.h"
#include "decl/paths.h"
#include "oci/spec.h"

namespace berth::manager {

struct LaunchInputs {
  std::optional<uint32_t> uid_base;  // of its user namespace (private_users)
  bool terminal = false;             // a console pty (boot containers)
  std::string netns_path;            // the network namespace the monitor made
};

// Everything but what prepare_root does at start in the monitor's own mount
// namespace (the idmapped or ephemeral view of the tree as root.path).
Result<oci::Spec> launch_spec(const decl::Paths& paths, const decl::Container& c,
                              const LaunchInputs& in);

}  // namespace berth::manager
