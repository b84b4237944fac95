// [images.NAME]: a system built from its declaration (decl.h ImageRecipe),
// read by the schema walker, and the canonical text its hash covers.
#include <algorithm>
#include <cctype>
#include <set>

#include <nlohmann/json.hpp>

#include "decl/decl.h"
#include "decl/util.h"
#include "decl/walker.h"

namespace berth::decl {
namespace {

using Kind = Node::Kind;

const std::vector<std::string> kImageKeys = {"distro", "suite", "variant", "packages",
                                             "files",  "run",   "mirror"};

bool all_of(std::string_view s, std::string_view allowed_extra) {
  return std::all_of(s.begin(), s.end(), [&](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           allowed_extra.find(ch) != std::string_view::npos;
  });
}

// A Debian suite or codename: "bookworm", "stable", "bookworm-backports".
bool valid_suite(std::string_view s) {
  return !s.empty() && s.size() <= 64 && s[0] != '-' && s[0] != '.' && all_of(s, ".-");
}

// A Debian package name (policy 5.6.1): [a-z0-9][a-z0-9+.-]+.
bool valid_package(std::string_view s) {
  return s.size() >= 2 && s.size() <= 128 && all_of(s.substr(0, 1), "") && all_of(s, "+.-");
}

// An absolute, normal path of plain characters: written into the image by a
// build hook, so nothing a shell or a path walk would read twice.
bool valid_file_path(std::string_view s) {
  if (s.size() < 2 || s.size() > 1024 || s[0] != '/' || s.back() == '/') return false;
  if (!std::all_of(s.begin(), s.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) ||
               std::string_view("._+@:/-").find(ch) != std::string_view::npos;
      }))
    return false;
  size_t pos = 1;
  while (pos <= s.size()) {
    size_t end = std::min(s.find('/', pos), s.size());
    auto part = s.substr(pos, end - pos);
    if (part.empty() || part == "." || part == "..") return false;
    pos = end + 1;
  }
  return true;
}

bool valid_mirror(std::string_view s) {
  bool scheme = s.starts_with("http://") || s.starts_with("https://") || s.starts_with("file:/");
  return scheme && s.size() <= 1024 && std::none_of(s.begin(), s.end(), [](char ch) {
           return static_cast<unsigned char>(ch) <= ' ' || ch == '\'' || ch == '"' || ch == '\\';
         });
}

}  // namespace

int ImageRecipe::line_of(const std::string& key) const {
  auto it = key_lines.find(key);
  return it == key_lines.end() ? line : it->second;
}

std::string recipe_text(const ImageRecipe& r) {
  std::set<std::string> packages(r.packages.begin(), r.packages.end());
  nlohmann::json j = {{"format", "berth-image-build/1"},
                      {"distro", r.distro},
                      {"suite", r.suite},
                      {"variant", r.variant},
                      {"packages", packages},
                      {"files", r.files},
                      {"run", r.run},
                      {"mirror", r.mirror}};
  return j.dump();
}

namespace internal {

void Walker::images(const Node& n, Declarations& d) {
  if (n.kind != Kind::Table) return expected(n, "images", table_word());
  for (auto& [name, body] : n.table) image(name, body, d);
}

void Walker::image(const std::string& name, const Node& n, Declarations& d) {
  std::string base = join_key("images", name);
  if (n.kind != Kind::Table) return expected(n, base, table_word());
  if (!valid_container_name(name))
    err(n.line, base,
        "invalid image name: expected lower-case letters, digits and '-' (not at either end)");
  ImageRecipe r;
  r.name = name;
  r.file = file_;
  r.line = n.line;
  for (auto& [k, v] : n.table) {
    std::string key = join_key(base, k);
    r.key_lines[k] = v.line;
    if (k == "distro") {
      if (v.kind != Kind::String || v.text != "debian")
        expected(v, key, "\"debian\" (the one distribution berth builds, with mmdebstrap)");
    } else if (k == "suite") {
      if (v.kind != Kind::String || !valid_suite(v.text))
        expected(v, key, "a Debian suite like \"bookworm\"");
      else
        r.suite = v.text;
    } else if (k == "variant") {
      auto ok = v.kind == Kind::String && std::find(kImageVariants.begin(), kImageVariants.end(),
                                                    v.text) != kImageVariants.end();
      if (!ok)
        expected(v, key,
                 "one of \"minbase\", \"essential\", \"apt\", \"required\", "
                 "\"important\", \"standard\" (mmdebstrap's variants)");
      else
        r.variant = v.text;
    } else if (k == "packages") {
      if (!get_strings(v, key, r.packages)) continue;
      for (size_t i = 0; i < r.packages.size(); ++i)
        if (!valid_package(r.packages[i]))
          expected(v.array[i], fmt::format("{}[{}]", key, i),
                   "a Debian package name (lower-case letters, digits, '+', '-', '.')");
    } else if (k == "files") {
      if (v.kind != Kind::Table) {
        expected(v, key, table_word() + " of absolute paths to their text");
        continue;
      }
      for (auto& [path, text] : v.table) {
        std::string fk = join_key(key, path);
        if (!valid_file_path(path))
          err(text.line, fk,
              "expected an absolute path without \".\", \"..\" or \"//\" parts, of letters, "
              "digits and ._+@:-");
        else if (get_string(text, fk, r.files[path]))
          continue;
        r.files.erase(path);
      }
    } else if (k == "run") {
      if (!get_strings(v, key, r.run)) continue;
      for (size_t i = 0; i < r.run.size(); ++i)
        if (r.run[i].empty())
          expected(v.array[i], fmt::format("{}[{}]", key, i), "a shell command");
    } else if (k == "mirror") {
      if (v.kind != Kind::String || !valid_mirror(v.text))
        expected(v, key, "a Debian mirror URL (http://, https:// or file:/)");
      else
        r.mirror = v.text;
    } else {
      unknown(v, base, k, kImageKeys);
    }
  }
  if (!r.key_lines.count("suite"))
    err(n.line, base, "expected \"suite\" (the Debian release to build, like \"bookworm\")");
  auto [it, inserted] = d.images.emplace(name, r);
  if (!inserted)
    err(n.line, base, fmt::format("already declared at {}:{}", it->second.file, it->second.line));
}

}  // namespace internal
}  // namespace berth::decl
