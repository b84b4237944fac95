// Interactive sessions in a running container through the engine's exec
// (`berth root-login`, `berth shell`) and `berth show-host-key`. Files of the
// container are read below its root with RESOLVE_IN_ROOT, so a symlink in the
// container can never point these verbs at a host file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "decl/decl.h"
#include "decl/paths.h"

namespace berth::manager {

// `berth root-login NAME` (user "") and `berth shell NAME USER`: a login
// shell of USER (from the container's /etc/passwd and /etc/group) in every
// namespace and the cgroup of the running container, on a pty of its own as
// a session leader; returns its exit status (128+signal when killed).
Result<int> shell(const decl::Paths& paths, const std::string& name, const std::string& user);

// A user as the container's own /etc/passwd and /etc/group define it.
struct ContainerUser {
  std::string name;
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> groups;  // supplementary, without gid
  std::string home, shell;
};
// Parses passwd and group texts (exposed for unit tests).
Result<ContainerUser> find_user(std::string_view passwd, std::string_view group,
                                const std::string& user);

// `berth show-host-key NAME`: the first of /etc/ssh/ssh_host_{ed25519,ecdsa,
// rsa}_key.pub in the container's root (the running container's view when
// it runs, its declared root otherwise). decl: its declaration, if any.
Result<std::string> host_key(const decl::Paths& paths, const std::string& name,
                             const decl::Container* decl);

}  // namespace berth::manager
