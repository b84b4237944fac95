// Declarations written back as TOML (see render.h).
#include "decl/render.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/files.h"
#include "decl/util.h"

namespace berth::decl {

std::string toml_string(const std::string& s) {
  return quote(s);
}

std::string toml_key(const std::string& k) {
  return join_key("", k);
}

std::string toml_string_array(const std::vector<std::string>& v) {
  std::string a = "[";
  for (size_t i = 0; i < v.size(); ++i) a += (i ? ", " : "") + toml_string(v[i]);
  return a + "]";
}

Result<std::string> toml_value(const Node& n, const std::string& key) {
  using K = Node::Kind;
  switch (n.kind) {
    case K::String:
      return toml_string(n.text);
    case K::Integer:
      return std::to_string(n.integer);
    case K::Float: {
      std::string f = fmt::format("{}", n.real);
      if (f.find_first_of(".eEn") == std::string::npos) f += ".0";
      return f;
    }
    case K::Bool:
      return std::string(n.boolean ? "true" : "false");
    case K::Array: {
      std::string o = "[";
      for (size_t i = 0; i < n.array.size(); ++i)
        o += (i ? ", " : "") + TRY(toml_value(n.array[i], fmt::format("{}[{}]", key, i)));
      return o + "]";
    }
    case K::Table: {
      std::string o = "{ ";
      for (size_t i = 0; i < n.table.size(); ++i)
        o += (i ? ", " : "") + toml_key(n.table[i].first) + " = " +
             TRY(toml_value(n.table[i].second, join_key(key, n.table[i].first)));
      return o + " }";
    }
    case K::Other:
      break;
  }
  return make_error("line {}: {}: {} is not a value berth accepts", n.line, key,
                    n.text.empty() ? "this" : n.text);
}

Result<KeyValues> settings_file(const std::string& file) {
  auto text = TRY_CTX(read_file(file), "--config-file");
  Node root;
  SyntaxError err;
  bool parsed =
      file.ends_with(".json") ? json_to_tree(text, root, err) : toml_to_tree(text, file, root, err);
  if (!parsed) return make_error("{}:{}: {}", file, err.line, err.message);
  if (root.kind != Node::Kind::Table) return make_error("{}: expected a table of settings", file);
  KeyValues out;
  for (auto& [k, v] : root.table) {
    if (k == "containers")
      return make_error(
          "{}:{}: expected the settings of one container (command = ..., ...), not a "
          "[containers.NAME] table",
          file, v.line);
    auto val = toml_value(v, k);
    if (!val) return make_error("{}:{}", file, val.error().message);
    out.emplace_back(k, *val);
  }
  return out;
}

// The keys of [containers.NAME] as TOML values.
static Result<KeyValues> settings_of(const Node& mine, const std::string& file,
                                     const std::string& name) {
  KeyValues out;
  for (auto& [k, v] : mine.table) {
    auto val = toml_value(v, join_key(join_key("containers", name), k));
    if (!val) return make_error("{}:{}", file, val.error().message);
    out.emplace_back(k, *val);
  }
  return out;
}

Result<KeyValues> container_settings(const std::string& file, const std::string& name) {
  auto text = TRY(read_file(file));
  Node root;
  SyntaxError err;
  if (!toml_to_tree(text, file, root, err))
    return make_error("{}:{}: {}", file, err.line, err.message);
  auto only = [](const Node& n, const std::string& key) -> const Node* {
    if (n.kind != Node::Kind::Table || n.table.size() != 1 || n.table[0].first != key)
      return nullptr;
    return &n.table[0].second;
  };
  const Node* containers = only(root, "containers");
  const Node* mine = containers ? only(*containers, name) : nullptr;
  if (!mine || mine->kind != Node::Kind::Table)
    return make_error("{} holds more than [containers.{}]; edit it there", file, name);
  return settings_of(*mine, file, name);
}

Result<KeyValues> declared_settings(const std::string& file, const std::string& name) {
  auto text = TRY(read_file(file));
  Node root;
  SyntaxError err;
  bool parsed =
      file.ends_with(".json") ? json_to_tree(text, root, err) : toml_to_tree(text, file, root, err);
  if (!parsed) return make_error("{}:{}: {}", file, err.line, err.message);
  auto find = [](const Node& n, const std::string& key) -> const Node* {
    if (n.kind != Node::Kind::Table) return nullptr;
    for (auto& [k, v] : n.table)
      if (k == key) return &v;
    return nullptr;
  };
  const Node* containers = find(root, "containers");
  const Node* mine = containers ? find(*containers, name) : nullptr;
  if (!mine || mine->kind != Node::Kind::Table)
    return make_error("{} does not declare [containers.{}]", file, name);
  return settings_of(*mine, file, name);
}

void set_key(KeyValues& kv, const std::string& key, std::string value) {
  for (auto& [k, v] : kv)
    if (k == key) {
      v = std::move(value);
      return;
    }
  kv.emplace_back(key, std::move(value));
}

bool has_key(const KeyValues& kv, const std::string& key) {
  return std::any_of(kv.begin(), kv.end(), [&](auto& p) { return p.first == key; });
}

void erase_key(KeyValues& kv, const std::string& key) {
  std::erase_if(kv, [&](auto& p) { return p.first == key; });
}

std::string render_container(const std::string& name, const KeyValues& kv, const char* verb) {
  std::string t =
      fmt::format("# Written by `berth {} {}`; `berth destroy {}` removes it.\n[containers.{}]\n",
                  verb, name, name, toml_string(name));
  for (auto& [k, v] : kv) t += toml_key(k) + " = " + v + "\n";
  return t;
}

}  // namespace berth::decl
