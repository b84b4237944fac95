// FNV-1a: a small, stable, non-cryptographic hash for names that must not
// change between versions (host link names, uid ranges, cache keys).
#pragma once

#include <cstdint>
#include <string_view>

namespace berth {

constexpr uint32_t fnv1a_32(std::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

constexpr uint64_t fnv1a_64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace berth
