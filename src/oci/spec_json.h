// Internal to the oci module: the JSON readers that the spec parsers share
// (a bad field throws Bad, which guarded() turns into an Error naming its
// JSON path) and the writers of the serializers, plus the sections that one
// file parses or writes for another.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oci/spec.h"

namespace berth::oci::internal {

using nlohmann::json;

// Parse failures travel as exceptions inside the oci module only; the public
// functions turn them into Error values naming the JSON path (guarded()).
struct Bad {
  std::string path, msg;
};

inline const char* type_name(const json& v) {
  return v.type_name();
}

inline std::string join(const std::string& p, const std::string& k) {
  return p.empty() ? k : p + "." + k;
}
inline std::string idx(const std::string& p, size_t i) {
  return fmt::format("{}[{}]", p, i);
}

inline void expect(bool cond, const std::string& path, const char* what, const json& v) {
  if (!cond) throw Bad{path, fmt::format("expected {}, got {}", what, type_name(v))};
}

inline const json* field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

inline void object(const json& v, const std::string& path) {
  expect(v.is_object(), path, "an object", v);
}

inline std::string str(const json& v, const std::string& path) {
  expect(v.is_string(), path, "a string", v);
  return v.get<std::string>();
}
inline bool boolean(const json& v, const std::string& path) {
  expect(v.is_boolean(), path, "a boolean", v);
  return v.get<bool>();
}
inline int64_t i64(const json& v, const std::string& path) {
  expect(v.is_number_integer(), path, "an integer", v);
  return v.get<int64_t>();
}
inline uint64_t u64(const json& v, const std::string& path) {
  expect(v.is_number_integer(), path, "an integer", v);
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  int64_t x = v.get<int64_t>();
  // -1 means "unlimited" in several places; keep it as all ones.
  if (x < 0 && x != -1) throw Bad{path, fmt::format("expected a non-negative integer, got {}", x)};
  return static_cast<uint64_t>(x);
}
inline uint32_t u32(const json& v, const std::string& path) {
  uint64_t x = u64(v, path);
  if (x > UINT32_MAX) throw Bad{path, fmt::format("{} is out of range for a 32-bit value", x)};
  return static_cast<uint32_t>(x);
}

template <typename T, typename F>
void opt(const json& obj, const char* key, const std::string& path, T& out, F conv) {
  if (auto* v = field(obj, key)) out = conv(*v, join(path, key));
}

inline std::vector<std::string> strings(const json& v, const std::string& path) {
  expect(v.is_array(), path, "an array of strings", v);
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); i++) out.push_back(str(v[i], idx(path, i)));
  return out;
}

template <typename T, typename F>
std::vector<T> array(const json& v, const std::string& path, F conv) {
  expect(v.is_array(), path, "an array", v);
  std::vector<T> out;
  for (size_t i = 0; i < v.size(); i++) out.push_back(conv(v[i], idx(path, i)));
  return out;
}

inline std::map<std::string, std::string> string_map(const json& v, const std::string& path) {
  object(v, path);
  std::map<std::string, std::string> out;
  for (auto& [k, x] : v.items()) out[k] = str(x, join(path, k));
  return out;
}

inline IdMapping id_mapping(const json& v, const std::string& p) {
  object(v, p);
  IdMapping m;
  opt(v, "containerID", p, m.container_id, u32);
  opt(v, "hostID", p, m.host_id, u32);
  opt(v, "size", p, m.size, u32);
  return m;
}

template <typename F>
auto guarded(F f) -> Result<decltype(f())> {
  try {
    return f();
  } catch (const Bad& b) {
    return make_error("{}: {}", b.path, b.msg);
  } catch (const json::exception& e) {
    return make_error("{}", e.what());
  }
}

// Writers.
inline json j_mapping(const IdMapping& m) {
  return {{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}};
}
inline json j_mappings(const std::vector<IdMapping>& v) {
  json a = json::array();
  for (auto& m : v) a.push_back(j_mapping(m));
  return a;
}
template <typename T>
void put(json& j, const char* k, const std::optional<T>& v) {
  if (v) j[k] = *v;
}
inline void put_str(json& j, const char* k, const std::string& v) {
  if (!v.empty()) j[k] = v;
}

// Sections parsed (and written) in a file of their own, for spec.cpp.
Resources resources(const json& v, const std::string& p);  // resources.cpp
Seccomp seccomp(const json& v, const std::string& p);      // linux.cpp
Linux linux_section(const json& v, const std::string& p);  // linux.cpp
json j_linux(const Linux& l);                              // linux.cpp

}  // namespace berth::oci::internal
