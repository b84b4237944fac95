#include "net/names.h"

#include <cstdint>

#include "base/hash.h"

namespace berth::net {

// FNV-1a: fixed forever, since a change would rename every existing link.
std::string host_link_name(std::string_view prefix, std::string_view name) {
  std::string full = std::string(prefix) + std::string(name);
  if (full.size() <= kMaxLinkNameLength) return full;
  size_t keep = kMaxLinkNameLength - prefix.size() - 4;
  if (prefix.size() + 4 > kMaxLinkNameLength) keep = 0;
  std::string out =
      std::string(prefix.substr(0, kMaxLinkNameLength - 4)) + std::string(name.substr(0, keep));
  return out + fmt::format("{:04x}", fnv1a_32(name) & 0xffff);
}

Result<void> validate_link_name(std::string_view name) {
  if (name.empty()) return make_error("empty interface name");
  if (name.size() > kMaxLinkNameLength)
    return make_error("interface name '{}' is longer than {} bytes", name, kMaxLinkNameLength);
  if (name == "." || name == "..") return make_error("invalid interface name '{}'", name);
  for (unsigned char c : name)
    if (c == '/' || c == ':' || c <= ' ' || c == 0x7f)
      return make_error("invalid character in interface name '{}'", name);
  return ok();
}

}  // namespace berth::net
