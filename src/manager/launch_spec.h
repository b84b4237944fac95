// The spec a container runs with: decl::to_spec of its declaration and the
// host's part (the notify socket, the capabilities the host can grant, the
// default seccomp profile). The monitor runs it, `berth spec NAME` prints it,
// and plan/apply compare it with the one a running container got.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "decl/decl.h"
#include "decl/paths.h"
#include "decl/spec.h"
#include "oci/spec.h"

namespace berth::manager {

// The annotation naming the image a container runs on and which import of
// it ("NAME@sha256:HEX").
inline constexpr std::string_view kImageAnnotation = "org.berth.image";

struct LaunchInputs {
  std::optional<uint32_t> uid_base;  // of its user namespace (private_users)
  bool terminal = false;             // a console pty (boot containers)
  std::string netns_path;            // the network namespace the monitor made
  // A rootless berth's maps (manager/rootless.h), in place of uid_base.
  std::optional<decl::SpecContext::UserMaps> rootless_maps;
};

// The host's part of c's compile, read from this process and host.
Result<decl::SpecContext> host_context(const decl::Paths& paths, const decl::Container& c,
                                       const LaunchInputs& in);

// Everything but what prepare_root does at start in the monitor's own mount
// namespace (the idmapped or ephemeral view of the tree as root.path).
Result<oci::Spec> launch_spec(const decl::Paths& paths, const decl::Container& c,
                              const LaunchInputs& in);

// Frees what launch_spec keeps for the next call (the parsed default seccomp
// profile): a monitor calls it once its container runs.
void release_launch_caches();

}  // namespace berth::manager
