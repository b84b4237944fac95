// Integers out of JSON without undefined behaviour. nlohmann's get<int>() of
// a float, or of an integer the target type cannot hold, is a cast the
// language leaves undefined (fuzz_control found "monitor_pid": 12320000000.5
// in a status file). Every integer berth reads from JSON goes through here.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace berth {

// The value of `j` as a T, if it is a JSON integer that T holds exactly.
template <std::integral T>
std::optional<T> json_integer(const nlohmann::json& j) {
  if (j.is_number_unsigned()) {
    auto v = j.get<uint64_t>();
    if (!std::in_range<T>(v)) return std::nullopt;
    return static_cast<T>(v);
  }
  if (j.is_number_integer()) {
    auto v = j.get<int64_t>();
    if (!std::in_range<T>(v)) return std::nullopt;
    return static_cast<T>(v);
  }
  return std::nullopt;
}

// obj[key] as a T, `fallback` when the key is absent; throws
// std::invalid_argument naming the key when it is there but not an integer T
// holds (readers of state files treat that as a corrupt file).
template <std::integral T>
T json_integer_field(const nlohmann::json& obj, const char* key, T fallback) {
  auto it = obj.find(key);
  if (it == obj.end()) return fallback;
  if (auto v = json_integer<T>(*it)) return *v;
  throw std::invalid_argument(std::string(key) + ": expected an integer in range, got " +
                              it->dump());
}

// obj[key] as a T; throws std::invalid_argument naming the key when it is
// absent or not an integer T holds.
template <std::integral T>
T json_integer_at(const nlohmann::json& obj, const char* key) {
  if (!obj.contains(key)) throw std::invalid_argument(std::string(key) + ": missing");
  return json_integer_field<T>(obj, key, T{});
}

}  // namespace berth
