#include "decl/tree.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

namespace berth::decl {

Node::Node() = default;
Node::~Node() = default;
Node::Node(const Node&) = default;
Node::Node(Node&&) noexcept = default;
Node& Node::operator=(const Node&) = default;
Node& Node::operator=(Node&&) noexcept = default;

namespace {

int line_of(const toml::node& n) {
  return static_cast<int>(n.source().begin.line);
}

Node from_toml(const toml::node& n) {
  Node out;
  out.line = line_of(n);
  if (auto* t = n.as_table()) {
    out.kind = Node::Kind::Table;
    for (auto&& [k, v] : *t) out.table.emplace_back(std::string(k.str()), from_toml(v));
    // toml++ keeps keys sorted; document order reads better in messages.
    std::stable_sort(out.table.begin(), out.table.end(),
                     [](const auto& a, const auto& b) { return a.second.line < b.second.line; });
  } else if (auto* a = n.as_array()) {
    out.kind = Node::Kind::Array;
    for (auto& v : *a) out.array.push_back(from_toml(v));
  } else if (auto* s = n.as_string()) {
    out.kind = Node::Kind::String;
    out.text = s->get();
  } else if (auto* i = n.as_integer()) {
    out.kind = Node::Kind::Integer;
    out.integer = i->get();
  } else if (auto* f = n.as_floating_point()) {
    out.kind = Node::Kind::Float;
    out.real = f->get();
  } else if (auto* b = n.as_boolean()) {
    out.kind = Node::Kind::Bool;
    out.boolean = b->get();
  } else {
    out.kind = Node::Kind::Other;
    out.text = "a date or time";
  }
  return out;
}

// Recursive descent over JSON text that nlohmann has already accepted, to
// learn the line of each value; scalars are decoded by nlohmann itself.
class JsonLines {
 public:
  explicit JsonLines(std::string_view t) : t_(t) {}

  bool parse(Node& out, SyntaxError& err) {
    ws();
    if (!value(out, err)) return false;
    return true;
  }

 private:
  void ws() {
    while (i_ < t_.size() &&
           (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) {
      if (t_[i_] == '\n') ++line_;
      ++i_;
    }
  }

  bool close() {
    --depth_;
    return true;
  }

  std::string string_token() {
    size_t start = i_++;
    while (i_ < t_.size() && t_[i_] != '"') i_ += t_[i_] == '\\' ? 2 : 1;
    ++i_;
    return nlohmann::json::parse(t_.substr(start, i_ - start)).get<std::string>();
  }

  bool value(Node& out, SyntaxError& err) {
    out.line = line_;
    char c = t_[i_];
    if ((c == '{' || c == '[') && ++depth_ > kMaxDepth) {
      err = {line_, fmt::format("invalid JSON: nested deeper than {} levels", kMaxDepth)};
      return false;
    }
    if (c == '{') {
      out.kind = Node::Kind::Table;
      ++i_;
      ws();
      std::set<std::string> seen;
      if (t_[i_] == '}') {
        ++i_;
        return close();
      }
      for (;;) {
        ws();
        int key_line = line_;
        std::string key = string_token();
        if (!seen.insert(key).second) {
          err = {key_line, fmt::format("invalid JSON: duplicate key \"{}\"", key)};
          return false;
        }
        ws();
        ++i_;  // ':'
        ws();
        Node v;
        if (!value(v, err)) return false;
        v.line = key_line;  // the key's line is where a reader looks
        out.table.emplace_back(std::move(key), std::move(v));
        ws();
        if (t_[i_++] == '}') return close();  // else ','
      }
    }
    if (c == '[') {
      out.kind = Node::Kind::Array;
      ++i_;
      ws();
      if (t_[i_] == ']') {
        ++i_;
        return close();
      }
      for (;;) {
        ws();
        Node v;
        if (!value(v, err)) return false;
        out.array.push_back(std::move(v));
        ws();
        if (t_[i_++] == ']') return close();
      }
    }
    if (c == '"') {
      out.kind = Node::Kind::String;
      out.text = string_token();
      return true;
    }
    size_t start = i_;
    while (i_ < t_.size() && std::string_view(",]} \t\r\n").find(t_[i_]) == std::string_view::npos)
      ++i_;
    auto j = nlohmann::json::parse(t_.substr(start, i_ - start));
    if (j.is_boolean()) {
      out.kind = Node::Kind::Bool;
      out.boolean = j.get<bool>();
    } else if (j.is_number_integer() &&
               !(j.is_number_unsigned() && j.get<uint64_t>() > uint64_t{INT64_MAX})) {
      out.kind = Node::Kind::Integer;
      out.integer = j.get<int64_t>();
    } else if (j.is_number()) {
      out.kind = Node::Kind::Float;
      out.real = j.get<double>();
    } else {
      out.kind = Node::Kind::Other;
      out.text = "null";
    }
    return true;
  }

  static constexpr int kMaxDepth = 64;  // a declaration is a few levels deep
  std::string_view t_;
  size_t i_ = 0;
  int line_ = 1;
  int depth_ = 0;
};

}  // namespace

bool toml_to_tree(std::string_view text, const std::string& file, Node& out, SyntaxError& err) {
  // toml++ is built into this file (header-only, no exceptions: see
  // CMakeLists.txt), so a parse error is a value here, never an exception
  // unwinding out of Debian's shared libtomlplusplus.
  toml::parse_result r = toml::parse(text, file);
  if (!r) {
    const toml::parse_error& e = r.error();
    err.line = static_cast<int>(e.source().begin.line);
    std::string msg(e.description());
    if (!msg.empty()) msg[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(msg[0])));
    err.message = "invalid TOML: " + msg;
    return false;
  }
  out = from_toml(r.table());
  out.line = 1;
  return true;
}

bool json_to_tree(std::string_view text, Node& out, SyntaxError& err) {
  try {
    [[maybe_unused]] auto j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    size_t upto = std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    err.line = 1 + static_cast<int>(
                       std::count(text.begin(), text.begin() + static_cast<long>(upto), '\n'));
    std::string msg = e.what();
    // "[json.exception.parse_error.101] parse error at line 3, column 5: syntax error ..."
    if (auto p = msg.find(": "); p != std::string::npos && msg.find("parse error") < p)
      msg = msg.substr(p + 2);
    err.message = "invalid JSON: " + msg;
    return false;
  } catch (const nlohmann::json::exception& e) {
    // Not a parse_error: "number overflow parsing '1e999'" (out_of_range
    // 406), without a position; the line is the quoted token's.
    std::string msg = e.what();
    if (auto p = msg.find("] "); p != std::string::npos) msg = msg.substr(p + 2);
    err.line = 1;
    if (auto q = msg.find('\''); q != std::string::npos) {
      std::string token = msg.substr(q + 1, msg.rfind('\'') - q - 1);
      if (auto at = token.empty() ? std::string_view::npos : text.find(token); at != std::string_view::npos)
        err.line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
    }
    err.message = "invalid JSON: " + msg;
    return false;
  }
  JsonLines p(text);
  return p.parse(out, err);
}

}  // namespace berth::decl
