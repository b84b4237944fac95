// The DNS messages of berth's forwarder: a query's question, the answers for
// NAME.containers, and the nameservers of a resolv.conf.
#include "net/dns.h"

#include <gtest/gtest.h>

namespace berth::net {
namespace {

// A query as `dig` sends it: ID, RD, one question.
std::vector<uint8_t> query(uint16_t id, const std::string& name, uint16_t type) {
  std::vector<uint8_t> m = {
      static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t p = 0;
  while (p <= name.size()) {
    size_t e = name.find('.', p);
    if (e == std::string::npos) e = name.size();
    m.push_back(static_cast<uint8_t>(e - p));
    m.insert(m.end(), name.begin() + static_cast<long>(p), name.begin() + static_cast<long>(e));
    p = e + 1;
  }
  m.push_back(0);
  m.push_back(static_cast<uint8_t>(type >> 8));
  m.push_back(static_cast<uint8_t>(type));
  m.push_back(0);
  m.push_back(1);
  return m;
}

const std::vector<std::pair<std::string, std::string>> kHosts = {
    {"10.233.1.2", "web.containers"},
    {"fd62:6572:7468:1::2", "web.containers"},
    {"10.233.2.2", "db.containers"}};

TEST(Dns, ParsesAQuestionLowerCased) {
  auto q = parse_dns_query(query(0x1234, "Web.Containers", kDnsTypeA));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->id, 0x1234);
  EXPECT_EQ(q->name, "web.containers");
  EXPECT_EQ(q->type, kDnsTypeA);
  EXPECT_EQ(q->klass, kDnsClassIN);
}

TEST(Dns, RefusesWhatIsNotAPlainQuery) {
  auto m = query(1, "web.containers", kDnsTypeA);
  auto resp = m;
  resp[2] |= 0x80;  // a response
  EXPECT_FALSE(parse_dns_query(resp));
  auto two = m;
  two[5] = 2;  // two questions
  EXPECT_FALSE(parse_dns_query(two));
  auto cut = m;
  cut.resize(cut.size() - 3);
  EXPECT_FALSE(parse_dns_query(cut));
  auto ptr = m;
  ptr[12] = 0xc0;  // a compression pointer in the question
  EXPECT_FALSE(parse_dns_query(ptr));
  EXPECT_FALSE(parse_dns_query(std::vector<uint8_t>(11, 0)));
}

TEST(Dns, AnswersAContainerNameWithItsAddressesOfTheFamilyAsked) {
  auto m = query(7, "web.containers", kDnsTypeAAAA);
  auto q = parse_dns_query(m);
  ASSERT_TRUE(q);
  auto local = dns_local_answer(*q, kHosts);
  ASSERT_TRUE(local);
  EXPECT_EQ(local->rcode, kDnsNoError);
  auto r = dns_reply(m, *q, local->rcode, local->addresses, 5);
  // Header: same ID, QR+AA+RD, RA, one question, one answer (the v6 one).
  ASSERT_GE(r.size(), m.size() + 28);
  EXPECT_EQ(dns_id(r), 7);
  EXPECT_EQ(r[2], 0x85);
  EXPECT_EQ(r[3], 0x80);
  EXPECT_EQ(r[7], 1);
  std::vector<uint8_t> question(m.begin() + 12, m.end());
  EXPECT_EQ(
      std::vector<uint8_t>(r.begin() + 12, r.begin() + 12 + static_cast<long>(question.size())),
      question);
  auto v6 = parse_address("fd62:6572:7468:1::2");
  EXPECT_TRUE(std::equal(v6->bytes.begin(), v6->bytes.end(), r.end() - 16));
  EXPECT_EQ(r.size(), m.size() + 12 + 16);
}

TEST(Dns, UnknownContainerIsNxdomainOtherTypeIsNoData) {
  auto q = parse_dns_query(query(1, "nope.containers", kDnsTypeA));
  auto a = dns_local_answer(*q, kHosts);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->rcode, kDnsNxDomain);
  auto mx = parse_dns_query(query(1, "db.containers", 15));
  auto b = dns_local_answer(*mx, kHosts);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->rcode, kDnsNoError);
  auto m = query(1, "db.containers", kDnsTypeAAAA);
  auto q6 = parse_dns_query(m);
  auto r = dns_reply(m, *q6, kDnsNoError, dns_local_answer(*q6, kHosts)->addresses);
  EXPECT_EQ(r[7], 0);  // no AAAA for db: no answer, no error
}

TEST(Dns, OtherNamesAreForwarded) {
  for (std::string n : {"example.org", "containers.example.org", "xcontainers"}) {
    auto q = parse_dns_query(query(1, n, kDnsTypeA));
    ASSERT_TRUE(q) << n;
    EXPECT_FALSE(dns_local_answer(*q, kHosts)) << n;
  }
}

TEST(Dns, ServfailKeepsTheQuestion) {
  auto m = query(9, "example.org", kDnsTypeA);
  auto q = parse_dns_query(m);
  auto r = dns_reply(m, *q, kDnsServFail);
  EXPECT_EQ(r.size(), m.size());
  EXPECT_EQ(r[3] & 0x0f, kDnsServFail);
}

TEST(Dns, ResolvConfNameserversAndRewrite) {
  std::string host =
      "# generated\nnameserver 127.0.0.53\nnameserver\tfd00::1\nnameserver fe80::1%eth0\n"
      "search example.test\noptions edns0 trust-ad\nnameservers 1.2.3.4\n";
  auto ns = resolv_conf_nameservers(host);
  ASSERT_EQ(ns.size(), 2u);
  EXPECT_EQ(ns[0].str(), "127.0.0.53");
  EXPECT_EQ(ns[1].str(), "fd00::1");
  auto out = resolv_conf_with(host, {*parse_address("10.233.1.1")}, "why");
  EXPECT_EQ(out, "# why\nnameserver 10.233.1.1\nsearch example.test\noptions edns0 trust-ad\n");
}

}  // namespace
}  // namespace berth::net
