// What create checks in a spec before it makes anything (no system call but
// the rootfs lookup): the process, the namespaces' combinations, the
// console, and the rootfs it resolves.
#pragma once

#include <string>

#include "base/result.h"
#include "engine/container.h"
#include "oci/spec.h"

namespace berth::engine {

// Errors name the key: process (required, args, an absolute cwd), unknown
// namespace types, id maps without a user namespace, time offsets without
// a time namespace, a terminal without a console socket (or console_out) to
// send it to, a console socket without a terminal.
Result<void> validate_for_create(const oci::Spec& spec, const CreateOptions& opts);
// root.path (relative to the bundle) as an absolute path with every symlink
// resolved; an error unless it is a directory.
Result<std::string> resolve_rootfs(const oci::Spec& spec, const std::string& bundle);

}  // namespace berth::engine
