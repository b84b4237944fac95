// setup_container_network / teardown_container_network end to end: every test
// owns its "host", "container" and "client" namespaces, proves the network
// with real traffic, and checks nothing is left behind after teardown.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <regex>

#include "base/files.h"
#include "net/container_network.h"
#include "net/hosts.h"
#include "net/nft.h"
#include "netns_fixture.h"

namespace berth::net {
namespace {

using testing::echo_server;
using testing::request;
using testing::TestNetns;

const std::string kHostsOriginal = "127.0.0.1 localhost\n::1 localhost\n";

IpPrefix P(const char* s) {
  return *parse_prefix(s);
}

class ContainerNet : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::is_root()) {
      GTEST_SKIP() << "needs root (uid 0)";
    }
    ns_before_ = testing::netns_inode_of_this_thread();
    dir_ = std::make_unique<test::TempDir>("berth-test-net");
    hosts_ = *dir_ / "hosts";
    ASSERT_TRUE(write_file_atomic(hosts_, kHostsOriginal).ok());
  }
  void TearDown() override {
    if (ns_before_) {
      EXPECT_EQ(testing::netns_inode_of_this_thread(), ns_before_);
    }
  }

  ContainerNetwork routed(const std::string& name, int n) {
    ContainerNetwork c;
    c.name = name;
    c.host_address = P(fmt::format("10.233.{}.1", n).c_str());
    c.local_address = P(fmt::format("10.233.{}.2", n).c_str());
    c.host_address6 = P(fmt::format("fd62:6572:7468:{}::1", n).c_str());
    c.local_address6 = P(fmt::format("fd62:6572:7468:{}::2", n).c_str());
    c.hosts_file = hosts_;
    return c;
  }

  // What a host namespace looks like with no container network in it.
  void expect_clean(const TestNetns& host, const std::vector<std::string>& allowed_links = {"lo"}) {
    std::vector<std::string> links = testing::link_names(host);
    std::sort(links.begin(), links.end());
    std::vector<std::string> want = allowed_links;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(links, want) << host.out("ip -o link");
    std::string routes = host.out("ip route; ip -6 route");
    EXPECT_EQ(routes.find("10.233."), std::string::npos) << routes;
    EXPECT_EQ(routes.find("fd62:"), std::string::npos) << routes;
    EXPECT_EQ(host.out("nft list ruleset"), "");
    EXPECT_EQ(*read_file(hosts_), kHostsOriginal);
  }

  ino_t ns_before_ = 0;
  std::unique_ptr<test::TempDir> dir_;
  std::string hosts_;
};

TEST_F(ContainerNet, RoutedVethV4AndV6) {
  TestNetns host, ct;
  ContainerNetwork c = routed("web", 1);
  auto t0 = std::chrono::steady_clock::now();
  auto r = setup_container_network(c, host.fd(), ct.fd());
  auto t1 = std::chrono::steady_clock::now();
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::cout << "[ timing ] setup_container_network (veth, v4+v6, hosts file): "
            << std::chrono::duration<double, std::micro>(t1 - t0).count() / 1000.0 << " ms\n";

  std::string host_addrs = host.out("ip -o addr show ve-web");
  EXPECT_NE(host_addrs.find("inet 10.233.1.1/32"), std::string::npos) << host_addrs;
  EXPECT_NE(host_addrs.find("inet6 fd62:6572:7468:1::1/128"), std::string::npos) << host_addrs;
  EXPECT_NE(host.out("ip route").find("10.233.1.2 dev ve-web"), std::string::npos);
  EXPECT_NE(host.out("ip -6 route").find("fd62:6572:7468:1::2 dev ve-web"), std::string::npos);
  std::string ct_addrs = ct.out("ip -o addr show eth0");
  EXPECT_NE(ct_addrs.find("inet 10.233.1.2/32"), std::string::npos) << ct_addrs;
  EXPECT_NE(ct_addrs.find("inet6 fd62:6572:7468:1::2/128"), std::string::npos) << ct_addrs;
  std::string ct_routes = ct.out("ip route; ip -6 route");
  EXPECT_NE(ct_routes.find("default via 10.233.1.1 dev eth0"), std::string::npos) << ct_routes;
  EXPECT_NE(ct_routes.find("10.233.1.1 dev eth0"), std::string::npos) << ct_routes;
  EXPECT_NE(ct_routes.find("default via fd62:6572:7468:1::1 dev eth0"), std::string::npos)
      << ct_routes;
  EXPECT_TRUE(std::regex_search(ct.out("ip -o link show lo"), std::regex("[<,]UP[,>]")));
  auto entries = hosts_block_entries(*read_file(hosts_));
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].first + " " + entries[0].second, "10.233.1.2 web.containers");
  EXPECT_EQ(entries[1].first + " " + entries[1].second, "fd62:6572:7468:1::2 web.containers");

  {
    auto in_ct = echo_server(ct, 7001);
    auto in_host = echo_server(host, 7002);
    std::string v4 = request(host, "10.233.1.2", 7001);
    EXPECT_EQ(v4, "reply-hi from 10.233.1.1") << v4;
    std::string v6 = request(host, "fd62:6572:7468:1::2", 7001);
    EXPECT_EQ(v6, "reply-hi from [fd62:6572:7468:1::1]") << v6;
    std::string back4 = request(ct, "10.233.1.1", 7002);
    EXPECT_EQ(back4, "reply-hi from 10.233.1.2") << back4;
    std::string back6 = request(ct, "fd62:6572:7468:1::1", 7002);
    EXPECT_EQ(back6, "reply-hi from [fd62:6572:7468:1::2]") << back6;
  }

  ASSERT_TRUE(teardown_container_network(c, host.fd(), ct.fd()).ok());
  expect_clean(host);
  EXPECT_EQ(testing::link_names(ct), std::vector<std::string>{"lo"});
  // A second teardown finds nothing to do.
  EXPECT_TRUE(teardown_container_network(c, host.fd(), ct.fd()).ok());
}

TEST_F(ContainerNet, Ipv6Only) {
  TestNetns host, ct;
  ContainerNetwork c = routed("six", 11);
  c.host_address.reset();
  c.local_address.reset();
  ASSERT_TRUE(setup_container_network(c, host.fd(), ct.fd()).ok());
  EXPECT_EQ(ct.out("ip -4 route"), "");
  EXPECT_NE(ct.out("ip -6 route").find("default via fd62:6572:7468:11::1 dev eth0"),
            std::string::npos);
  {
    auto srv = echo_server(ct, 7900);
    EXPECT_EQ(request(host, "fd62:6572:7468:11::2", 7900), "reply-hi from [fd62:6572:7468:11::1]");
  }
  auto entries = hosts_block_entries(*read_file(hosts_));
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].first, "fd62:6572:7468:11::2");
  ASSERT_TRUE(teardown_container_network(c, host.fd(), ct.fd()).ok());
  expect_clean(host);
}

TEST_F(ContainerNet, TwoContainersRoutedThroughTheHost) {
  TestNetns host, ct1, ct2;
  ASSERT_TRUE(enable_ip_forwarding(host.fd()).ok());
  EXPECT_EQ(host.out("cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding"),
            "1\n1\n");
  ContainerNetwork a = routed("a", 1), b = routed("b", 2);
  ASSERT_TRUE(setup_container_network(a, host.fd(), ct1.fd()).ok());
  ASSERT_TRUE(setup_container_network(b, host.fd(), ct2.fd()).ok());
  EXPECT_EQ(hosts_block_entries(*read_file(hosts_)).size(), 4u);
  {
    auto srv = echo_server(ct2, 7100);
    std::string v4 = request(ct1, "10.233.2.2", 7100);
    EXPECT_EQ(v4, "reply-hi from 10.233.1.2") << v4;
    std::string v6 = request(ct1, "fd62:6572:7468:2::2", 7100);
    EXPECT_EQ(v6, "reply-hi from [fd62:6572:7468:1::2]") << v6;
  }
  ASSERT_TRUE(teardown_container_network(a, host.fd(), ct1.fd()).ok());
  // b is untouched by a's teardown.
  EXPECT_EQ(host.sh("ip link show ve-b").status, 0);
  auto entries = hosts_block_entries(*read_file(hosts_));
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].second, "b.containers");
  ASSERT_TRUE(teardown_container_network(b, host.fd(), ct2.fd()).ok());
  expect_clean(host);
}

TEST_F(ContainerNet, BridgedContainers) {
  TestNetns host, ct1, ct2;
  {
    NlSocket nl = host.nl();
    ASSERT_TRUE(create_bridge(nl, "br0").ok());
    ASSERT_TRUE(set_link_up(nl, "br0").ok());
    ASSERT_TRUE(add_address(nl, "br0", P("10.250.0.1/24")).ok());
    ASSERT_TRUE(add_address(nl, "br0", P("fd63::1/64")).ok());
  }
  ContainerNetwork a, b;
  a.name = "a";
  a.host_bridge = "br0";
  a.host_address = P("10.250.0.1");
  a.local_address = P("10.250.0.2/24");
  a.local_address6 = P("fd63::2/64");
  a.hosts_file = hosts_;
  b = a;
  ExtraVeth xb;
  xb.name = "xb-a";
  xb.host_bridge = "br0";
  a.extra_veths = {xb};
  b.name = "b";
  b.local_address = P("10.250.0.3/24");
  b.local_address6 = P("fd63::3/64");
  ASSERT_TRUE(setup_container_network(a, host.fd(), ct1.fd()).ok());
  auto r = setup_container_network(b, host.fd(), ct2.fd());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(host.out("ip -o link show vb-a").find("master br0"), std::string::npos);
  EXPECT_NE(host.out("ip -o link show vb-b").find("master br0"), std::string::npos);
  EXPECT_NE(host.out("ip -o link show xb-a").find("master br0"), std::string::npos);
  EXPECT_EQ(ct1.sh("ip link show xb-a").status, 0);
  EXPECT_EQ(host.out("ip -o addr show vb-a").find("inet "),
            std::string::npos);  // no address on the host side
  EXPECT_NE(ct1.out("ip -o addr show eth0").find("inet 10.250.0.2/24"), std::string::npos);
  EXPECT_NE(ct1.out("ip route").find("default via 10.250.0.1 dev eth0"), std::string::npos);
  {
    auto srv = echo_server(ct2, 7200);
    auto srv1 = echo_server(ct1, 7201);
    std::string v4 = request(ct1, "10.250.0.3", 7200);
    EXPECT_EQ(v4, "reply-hi from 10.250.0.2") << v4;
    std::string v6 = request(ct1, "fd63::3", 7200);
    EXPECT_EQ(v6, "reply-hi from [fd63::2]") << v6;
    std::string from_host = request(host, "10.250.0.2", 7201);
    EXPECT_EQ(from_host, "reply-hi from 10.250.0.1") << from_host;
  }
  ASSERT_TRUE(teardown_container_network(a, host.fd(), ct1.fd()).ok());
  ASSERT_TRUE(teardown_container_network(b, host.fd(), ct2.fd()).ok());
  expect_clean(host, {"lo", "br0"});
}

TEST_F(ContainerNet, PortForwardingFromLoopbackAndFromAnotherMachine) {
  TestNetns host, ct, client;
  // The client is an outside machine on a link to the host.
  {
    NlSocket nh = host.nl(), nc = client.nl();
    ASSERT_TRUE(create_veth(nh, "uplink", "eth0", client.fd()).ok());
    ASSERT_TRUE(set_link_up(nh, "uplink").ok());
    ASSERT_TRUE(add_address(nh, "uplink", P("192.168.77.1/24")).ok());
    ASSERT_TRUE(add_address(nh, "uplink", P("fd77::1/64")).ok());
    ASSERT_TRUE(set_link_up(nc, "eth0").ok());
    ASSERT_TRUE(add_address(nc, "eth0", P("192.168.77.2/24")).ok());
    ASSERT_TRUE(add_address(nc, "eth0", P("fd77::2/64")).ok());
  }
  ContainerNetwork c = routed("web", 3);
  c.forward_ports = {{"tcp", 8080, 80}, {"udp", 5353, 53}, {"tcp", 9090, 0}};
  auto r = setup_container_network(c, host.fd(), ct.fd());
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::string ruleset = host.out("nft list ruleset");
  EXPECT_NE(ruleset.find("table ip berth"), std::string::npos) << ruleset;
  EXPECT_NE(ruleset.find("table ip6 berth"), std::string::npos) << ruleset;
  EXPECT_NE(ruleset.find("comment \"berth:web\""), std::string::npos) << ruleset;
  EXPECT_EQ(
      host.out("cat /proc/sys/net/ipv4/conf/all/route_localnet /proc/sys/net/ipv4/ip_forward"),
      "1\n1\n");
  {
    auto tcp = echo_server(ct, 80);
    auto same = echo_server(ct, 9090);
    auto udp = echo_server(ct, 53, "udp");
    std::string lo = request(host, "127.0.0.1", 8080);
    EXPECT_EQ(lo, "reply-hi from 10.233.3.1") << lo;  // masqueraded as the host
    std::string own = request(host, "192.168.77.1", 8080);
    EXPECT_EQ(own.rfind("reply-hi from ", 0), 0u) << own;
    std::string outside = request(client, "192.168.77.1", 8080);
    EXPECT_EQ(outside, "reply-hi from 192.168.77.2") << outside;  // source kept
    std::string outside6 = request(client, "fd77::1", 8080);
    EXPECT_EQ(outside6, "reply-hi from [fd77::2]") << outside6;
    std::string same_port = request(client, "192.168.77.1", 9090);
    EXPECT_EQ(same_port, "reply-hi from 192.168.77.2") << same_port;
    std::string u = request(client, "192.168.77.1", 5353, "udp");
    EXPECT_EQ(u, "reply-hi from 192.168.77.2") << u;
    std::string ulo = request(host, "127.0.0.1", 5353, "udp");
    EXPECT_EQ(ulo, "reply-hi from 10.233.3.1") << ulo;
    // IPv6 has no route_localnet: ::1 works through the SNAT to the host's
    // veth address and the local ::1 route on the veth.
    std::string lo6 = request(host, "::1", 8080);
    EXPECT_EQ(lo6, "reply-hi from [fd62:6572:7468:3::1]") << lo6;
    std::string ulo6 = request(host, "::1", 5353, "udp");
    EXPECT_EQ(ulo6, "reply-hi from [fd62:6572:7468:3::1]") << ulo6;
    // The host's own ::1 services are untouched by that route.
    {
      testing::Background own_lo6(
          host, {"socat", "TCP6-LISTEN:7777,bind=[::1],reuseaddr,fork", "SYSTEM:echo own"});
      std::string o;
      for (int i = 0; i < 40 && o != "own\n"; ++i) {
        o = host.out("socat -T2 - TCP:[::1]:7777 </dev/null");
        if (o != "own\n") std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      EXPECT_EQ(o, "own\n");
    }
    // A port that is not forwarded stays closed.
    EXPECT_EQ(request(client, "192.168.77.1", 8081, "tcp", 1), "");
  }
  ASSERT_TRUE(teardown_container_network(c, host.fd(), ct.fd()).ok());
  expect_clean(host, {"lo", "uplink"});
  {
    auto tcp = echo_server(ct, 80);
    EXPECT_EQ(request(client, "192.168.77.1", 8080, "tcp", 2), "");
  }
}

TEST_F(ContainerNet, RulesOfOtherContainersSurviveATeardown) {
  TestNetns host, ct1, ct2;
  ContainerNetwork a = routed("a", 1), b = routed("b", 2);
  a.forward_ports = {{"tcp", 8001, 80}};
  b.forward_ports = {{"tcp", 8002, 80}};
  b.nat = true;
  ASSERT_TRUE(setup_container_network(a, host.fd(), ct1.fd()).ok());
  ASSERT_TRUE(setup_container_network(b, host.fd(), ct2.fd()).ok());
  ASSERT_TRUE(teardown_container_network(a, host.fd(), ct1.fd()).ok());
  std::string ruleset = host.out("nft list ruleset");
  EXPECT_EQ(ruleset.find("berth:a\""), std::string::npos) << ruleset;
  EXPECT_NE(ruleset.find("dport 8002"), std::string::npos) << ruleset;
  {
    auto srv = echo_server(ct2, 80);
    std::string got = request(host, "127.0.0.1", 8002);
    EXPECT_EQ(got.rfind("reply-hi from ", 0), 0u) << got;
    EXPECT_EQ(request(host, "127.0.0.1", 8001, "tcp", 1), "");
  }
  ASSERT_TRUE(teardown_container_network(b, host.fd(), ct2.fd()).ok());
  expect_clean(host);
}

TEST_F(ContainerNet, NatMasqueradesContainerTrafficLeavingTheHost) {
  TestNetns host, ct, outside;
  {
    NlSocket nh = host.nl(), no = outside.nl();
    ASSERT_TRUE(create_veth(nh, "uplink", "eth0", outside.fd()).ok());
    ASSERT_TRUE(set_link_up(nh, "uplink").ok());
    ASSERT_TRUE(add_address(nh, "uplink", P("192.168.77.1/24")).ok());
    ASSERT_TRUE(set_link_up(no, "eth0").ok());
    ASSERT_TRUE(add_address(no, "eth0", P("192.168.77.2/24")).ok());
  }
  ContainerNetwork c = routed("web", 4);
  c.local_address6.reset();
  c.host_address6.reset();
  // Without NAT the outside machine has no route back to 10.233.4.2.
  ASSERT_TRUE(setup_container_network(c, host.fd(), ct.fd()).ok());
  ASSERT_TRUE(enable_ip_forwarding(host.fd()).ok());
  auto srv = echo_server(outside, 7300);
  EXPECT_EQ(request(outside, "192.168.77.2", 7300).rfind("reply-hi", 0), 0u);  // the server is up
  EXPECT_EQ(request(ct, "192.168.77.2", 7300, "tcp", 1), "");
  c.nat = true;
  ASSERT_TRUE(setup_container_network(c, host.fd(), ct.fd()).ok());
  std::string got = request(ct, "192.168.77.2", 7300);
  EXPECT_EQ(got, "reply-hi from 192.168.77.1") << got;
  ASSERT_TRUE(teardown_container_network(c, host.fd(), ct.fd()).ok());
  expect_clean(host, {"lo", "uplink"});
}

TEST_F(ContainerNet, MacvlanReachedFromAPeer) {
  TestNetns host, ct, peer;
  {
    // "phys0" plays the host's NIC, cabled to a peer machine.
    NlSocket nh = host.nl(), np = peer.nl();
    ASSERT_TRUE(create_veth(nh, "phys0", "eth0", peer.fd()).ok());
    ASSERT_TRUE(set_link_up(nh, "phys0").ok());
    ASSERT_TRUE(set_link_up(np, "eth0").ok());
    ASSERT_TRUE(add_address(np, "eth0", P("192.168.88.3/24")).ok());
  }
  ContainerNetwork c;
  c.name = "mv";
  c.macvlans = {"phys0"};
  ASSERT_TRUE(setup_container_network(c, host.fd(), ct.fd()).ok());
  std::string d = ct.out("ip -d -o link show mv-phys0");
  EXPECT_NE(d.find("macvlan mode bridge"), std::string::npos) << d;
  {
    // The guest configures its macvlan itself.
    NlSocket nc = ct.nl();
    ASSERT_TRUE(add_address(nc, "mv-phys0", P("192.168.88.2/24")).ok());
    auto srv = echo_server(ct, 7400);
    std::string got = request(peer, "192.168.88.2", 7400);
    EXPECT_EQ(got, "reply-hi from 192.168.88.3") << got;
  }
  ASSERT_TRUE(teardown_container_network(c, host.fd(), ct.fd()).ok());
  EXPECT_EQ(testing::link_names(ct), std::vector<std::string>{"lo"});
  expect_clean(host, {"lo", "phys0"});
}

TEST_F(ContainerNet, MovedInterfaceIsUsableAndReturnedAtTeardown) {
  TestNetns host, ct, peer;
  {
    NlSocket nh = host.nl(), np = peer.nl();
    ASSERT_TRUE(create_veth(nh, "lan1", "eth0", peer.fd()).ok());
    ASSERT_TRUE(set_link_up(np, "eth0").ok());
    ASSERT_TRUE(add_address(np, "eth0", P("192.168.99.3/24")).ok());
  }
  ContainerNetwork c = routed("phy", 5);
  c.interfaces = {"lan1"};
  ASSERT_TRUE(setup_container_network(c, host.fd(), ct.fd()).ok());
  EXPECT_EQ(host.sh("ip link show lan1").status, 1);
  EXPECT_EQ(ct.sh("ip link show lan1").status, 0);
  {
    NlSocket nc = ct.nl();
    ASSERT_TRUE(add_address(nc, "lan1", P("192.168.99.2/24")).ok());
    auto srv = echo_server(ct, 7500);
    std::string got = request(peer, "192.168.99.2", 7500);
    EXPECT_EQ(got, "reply-hi from 192.168.99.3") << got;
  }
  ASSERT_TRUE(teardown_container_network(c, host.fd(), ct.fd()).ok());
  EXPECT_EQ(host.sh("ip link show lan1").status, 0);
  EXPECT_EQ(ct.sh("ip link show lan1").status, 1);
  expect_clean(host, {"lo", "lan1"});
}

TEST_F(ContainerNet, ExtraVeths) {
  TestNetns host, ct;
  ContainerNetwork c = routed("xv", 6);
  ExtraVeth e;
  e.name = "xv-extra";
  e.host_address = P("10.234.0.1");
  e.local_address = P("10.234.0.2");
  e.host_address6 = P("fd64::1");
  e.local_address6 = P("fd64::2");
  e.local_mac_address = "02:00:00:00:00:42";
  c.extra_veths = {e};
  c.local_mac_address = "02:00:00:00:00:41";
  auto r = setup_container_network(c, host.fd(), ct.fd());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(ct.out("ip -o link show eth0").find("02:00:00:00:00:41"), std::string::npos);
  EXPECT_NE(ct.out("ip -o link show xv-extra").find("02:00:00:00:00:42"), std::string::npos);
  {
    auto srv = echo_server(ct, 7600);
    std::string got = request(host, "10.234.0.2", 7600);
    EXPECT_EQ(got, "reply-hi from 10.234.0.1") << got;
    std::string got6 = request(host, "fd64::2", 7600);
    EXPECT_EQ(got6, "reply-hi from [fd64::1]") << got6;
  }
  ASSERT_TRUE(teardown_container_network(c, host.fd(), ct.fd()).ok());
  expect_clean(host);
  EXPECT_EQ(testing::link_names(ct), std::vector<std::string>{"lo"});
}

// Forwards to an extra veth: from 127.0.0.1 and ::1 (through the extra veth,
// SNATed to its host addresses) and from an outside machine; the rules and
// the local ::1 route go at teardown and on a rollback.
TEST_F(ContainerNet, ExtraVethPortForwards) {
  TestNetns host, ct, client;
  {
    NlSocket nh = host.nl(), nc = client.nl();
    ASSERT_TRUE(create_veth(nh, "uplink", "eth0", client.fd()).ok());
    ASSERT_TRUE(set_link_up(nh, "uplink").ok());
    ASSERT_TRUE(add_address(nh, "uplink", P("192.168.77.1/24")).ok());
    ASSERT_TRUE(add_address(nh, "uplink", P("fd77::1/64")).ok());
    ASSERT_TRUE(set_link_up(nc, "eth0").ok());
    ASSERT_TRUE(add_address(nc, "eth0", P("192.168.77.2/24")).ok());
    ASSERT_TRUE(add_address(nc, "eth0", P("fd77::2/64")).ok());
  }
  ContainerNetwork c = routed("xf", 9);
  ExtraVeth e;
  e.name = "xf-extra";
  e.host_address = P("10.234.1.1");
  e.local_address = P("10.234.1.2");
  e.host_address6 = P("fd64:1::1");
  e.local_address6 = P("fd64:1::2");
  e.forward_ports = {{"tcp", 8090, 80}, {"udp", 5390, 53}};
  c.extra_veths = {e};
  auto r = setup_container_network(c, host.fd(), ct.fd());
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::string ruleset = host.out("nft list ruleset");
  EXPECT_NE(ruleset.find("dnat to 10.234.1.2:80 comment \"berth:xf\""), std::string::npos)
      << ruleset;
  EXPECT_NE(ruleset.find("snat to fd64:1::1"), std::string::npos) << ruleset;
  EXPECT_NE(host.out("ip -6 route show table all").find("local ::1 dev xf-extra"),
            std::string::npos);
  {
    auto tcp = echo_server(ct, 80);
    auto udp = echo_server(ct, 53, "udp");
    EXPECT_EQ(request(host, "127.0.0.1", 8090), "reply-hi from 10.234.1.1");
    EXPECT_EQ(request(host, "::1", 8090), "reply-hi from [fd64:1::1]");
    EXPECT_EQ(request(host, "127.0.0.1", 5390, "udp"), "reply-hi from 10.234.1.1");
    EXPECT_EQ(request(host, "::1", 5390, "udp"), "reply-hi from [fd64:1::1]");
    EXPECT_EQ(request(client, "192.168.77.1", 8090), "reply-hi from 192.168.77.2");
    EXPECT_EQ(request(client, "fd77::1", 8090), "reply-hi from [fd77::2]");
  }
  ASSERT_TRUE(teardown_container_network(c, host.fd(), ct.fd()).ok());
  expect_clean(host, {"lo", "uplink"});
  EXPECT_EQ(host.out("ip -6 route show table all").find("::1 dev xf-extra"), std::string::npos);

  // A failure after the rules are in (a hosts file in a missing directory)
  // takes them out again.
  c.hosts_file = *dir_ / "missing/hosts";
  r = setup_container_network(c, host.fd(), ct.fd());
  ASSERT_FALSE(r.ok());
  expect_clean(host, {"lo", "uplink"});

  // Forwards need an address on the extra veth to go to.
  c.hosts_file = hosts_;
  c.extra_veths[0].local_address.reset();
  c.extra_veths[0].local_address6.reset();
  r = setup_container_network(c, host.fd(), ct.fd());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("xf-extra: forward_ports needs"), std::string::npos)
      << r.error().message;
  expect_clean(host, {"lo", "uplink"});
}

TEST_F(ContainerNet, StaleLinksRulesAndHostsLinesFromACrashAreReplaced) {
  TestNetns host, old_ct, ct;
  ContainerNetwork c = routed("web", 7);
  c.forward_ports = {{"tcp", 8080, 80}};
  // A run that "crashed": its network is all still there, its container
  // namespace still held by a leftover process.
  ASSERT_TRUE(setup_container_network(c, host.fd(), old_ct.fd()).ok());
  // Plus a same-named link of another kind and a stale hosts line.
  {
    NlSocket nh = host.nl();
    ASSERT_TRUE(create_veth(nh, "vb-web", "junk").ok());
    ASSERT_TRUE(hosts_add(hosts_, "web", {*parse_address("10.233.99.2")}).ok());
  }
  auto r = setup_container_network(c, host.fd(), ct.fd());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(old_ct.sh("ip link show eth0").status, 1);  // the old veth is gone
  EXPECT_EQ(host.sh("ip link show vb-web").status, 1);
  EXPECT_EQ(host.sh("ip link show junk").status, 1);
  std::string ruleset = host.out("nft list ruleset");
  EXPECT_EQ(std::count(ruleset.begin(), ruleset.end(), '\n') > 0, true);
  size_t dnat = 0;
  for (size_t p = 0; (p = ruleset.find("dnat to 10.233.7.2:80", p)) != std::string::npos; ++p)
    ++dnat;
  EXPECT_EQ(dnat, 2u) << ruleset;  // prerouting + output, once each
  auto entries = hosts_block_entries(*read_file(hosts_));
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].first, "10.233.7.2");
  {
    auto srv = echo_server(ct, 7700);
    std::string got = request(host, "10.233.7.2", 7700);
    EXPECT_EQ(got, "reply-hi from 10.233.7.1") << got;
  }
  ASSERT_TRUE(teardown_container_network(c, host.fd(), ct.fd()).ok());
  expect_clean(host);
}

TEST_F(ContainerNet, FailureRollsBackEverything) {
  TestNetns host, ct, other;
  ContainerNetwork c = routed("web", 8);
  c.forward_ports = {{"tcp", 8080, 80}};
  c.interfaces = {"lan1"};
  c.macvlans = {"nosuch0"};  // fails after the veth and the moved interface
  {
    NlSocket nh = host.nl();
    ASSERT_TRUE(create_veth(nh, "lan1", "eth0", other.fd()).ok());
  }
  auto r = setup_container_network(c, host.fd(), ct.fd());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("nosuch0"), std::string::npos) << r.error().message;
  expect_clean(host, {"lo", "lan1"});  // lan1 came back
  EXPECT_EQ(testing::link_names(ct), std::vector<std::string>{"lo"});

  // And a failure at the very end (hosts file in a missing directory).
  c.macvlans.clear();
  c.hosts_file = *dir_ / "missing/hosts";
  r = setup_container_network(c, host.fd(), ct.fd());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("hosts"), std::string::npos) << r.error().message;
  expect_clean(host, {"lo", "lan1"});
  EXPECT_EQ(testing::link_names(ct), std::vector<std::string>{"lo"});
}

TEST_F(ContainerNet, LongNameIsShortenedAndInvalidConfigsRejected) {
  TestNetns host, ct;
  ContainerNetwork c = routed("a-rather-long-container", 9);
  ASSERT_TRUE(setup_container_network(c, host.fd(), ct.fd()).ok());
  std::string link = c.host_link();
  EXPECT_EQ(link.size(), 15u);
  EXPECT_EQ(host.sh("ip link show " + link).status, 0);
  {
    auto srv = echo_server(ct, 7800);
    EXPECT_EQ(request(host, "10.233.9.2", 7800).rfind("reply-hi", 0), 0u);
  }
  ASSERT_TRUE(teardown_container_network(c, host.fd(), ct.fd()).ok());
  expect_clean(host);

  ContainerNetwork bad = routed("web", 10);
  bad.local_address6 = P("10.0.0.1");
  EXPECT_FALSE(setup_container_network(bad, host.fd(), ct.fd()).ok());
  bad = routed("web", 10);
  EXPECT_FALSE(setup_container_network(bad, host.fd(), -1).ok());
  expect_clean(host);
}

// Production calls use the caller's own namespace as the host (kCurrentNetns).
// That runs in a forked child that first moved itself into a fresh namespace,
// so the machine's own namespace is never touched.
TEST_F(ContainerNet, HostIsTheCallersOwnNamespace) {
  TestNetns ct;
  int ready[2], go[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(go), 0);
  ContainerNetwork c = routed("self", 12);
  c.forward_ports = {{"tcp", 8080, 7950}};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::unshare(CLONE_NEWNET) < 0) ::_exit(10);
    auto nl = NlSocket::open();
    if (!nl || !loopback_up(*nl)) ::_exit(11);
    auto r = setup_container_network(c, kCurrentNetns, ct.fd());
    char ok = r ? 'y' : 'n';
    if (!r) fprintf(stderr, "setup: %s\n", r.error().message.c_str());
    (void)!::write(ready[1], &ok, 1);
    char c2;
    (void)!::read(go[0], &c2, 1);
    auto t = teardown_container_network(c, kCurrentNetns, ct.fd());
    if (!t) ::_exit(12);
    auto links = list_links(*nl);
    ::_exit(links && links->size() == 1 ? 0 : 13);
  }
  ::close(ready[1]);
  ::close(go[0]);
  char ok = 0;
  ASSERT_EQ(::read(ready[0], &ok, 1), 1);
  EXPECT_EQ(ok, 'y');
  std::string host_ns = fmt::format("/proc/{}/ns/net", pid);
  if (ok == 'y') {
    auto srv = echo_server(ct, 7950);
    for (int i = 0; i < 40; ++i) {
      auto r = test::run({"nsenter", "--net=" + host_ns, "sh", "-c",
                          "echo hi | socat -T2 -t2 - TCP:127.0.0.1:8080,connect-timeout=2"});
      if (r.out.rfind("reply-hi", 0) == 0) break;
      if (i == 39) ADD_FAILURE() << "no answer through the forwarded port: " << r.err;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_NE(test::run({"nsenter", "--net=" + host_ns, "ip", "-o", "link"}).out.find("ve-self"),
              std::string::npos);
  }
  (void)!::write(go[1], "g", 1);
  ::close(go[1]);
  ::close(ready[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(testing::link_names(ct), std::vector<std::string>{"lo"});
}

// Not an assertion, a measurement for the report: setup of a v4+v6 veth
// container (no hosts file, no port forwards), and the same with both.
TEST_F(ContainerNet, SetupTiming) {
  for (bool extras : {false, true}) {
    std::vector<double> ms;
    for (int i = 0; i < 10; ++i) {
      TestNetns host, ct;
      ContainerNetwork c = routed("t", 20);
      if (!extras) c.hosts_file.clear();
      if (extras) c.forward_ports = {{"tcp", 8080, 80}};
      auto t0 = std::chrono::steady_clock::now();
      auto r = setup_container_network(c, host.fd(), ct.fd());
      auto t1 = std::chrono::steady_clock::now();
      ASSERT_TRUE(r.ok()) << r.error().message;
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      auto t2 = std::chrono::steady_clock::now();
      ASSERT_TRUE(teardown_container_network(c, host.fd(), ct.fd()).ok());
      auto t3 = std::chrono::steady_clock::now();
      if (i == 9)
        std::cout << "[ timing ] teardown: "
                  << std::chrono::duration<double, std::milli>(t3 - t2).count() << " ms\n";
      expect_clean(host);
    }
    std::sort(ms.begin(), ms.end());
    std::cout << "[ timing ] setup_container_network v4+v6 veth"
              << (extras ? " + hosts file + 1 port forward" : "") << ": median "
              << ms[ms.size() / 2] << " ms, min " << ms.front() << " ms, max " << ms.back()
              << " ms (10 runs)\n";
  }
}

}  // namespace
}  // namespace berth::net
