// A small document tree with the line of every value, built from TOML
// (toml++) or JSON, so that one schema walker serves both formats.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::decl {

struct Node {
  enum class Kind { Table, Array, String, Integer, Float, Bool, Other };
  // Out of line (tree.cpp): clang with libstdc++ cannot check the implicit
  // ones while `table` holds pairs of the still incomplete Node.
  Node();
  ~Node();
  Node(const Node&);
  Node(Node&&) noexcept;
  Node& operator=(const Node&);
  Node& operator=(Node&&) noexcept;
  Kind kind = Kind::Other;
  int line = 0;
  std::string text;  // String; for Other a short description ("a date")
  int64_t integer = 0;
  double real = 0;
  bool boolean = false;
  std::vector<std::pair<std::string, Node>> table;  // in document order when known
  std::vector<Node> array;
};

struct SyntaxError {
  int line = 0;
  std::string message;
};

// On a syntax error, returns false and fills err.
bool toml_to_tree(std::string_view text, const std::string& file, Node& out, SyntaxError& err);
// Duplicate keys in an object are a syntax error (JSON parsers disagree on them).
bool json_to_tree(std::string_view text, Node& out, SyntaxError& err);

}  // namespace berth::decl
