#include "net/ip.h"

#include <gtest/gtest.h>

#include "net/alloc.h"

namespace berth::net {
namespace {

IpPrefix P(const char* s) {
  auto r = parse_prefix(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.error().message;
  return r.ok() ? *r : IpPrefix{};
}

TEST(Ip, ParsesPlainAddressesAsHostPrefixes) {
  EXPECT_EQ(P("10.233.1.2").str(), "10.233.1.2/32");
  EXPECT_EQ(P("fc00::1:2").str(), "fc00::1:2/128");
  EXPECT_TRUE(P("10.233.1.2").is_host());
  EXPECT_EQ(P("10.233.1.2").address.family, Family::V4);
  EXPECT_EQ(P("FD62:6572:7468:0::2").str(), "fd62:6572:7468::2/128");
}

TEST(Ip, KeepsPrefixAndHostBits) {
  IpPrefix p = P("10.233.1.2/24");
  EXPECT_EQ(p.str(), "10.233.1.2/24");
  EXPECT_EQ(p.network().str(), "10.233.1.0/24");
  EXPECT_FALSE(p.is_host());
  EXPECT_EQ(P("fd62::5/64").network().str(), "fd62::/64");
  EXPECT_EQ(P("10.1.2.3/0").network().str(), "0.0.0.0/0");
  EXPECT_EQ(P("10.255.255.255/9").network().str(), "10.128.0.0/9");
}

TEST(Ip, RejectsGarbage) {
  for (const char* bad :
       {"", "10.0.0", "10.0.0.256", "10.0.0.1/", "10.0.0.1/33", "/24", "10.0.0.1/-1", "10.0.0.1/2x",
        "fc00::/129", "fc00:::1", "hello", "10.0.0.1/24/1", " 10.0.0.1", "10.0.0.1/0024"}) {
    EXPECT_FALSE(parse_prefix(bad).ok()) << "accepted '" << bad << "'";
  }
  EXPECT_FALSE(parse_address("10.0.0.1/24").ok());
  EXPECT_TRUE(parse_address("::").ok());
}

TEST(Ip, ContainsAndOverlaps) {
  EXPECT_TRUE(P("10.233.3.0/24").contains(*parse_address("10.233.3.1")));
  EXPECT_FALSE(P("10.233.3.0/24").contains(*parse_address("10.233.4.1")));
  EXPECT_FALSE(P("10.233.3.0/24").contains(*parse_address("fc00::1")));
  EXPECT_TRUE(P("10.233.0.0/16").overlaps(P("10.233.7.2")));
  EXPECT_TRUE(P("10.233.7.2").overlaps(P("10.233.0.0/16")));
  EXPECT_FALSE(P("10.233.7.2").overlaps(P("10.233.7.1")));
  EXPECT_FALSE(P("10.233.0.0/16").overlaps(P("fd62::/16")));
  EXPECT_TRUE(P("fd62:6572:7468:3::9/64").overlaps(P("fd62:6572:7468:3::/64")));
}

TEST(Alloc, FirstPairWhenNothingIsUsed) {
  auto p = allocate_address_pair({});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->index, 0);
  EXPECT_EQ(p->host4.str(), "10.233.0.1");
  EXPECT_EQ(p->local4.str(), "10.233.0.2");
  EXPECT_EQ(p->host6.str(), "fd62:6572:7468::1");
  EXPECT_EQ(p->local6.str(), "fd62:6572:7468::2");
}

TEST(Alloc, SkipsUsedAddressesAndPrefixes) {
  auto p =
      allocate_address_pair({P("10.233.0.1"), P("10.233.1.2"), P("10.233.2.0/24"), P("10.233.3.77"),
                             P("fd62:6572:7468:4::2"), P("192.168.1.1/24"), P("10.232.5.0/24")});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->index, 5);
  EXPECT_EQ(p->host4.str(), "10.233.5.1");
  EXPECT_EQ(p->local4.str(), "10.233.5.2");
  EXPECT_EQ(p->host6.str(), "fd62:6572:7468:5::1");
  EXPECT_EQ(p->local6.str(), "fd62:6572:7468:5::2");
  EXPECT_EQ(address_pair(171).local6.str(), "fd62:6572:7468:ab::2");
}

TEST(Alloc, AWidePrefixBlocksEverything) {
  auto p = allocate_address_pair({P("10.233.0.0/16")});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("out of addresses"), std::string::npos);
  EXPECT_FALSE(allocate_address_pair({P("fd62:6572:7468::/48")}).ok());
}

TEST(Alloc, LastFreePairAndExhaustion) {
  std::vector<IpPrefix> used;
  for (int n = 0; n < 255; ++n) used.push_back(host_prefix(address_pair(n).local4));
  auto p = allocate_address_pair(used);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->host4.str(), "10.233.255.1");
  used.push_back(host_prefix(address_pair(255).host6));
  EXPECT_FALSE(allocate_address_pair(used).ok());
}

}  // namespace
}  // namespace berth::net
