// Checked number parsing for text from users and files: the whole string must
// be the number, in range, with no sign the type cannot hold, no leading
// space and no exception (std::stoi and friends throw on range errors and
// std::stoul takes "-1" for ULONG_MAX).
#pragma once

#include <charconv>
#include <cmath>
#include <concepts>
#include <optional>
#include <string_view>

namespace berth {

// A decimal integer of type T ("-" allowed only for signed T, no "+").
template <std::integral T>
std::optional<T> parse_int(std::string_view s) {
  T v{};
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// A finite decimal number ("1", "1.5", "2e3"; no "inf", "nan" or hex).
inline std::optional<double> parse_double(std::string_view s) {
  double v = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace berth
