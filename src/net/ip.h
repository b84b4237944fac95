// IPv4/IPv6 addresses and prefixes for berth's networking: parsing the
// "ADDR" / "ADDR/LEN" strings of declarations, formatting, containment.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace berth::net {

enum class Family { V4, V6 };

struct IpAddress {
  Family family = Family::V4;
  std::array<uint8_t, 16> bytes{};  // network order; v4 uses the first 4

  int af() const;           // AF_INET or AF_INET6
  size_t size() const;      // 4 or 16
  std::string str() const;  // canonical text (inet_ntop)
  bool operator==(const IpAddress&) const = default;
};

// An address with a prefix length. The address keeps its host bits, so
// "10.233.1.2/24" is the address 10.233.1.2 on the subnet 10.233.1.0/24 (the
// form a bridged container's local address takes).
struct IpPrefix {
  IpAddress address;
  int length = 32;

  std::string str() const;   // "ADDR/LEN"
  IpPrefix network() const;  // host bits cleared
  bool is_host() const;      // /32 or /128
  bool contains(const IpAddress& a) const;
  bool overlaps(const IpPrefix& o) const;  // one contains the other's network
  bool operator==(const IpPrefix&) const = default;
};

int max_prefix_length(Family f);  // 32 or 128

Result<IpAddress> parse_address(std::string_view text);
// "ADDR" means a host prefix (/32 or /128); "ADDR/LEN" keeps LEN.
Result<IpPrefix> parse_prefix(std::string_view text);
inline IpPrefix host_prefix(const IpAddress& a) {
  return {a, max_prefix_length(a.family)};
}

}  // namespace berth::net
