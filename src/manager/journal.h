// `berth logs NAME --journal`: a booted guest's persistent journal (its
// /var/log/journal), read with the host's journalctl --directory, so that no
// systemd need run on the host.
#pragma once

#include <optional>
#include <string>

#include "base/result.h"
#include "decl/decl.h"
#include "decl/paths.h"

namespace berth::manager {

struct JournalOptions {
  bool follow = false;
  std::optional<int> lines;  // journalctl -n
};

// Execs journalctl on the journal of NAME: the running container's (through
// its root, resolved within it), or, when it is down, its tree's (the state
// dir's rootfs of share_host, the `path` tree; an ephemeral one has none
// left). decl: its declaration, for a container that is down. Returns only
// with an error: journalctl missing, not a boot container, no journal yet.
Result<void> exec_journal(const decl::Paths& paths, const std::string& name,
                          const decl::Container* decl, const JournalOptions& o);

}  // namespace berth::manager
