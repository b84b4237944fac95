// Writing declarations back as TOML: what `berth create` and `update
// --config-file` put in containers.d/NAME.toml.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "decl/tree.h"

namespace berth::decl {

// The settings of one container as (key, TOML value) in file order.
using KeyValues = std::vector<std::pair<std::string, std::string>>;

// A TOML basic string ("..."), control characters escaped.
std::string toml_string(const std::string& s);
// A key: bare when it may be, else quoted.
std::string toml_key(const std::string& k);
// A TOML array of strings.
std::string toml_string_array(const std::vector<std::string>& v);
// A parsed value (of TOML or JSON) as one line of TOML; `key` names it in errors.
Result<std::string> toml_value(const Node& n, const std::string& key);

// The settings of a --config-file (TOML, or JSON when named *.json): a table
// of one container's keys, as under [containers.NAME].
Result<KeyValues> settings_file(const std::string& file);

// The settings of container name in a file render_container wrote (TOML
// holding [containers.NAME] and nothing else), for rewriting it.
Result<KeyValues> container_settings(const std::string& file, const std::string& name);

// The settings of container name wherever it is declared (TOML or JSON,
// among other containers), for copying them (clone, export).
Result<KeyValues> declared_settings(const std::string& file, const std::string& name);

// Sets key (replacing its value where it is already set), and tests for it.
void set_key(KeyValues& kv, const std::string& key, std::string value);
bool has_key(const KeyValues& kv, const std::string& key);
void erase_key(KeyValues& kv, const std::string& key);

// The file: a comment saying who wrote it (`berth VERB NAME`), then
// [containers.NAME] and kv.
std::string render_container(const std::string& name, const KeyValues& kv,
                             const char* verb = "create");

}  // namespace berth::decl
