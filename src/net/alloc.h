// Automatic address allocation for `berth create`: the first free
// 10.233.N.1/10.233.N.2 pair and its IPv6 twin in berth's ULA prefix.
#pragma once

#include <vector>

#include "base/result.h"
#include "net/ip.h"

namespace berth::net {

// berth's unique-local prefix ("berth" in ASCII after fd): pair N uses
// fd62:6572:7468:N::1 (host) and fd62:6572:7468:N::2 (container).
inline constexpr const char* kBerthUlaPrefix = "fd62:6572:7468::/48";
inline constexpr const char* kBerthV4Pool = "10.233.0.0/16";

struct AddressPair {
  int index = 0;  // N
  IpAddress host4, local4, host6, local6;
};

// The pair for N (0..255), whether free or not.
AddressPair address_pair(int n);

// The first N in 0..255 whose 10.233.N.0/24 and fd62:6572:7468:N::/64 both
// overlap none of `used` (addresses or prefixes of existing containers, as
// parse_prefix gives them), so a used 10.233.3.0/24, 10.233.3.7 or
// 10.233.0.0/16 all block N=3. Fails with "out of addresses" when none is free.
Result<AddressPair> allocate_address_pair(const std::vector<IpPrefix>& used);

}  // namespace berth::net
