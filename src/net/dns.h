// The DNS messages berth's forwarder reads and writes (RFC 1035): a query's
// question, an answer for a NAME.containers name made from the hosts block,
// a SERVFAIL, and the nameserver lines of a resolv.conf. Pure functions on
// bytes and text, so that the parsers are fuzzed (tests/fuzz/dns_fuzz.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/ip.h"

namespace berth::net {

inline constexpr uint16_t kDnsTypeA = 1, kDnsTypeAAAA = 28, kDnsClassIN = 1;
inline constexpr uint8_t kDnsNoError = 0, kDnsServFail = 2, kDnsNxDomain = 3, kDnsNotImp = 4;

struct DnsQuestion {
  uint16_t id = 0;
  std::string name;  // lower case, no trailing dot ("" is the root)
  uint16_t type = 0, klass = 0;
  size_t end = 0;  // the offset just past the question
};

// The question of a standard query (QR 0, opcode QUERY, one question, names
// without compression); nullopt for anything else.
std::optional<DnsQuestion> parse_dns_query(std::span<const uint8_t> msg);

// The reply to q (from msg, the query): AA set, RD copied, RA set, rcode, and
// one A or AAAA record per address of q's family with the given TTL.
std::vector<uint8_t> dns_reply(std::span<const uint8_t> msg, const DnsQuestion& q, uint8_t rcode,
                               const std::vector<IpAddress>& addresses = {}, uint32_t ttl = 0);

// The 16-bit ID of a DNS message (0 when it is shorter than a header).
uint16_t dns_id(std::span<const uint8_t> msg);

// How the forwarder answers a name itself: the names under ".containers" are
// berth's (from the hosts block's entries: an A or AAAA answer, no data for
// another type or family, NXDOMAIN for an undeclared name); nullopt: not
// berth's, forward it.
struct DnsLocalAnswer {
  uint8_t rcode = kDnsNoError;
  std::vector<IpAddress> addresses;
};
std::optional<DnsLocalAnswer> dns_local_answer(
    const DnsQuestion& q, const std::vector<std::pair<std::string, std::string>>& hosts_entries);

// The "nameserver ADDR" lines of a resolv.conf, in order (scoped v6 addresses
// and unparsable ones left out).
std::vector<IpAddress> resolv_conf_nameservers(std::string_view text);

// A resolv.conf with `nameservers` and the other lines of `host` (search,
// domain, options; comments and its nameserver lines left out).
std::string resolv_conf_with(std::string_view host, const std::vector<IpAddress>& nameservers,
                             std::string_view comment);

}  // namespace berth::net
