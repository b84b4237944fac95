#include "net/alloc.h"

namespace berth::net {

namespace {
IpPrefix v4_block(int n) {
  return {address_pair(n).host4, 24};
}
IpPrefix v6_block(int n) {
  return {address_pair(n).host6, 64};
}
}  // namespace

AddressPair address_pair(int n) {
  AddressPair p;
  p.index = n;
  p.host4 = *parse_address(fmt::format("10.233.{}.1", n));
  p.local4 = *parse_address(fmt::format("10.233.{}.2", n));
  p.host6 = *parse_address(fmt::format("fd62:6572:7468:{:x}::1", n));
  p.local6 = *parse_address(fmt::format("fd62:6572:7468:{:x}::2", n));
  return p;
}

Result<AddressPair> allocate_address_pair(const std::vector<IpPrefix>& used) {
  for (int n = 0; n <= 255; ++n) {
    IpPrefix b4 = v4_block(n), b6 = v6_block(n);
    bool taken = false;
    for (const auto& u : used)
      if (u.overlaps(b4) || u.overlaps(b6)) {
        taken = true;
        break;
      }
    if (!taken) return address_pair(n);
  }
  return make_error("out of addresses: every pair in {} is in use", kBerthV4Pool);
}

}  // namespace berth::net
