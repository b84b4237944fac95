// Containers made by `berth create` (containers.d/NAME.toml): what other
// commands change in them.
#pragma once

#include <string>

#include "base/result.h"
#include "cli/berth/context.h"

namespace berth::cli {

// `update NAME --config-file F`: F's settings (TOML, or JSON when named
// *.json) replace NAME's in containers.d/NAME.toml; its addresses, ports,
// tree and command stay unless F sets them. Refuses containers declared
// elsewhere; leaves the file as it was when the result is invalid.
Result<void> replace_created_settings(Context& ctx, const std::string& name,
                                      const std::string& config_file);

}  // namespace berth::cli
