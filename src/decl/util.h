// Helpers shared by the declaration parser and validator: key paths for
// messages, name syntaxes, and "did you mean" suggestions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth::decl {

// "containers" + "web" -> "containers.web"; keys that are not bare TOML keys
// are quoted: "bind_mounts" + "/srv" -> bind_mounts."/srv".
std::string join_key(const std::string& prefix, const std::string& key);
// A string as it would be written in the file: a TOML basic string, "text"
// with \" and \\ escaped, \n \t \r, and other control characters as \uXXXX.
std::string quote(std::string_view s);

size_t edit_distance(std::string_view a, std::string_view b);
// The candidate closest to key (after camelCase -> snake_case, so NixOS
// spellings like privateNetwork are recognised), or "" when none is close.
// A candidate "a.b" also matches a key "b".
std::string suggest(const std::string& key, const std::vector<std::string>& candidates);

// Container names are host names of one label: [a-z0-9-], not starting or
// ending with '-', 1 to 63 characters (link names are shortened elsewhere, so
// NixOS's 11-character limit does not apply).
inline constexpr size_t kMaxNameLength = 63;
bool valid_container_name(std::string_view s);
bool valid_hostname(std::string_view s);
bool valid_link_name(std::string_view s);
bool valid_mac(std::string_view s);

}  // namespace berth::decl
