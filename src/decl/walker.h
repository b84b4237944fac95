// Internal to decl: the schema walker behind parse_text, one pass over a
// document tree (from TOML or JSON) that fills the model and reports every
// type or syntax problem with its line. parse.cpp holds the walk, the scalar
// readers and the table of container keys; parse_keys.cpp the readers of the
// keys with a structure of their own (bind_mounts, resources, extra_veths, ...).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/table.h"
#include "decl/decl.h"
#include "decl/tree.h"

namespace berth::decl::internal {

inline const std::vector<std::string> kResourceKeys = {"memory", "cpu", "pids", "io_weight"};

class Walker {
 public:
  Walker(const std::string& file, bool json, std::vector<Diagnostic>& errors)
      : file_(file), json_(json), errors_(errors) {}

  void document(const Node& root, Declarations& d);

 private:
  // --- reporting (parse.cpp) -----------------------------------------------
  void err(int line, const std::string& key, std::string msg);
  std::string table_word() const { return json_ ? "an object" : "a table"; }
  std::string describe(const Node& n) const;
  void expected(const Node& n, const std::string& key, const std::string& what);
  void unknown(const Node& n, const std::string& prefix, const std::string& k,
               const std::vector<std::string>& candidates);

  // --- scalar readers (false: reported; parse.cpp) --------------------------
  bool get_bool(const Node& n, const std::string& key, bool& out);
  bool get_private_users(const Node& n, const std::string& key, PrivateUsers& out);
  bool get_string(const Node& n, const std::string& key, std::string& out);
  bool get_abs_path(const Node& n, const std::string& key, std::string& out);
  bool get_strings(const Node& n, const std::string& key, std::vector<std::string>& out);
  bool get_cidr(const Node& n, const std::string& key, int family, std::optional<Cidr>& out);
  bool get_link_name(const Node& n, const std::string& key, std::string& out);
  bool get_port(const Node& n, const std::string& key, uint16_t& out);
  bool get_signal(const Node& n, const std::string& key, std::optional<int>& out);
  bool get_duration(const Node& n, const std::string& key, std::chrono::milliseconds& out);

  // --- sections (parse.cpp) -------------------------------------------------
  void settings(const Node& n, Settings& s);
  void container(const std::string& name, const Node& n, Declarations& d);
  // [images.NAME] (parse_image.cpp)
  void images(const Node& n, Declarations& d);
  void image(const std::string& name, const Node& n, Declarations& d);
  // One handler per container key: the schema of a container.
  using Handler = void (*)(Walker&, Container&, const std::string& key, const Node&);
  static std::span<const Named<Handler>> handlers();
  // What an unknown key is compared with: every key, and the nested ones by
  // their full name so that a misplaced one ("memory") finds its home.
  static std::vector<std::string> container_keys();
  void field(Container& c, const std::string& k, const std::string& key, const Node& v);

  // --- keys with a structure of their own (parse_keys.cpp) ------------------
  void link_names(const std::string& key, const Node& v, std::vector<std::string>& out);
  void extra_hosts(Container& c, const std::string& key, const Node& v);
  void environment(Container& c, const std::string& key, const Node& v);
  void bind_mounts(Container& c, const std::string& key, const Node& v);
  void capabilities(Container& c, const std::string& key, const Node& v);
  void devices(Container& c, const std::string& key, const Node& v);
  void resources(Container& c, const std::string& key, const Node& v);
  void forward_ports(Container& c, const std::string& line_prefix, const std::string& key,
                     const Node& v, std::vector<PortForward>& out);
  void extra_veths(Container& c, const std::string& key, const Node& v);

  const std::string& file_;
  bool json_;
  std::vector<Diagnostic>& errors_;
};

}  // namespace berth::decl::internal
