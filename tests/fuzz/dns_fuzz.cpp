// The forwarder's DNS parsing (net/dns): any datagram as a query, and any
// text as a resolv.conf. A parsed question lies within the message, its
// name has at most 253 characters, and a reply made for it starts with the
// same ID and question; a rewritten resolv.conf lists the given nameserver.
#include <algorithm>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "net/dns.h"

using namespace berth::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> msg(data, size);
  (void)dns_id(msg);
  if (auto q = parse_dns_query(msg)) {
    FUZZ_CHECK(q->end <= size && q->end >= 17, "question end %zu of %zu", q->end, size);
    FUZZ_CHECK(q->name.size() <= 253, "name of %zu characters", q->name.size());
    std::vector<std::pair<std::string, std::string>> hosts = {{"10.0.0.2", q->name},
                                                              {"fd00::2", q->name}};
    auto local = dns_local_answer(*q, hosts);
    auto r = dns_reply(msg, *q, local ? local->rcode : kDnsServFail,
                       local ? local->addresses : std::vector<IpAddress>{}, 5);
    FUZZ_CHECK(r.size() >= q->end, "reply shorter than the question");
    FUZZ_CHECK(dns_id(r) == q->id, "reply ID");
    FUZZ_CHECK(std::equal(r.begin() + 12, r.begin() + static_cast<long>(q->end), data + 12),
               "reply question differs");
    auto again = parse_dns_query(std::vector<uint8_t>(r.begin(), r.end()));
    FUZZ_CHECK(!again, "a reply parsed as a query");
  }
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)resolv_conf_nameservers(text);
  auto ns = parse_address("10.0.0.1");
  auto out = resolv_conf_with(text, {*ns}, "");
  auto back = resolv_conf_nameservers(out);
  FUZZ_CHECK(!back.empty() && back.front() == *ns, "rewritten resolv.conf lost its nameserver");
  return 0;
}
