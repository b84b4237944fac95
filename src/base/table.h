// Fixed name -> value tables as constant arrays: no allocation, no static
// constructor, searched in order (each has a few dozen entries at most).
// A function-local static std::map is built on first use wherever the heap
// happens to have room, and its nodes then pin those pages for the life of
// the process: in a monitor that supervises for days, tens of kilobytes.
#pragma once

#include <cstddef>
#include <string_view>

namespace berth {

template <typename V>
struct Named {
  std::string_view name;
  V value;
};

// The value named `name`, or nullptr.
template <typename V, std::size_t N>
constexpr const V* lookup(const Named<V> (&table)[N], std::string_view name) {
  for (const auto& e : table)
    if (e.name == name) return &e.value;
  return nullptr;
}

// Whether `name` is one of `names`.
template <std::size_t N>
constexpr bool contains(const std::string_view (&names)[N], std::string_view name) {
  for (auto n : names)
    if (n == name) return true;
  return false;
}

}  // namespace berth
