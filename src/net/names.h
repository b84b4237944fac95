// Network interface names berth derives from container names (ve-NAME,
// vb-NAME, mv-IF), kept within the kernel's 15-byte limit.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace berth::net {

inline constexpr size_t kMaxLinkNameLength = 15;  // IFNAMSIZ - 1

// prefix + name when that fits in 15 bytes; otherwise prefix + the first
// characters of name + 4 hex digits of a stable hash of the whole name, so
// two long names that share a beginning still get different links and the
// same container always gets the same one.
std::string host_link_name(std::string_view prefix, std::string_view name);

// A name the kernel accepts for a link: 1..15 bytes, no '/', ':' or
// whitespace, not "." or "..".
Result<void> validate_link_name(std::string_view name);

}  // namespace berth::net
