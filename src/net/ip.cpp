#include "net/ip.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>

namespace berth::net {

int IpAddress::af() const {
  return family == Family::V4 ? AF_INET : AF_INET6;
}
size_t IpAddress::size() const {
  return family == Family::V4 ? 4 : 16;
}

std::string IpAddress::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(af(), bytes.data(), buf, sizeof buf);
  return buf;
}

int max_prefix_length(Family f) {
  return f == Family::V4 ? 32 : 128;
}

std::string IpPrefix::str() const {
  return fmt::format("{}/{}", address.str(), length);
}

IpPrefix IpPrefix::network() const {
  IpPrefix p = *this;
  for (size_t i = 0; i < address.size(); ++i) {
    int bits = length - static_cast<int>(i) * 8;
    uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bits));
    p.address.bytes[i] &= mask;
  }
  return p;
}

bool IpPrefix::is_host() const {
  return length == max_prefix_length(address.family);
}

bool IpPrefix::contains(const IpAddress& a) const {
  if (a.family != address.family) return false;
  IpPrefix other{a, length};
  return other.network().address == network().address;
}

bool IpPrefix::overlaps(const IpPrefix& o) const {
  if (o.address.family != address.family) return false;
  const IpPrefix& wider = length <= o.length ? *this : o;
  const IpPrefix& narrower = length <= o.length ? o : *this;
  return wider.contains(narrower.network().address);
}

Result<IpAddress> parse_address(std::string_view text) {
  std::string s(text);
  IpAddress a;
  if (s.find(':') != std::string::npos) {
    a.family = Family::V6;
    if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) return a;
  } else {
    a.family = Family::V4;
    if (::inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  }
  return make_error("invalid ip address '{}'", text);
}

Result<IpPrefix> parse_prefix(std::string_view text) {
  size_t slash = text.find('/');
  auto addr = parse_address(text.substr(0, slash));
  if (!addr) return make_error("invalid address '{}'", text);
  IpPrefix p{*addr, max_prefix_length(addr->family)};
  if (slash == std::string_view::npos) return p;
  std::string_view len = text.substr(slash + 1);
  int n = -1;
  auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
  if (len.empty() || len.size() > 3 || ec != std::errc() || end != len.data() + len.size() ||
      n < 0 || n > p.length)
    return make_error("invalid prefix length in '{}'", text);
  p.length = n;
  return p;
}

}  // namespace berth::net
