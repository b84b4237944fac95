// Low-level netlink operations, each checked with `ip` inside a namespace
// the test owns.
#include <gtest/gtest.h>

#include <regex>

#include "net/addr.h"
#include "net/link.h"
#include "net/names.h"
#include "netns_fixture.h"

namespace berth::net {
namespace {

using testing::TestNetns;

class NetLinks : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::is_root()) {
      GTEST_SKIP() << "needs root (uid 0)";
    }
    ns_before_ = testing::netns_inode_of_this_thread();
  }
  void TearDown() override {
    // No function may leave the calling thread in another namespace.
    if (ns_before_) {
      EXPECT_EQ(testing::netns_inode_of_this_thread(), ns_before_);
    }
  }
  ino_t ns_before_ = 0;
};

TEST_F(NetLinks, VethEndInAnotherNamespaceRenameMacUpDown) {
  TestNetns a, b;
  NlSocket na = a.nl(), nb = b.nl();
  ASSERT_TRUE(create_veth(na, "ve-x", "host0", b.fd()).ok());
  EXPECT_NE(a.out("ip -o link show ve-x").find("ve-x@"), std::string::npos);
  EXPECT_EQ(a.sh("ip link show host0").status, 1);  // the peer is only in b
  EXPECT_NE(b.out("ip -o link show host0").find("host0@"), std::string::npos);

  ASSERT_TRUE(rename_link(nb, "host0", "eth0").ok());
  ASSERT_TRUE(set_link_mac(nb, "eth0", "02:42:ac:11:00:02").ok());
  ASSERT_TRUE(set_link_up(nb, "eth0").ok());
  std::string show = b.out("ip -o link show eth0");
  EXPECT_NE(show.find("link/ether 02:42:ac:11:00:02"), std::string::npos) << show;
  EXPECT_TRUE(std::regex_search(show, std::regex("[<,]UP[,>]"))) << show;
  auto info = get_link(nb, "eth0");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->kind, "veth");
  EXPECT_EQ(info->mac, "02:42:ac:11:00:02");
  EXPECT_TRUE(info->up());
  ASSERT_TRUE(set_link_up(nb, "eth0", false).ok());
  EXPECT_FALSE(std::regex_search(b.out("ip -o link show eth0"), std::regex("[<,]UP[,>]")));
  EXPECT_FALSE(set_link_mac(nb, "eth0", "not-a-mac").ok());

  auto missing = find_link(nb, "nosuch0");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto r = get_link(nb, "nosuch0");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ENODEV);
  EXPECT_NE(r.error().message.find("nosuch0"), std::string::npos);

  EXPECT_FALSE(create_veth(na, "ve-x", "other", b.fd()).ok());  // exists
  ASSERT_TRUE(delete_link(na, "ve-x").ok());
  EXPECT_EQ(b.sh("ip link show eth0").status, 1);  // the peer went with it
  auto again = delete_link_if_exists(na, "ve-x");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
}

TEST_F(NetLinks, MoveLinkIntoNamespaceAndBackRenamed) {
  TestNetns a, b;
  NlSocket na = a.nl(), nb = b.nl();
  ASSERT_TRUE(create_veth(na, "phys0", "phys0p").ok());
  ASSERT_TRUE(move_link(na, "phys0", b.fd(), "lan0").ok());
  EXPECT_EQ(a.sh("ip link show phys0").status, 1);
  EXPECT_EQ(b.sh("ip link show lan0").status, 0);
  ASSERT_TRUE(move_link(nb, "lan0", a.fd(), "phys0").ok());
  EXPECT_EQ(a.sh("ip link show phys0").status, 0);
  EXPECT_EQ(b.sh("ip link show lan0").status, 1);
}

TEST_F(NetLinks, BridgeEnslaveMacvlanAddressesRoutes) {
  TestNetns a, b;
  NlSocket na = a.nl(), nb = b.nl();
  ASSERT_TRUE(create_bridge(na, "br0").ok());
  ASSERT_TRUE(create_veth(na, "vb-x", "peer").ok());
  ASSERT_TRUE(set_link_master(na, "vb-x", "br0").ok());
  EXPECT_NE(a.out("ip -o link show vb-x").find("master br0"), std::string::npos);
  EXPECT_EQ(get_link(na, "br0")->kind, "bridge");
  EXPECT_EQ(get_link(na, "vb-x")->master, get_link(na, "br0")->index);

  ASSERT_TRUE(create_macvlan(na, "peer", "mv-peer", b.fd()).ok());
  std::string mv = b.out("ip -d -o link show mv-peer");
  EXPECT_NE(mv.find("macvlan mode bridge"), std::string::npos) << mv;
  EXPECT_FALSE(create_macvlan(na, "nosuch0", "mv-nosuch0", b.fd()).ok());

  ASSERT_TRUE(set_link_up(nb, "mv-peer").ok());
  ASSERT_TRUE(add_address(nb, "mv-peer", *parse_prefix("192.168.50.2/24")).ok());
  ASSERT_TRUE(add_address(nb, "mv-peer", *parse_prefix("fd99::2")).ok());
  ASSERT_TRUE(
      add_route(nb, *parse_prefix("10.9.0.0/16"), "mv-peer", *parse_address("192.168.50.1")).ok());
  ASSERT_TRUE(add_route(nb, *parse_prefix("fd98::1"), "mv-peer").ok());
  ASSERT_TRUE(add_default_route(nb, *parse_address("fd98::1"), "mv-peer").ok());
  EXPECT_FALSE(
      add_route(nb, *parse_prefix("fd97::/64"), "mv-peer", *parse_address("10.0.0.1")).ok());
  std::string addrs = b.out("ip -o addr show mv-peer");
  EXPECT_NE(addrs.find("inet 192.168.50.2/24"), std::string::npos) << addrs;
  EXPECT_NE(addrs.find("inet6 fd99::2/128 scope global nodad"), std::string::npos) << addrs;
  EXPECT_NE(b.out("ip route").find("10.9.0.0/16 via 192.168.50.1 dev mv-peer"), std::string::npos);
  std::string r6 = b.out("ip -6 route");
  EXPECT_NE(r6.find("fd98::1 dev mv-peer"), std::string::npos) << r6;
  EXPECT_NE(r6.find("default via fd98::1 dev mv-peer"), std::string::npos) << r6;
  auto listed = list_addresses(nb, "mv-peer");
  ASSERT_TRUE(listed.ok());
  bool found = false;
  for (const auto& p : *listed) found |= p.str() == "192.168.50.2/24";
  EXPECT_TRUE(found);
  auto routes = list_routes(nb, Family::V6);
  ASSERT_TRUE(routes.ok());
  bool def = false;
  for (const auto& r : *routes)
    def |= r.dst.length == 0 && r.gateway && r.gateway->str() == "fd98::1";
  EXPECT_TRUE(def);
}

TEST_F(NetLinks, SysctlsAreWrittenInTheTargetNamespaceOnly) {
  TestNetns a;
  auto mine = read_sysctl(kCurrentNetns, "net/ipv4/conf/all/route_localnet");
  ASSERT_TRUE(mine.ok());
  ASSERT_TRUE(write_sysctl(a.fd(), "net/ipv4/conf/all/route_localnet", "1").ok());
  EXPECT_EQ(a.out("cat /proc/sys/net/ipv4/conf/all/route_localnet"), "1\n");
  EXPECT_EQ(*read_sysctl(a.fd(), "net/ipv4/conf/all/route_localnet"), "1");
  EXPECT_EQ(*read_sysctl(kCurrentNetns, "net/ipv4/conf/all/route_localnet"), *mine);
}

TEST_F(NetLinks, LongContainerNamesGiveUsableLinkNames) {
  TestNetns a, b;
  NlSocket na = a.nl();
  std::string name = host_link_name("ve-", "a-very-long-container-name");
  ASSERT_TRUE(create_veth(na, name, "eth0", b.fd()).ok());
  EXPECT_EQ(a.sh("ip link show " + name).status, 0);
}

}  // namespace
}  // namespace berth::net
