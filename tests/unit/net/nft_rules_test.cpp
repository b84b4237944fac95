#include <gtest/gtest.h>

#include "net/container_network.h"
#include "net/nft.h"

namespace berth::net {
namespace {

TEST(NftRules, ForwardsAndMasquerade) {
  NatRules r;
  r.container = "web";
  r.local4 = *parse_address("10.233.1.2");
  r.local6 = *parse_address("fd62:6572:7468:1::2");
  r.forwards = {{"tcp", 8080, 80}, {"udp", 5353, 0}};
  r.masquerade = true;
  auto s = nat_rules_script(r);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_NE(
      s->find(
          "add rule ip berth prerouting fib daddr type local tcp dport 8080 dnat to 10.233.1.2:80 "
          "comment \"berth:web\""),
      std::string::npos)
      << *s;
  EXPECT_NE(
      s->find(
          "add rule ip berth output fib daddr type local udp dport 5353 dnat to 10.233.1.2:5353"),
      std::string::npos);
  EXPECT_NE(s->find("dnat to [fd62:6572:7468:1::2]:80"), std::string::npos);
  EXPECT_NE(s->find("ip saddr 127.0.0.0/8 ip daddr 10.233.1.2 masquerade"), std::string::npos);
  EXPECT_NE(s->find("ip6 saddr fd62:6572:7468:1::2 oifname != \"ve-*\""), std::string::npos);
  EXPECT_NE(s->find("add table ip6 berth"), std::string::npos);
}

TEST(NftRules, Rejects) {
  NatRules r;
  r.container = "web";
  r.forwards = {{"tcp", 8080, 80}};
  EXPECT_FALSE(nat_rules_script(r).ok());  // no address
  r.local4 = *parse_address("10.233.1.2");
  r.forwards = {{"sctp", 8080, 80}};
  EXPECT_FALSE(nat_rules_script(r).ok());
  r.forwards = {{"tcp", 0, 80}};
  EXPECT_FALSE(nat_rules_script(r).ok());
  r.forwards = {};
  r.container = "bad\"name";
  EXPECT_FALSE(nat_rules_script(r).ok());
  r.container = "web";
  EXPECT_EQ(*nat_rules_script(r), "");
}

TEST(ContainerNetworkConfig, Validation) {
  ContainerNetwork n;
  n.name = "web";
  EXPECT_TRUE(validate_network(n).ok());
  EXPECT_FALSE(n.has_veth());
  n.host_address = *parse_prefix("fd00::1");
  EXPECT_FALSE(validate_network(n).ok());
  n.host_address = *parse_prefix("10.233.1.1");
  EXPECT_TRUE(validate_network(n).ok());
  EXPECT_TRUE(n.has_veth());
  EXPECT_EQ(n.host_link(), "ve-web");
  n.host_bridge = "br0";
  EXPECT_EQ(n.host_link(), "vb-web");
  n.forward_ports = {{"tcp", 80, 80}};
  EXPECT_FALSE(validate_network(n).ok());  // no local address
  n.local_address = *parse_prefix("10.233.1.2/24");
  EXPECT_TRUE(validate_network(n).ok());
  n.interfaces = {"eth0"};
  EXPECT_FALSE(validate_network(n).ok());
  n.interfaces = {};
  n.name = "a b";
  EXPECT_FALSE(validate_network(n).ok());
  EXPECT_EQ(macvlan_link_name("enp0s31f6"), "mv-enp0s31f6");
  EXPECT_EQ(macvlan_link_name("enp0s31f6xyzw").size(), 15u);
}

}  // namespace
}  // namespace berth::net
