// Every networking option of a declaration end to end: `berth start` inside a
// "host" network namespace the test made (never the machine's own), real
// traffic in both directions, and after each test no links, routes, nft rules
// or hosts entries left in that host.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/manager/manager_fixture.h"
#include "integration/net/netns_fixture.h"
#include "net/addr.h"
#include "net/link.h"
#include "net/names.h"
#include "support/testenv.h"

namespace berth::test {
namespace {

// A command container gets no CAP_NET_ADMIN by default (berth configures its
// network from the host); one that configures links itself asks for it.
const std::string kNetAdmin = "additional_capabilities = [\"CAP_NET_ADMIN\"]";

using namespace std::chrono_literals;
using net::testing::Background;
using net::testing::echo_server;
using net::testing::request;
using net::testing::TestNetns;

const std::string kHosts = "127.0.0.1 localhost\n::1 localhost ip6-localhost\n";

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

net::IpPrefix P(const char* s) {
  return *net::parse_prefix(s);
}

// The socat echo server every container runs (the host's binaries: the
// containers share the host's /usr), tcp and udp on `port`, v4 and v6.
std::string serve_cmd(int port = 80) {
  return fmt::format(
      "socat TCP6-LISTEN:{0},ipv6only=0,reuseaddr,fork 'SYSTEM:read l; echo reply-$l from "
      "$SOCAT_PEERADDR' & socat UDP6-RECVFROM:{0},ipv6only=0,fork 'SYSTEM:read l; echo reply-$l "
      "from $SOCAT_PEERADDR' & trap 'exit 0' TERM; while :; do sleep 0.1; done",
      port);
}

class NetOptions : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_UNLESS_ROOT();
    run({"mkdir", "-p", root_ / "etc/berth"});
    std::ofstream(root_ / "etc/hosts") << kHosts;
    if (run({"which", "socat"}).status != 0) GTEST_SKIP() << "socat is not installed";
  }

  void TearDown() override {
    for (auto& n : names_) berth({"terminate", n});
    for (auto& n : names_) EXPECT_EQ(::access((root_ / ("run/berth/" + n)).c_str(), F_OK), -1) << n;
    if (!host_) return;
    // Nothing of berth's is left in the host.
    if (baseline_) {
      EXPECT_EQ(link_names(), base_links_);
      EXPECT_EQ(routes(), base_routes_);
    }
    std::string rules = host_->out("nft list ruleset");
    EXPECT_EQ(rules.find("berth"), std::string::npos) << rules;
    EXPECT_EQ(slurp(root_ / "etc/hosts"), kHosts);
  }

  TestNetns& host() {
    if (!host_) host_ = std::make_unique<TestNetns>();
    return *host_;
  }

  // What the host looks like before berth touches it (after the test's own
  // links are made); TearDown compares against it.
  void baseline() {
    base_links_ = link_names();
    base_routes_ = routes();
    baseline_ = true;
  }
  std::set<std::string> link_names() {
    auto v = net::testing::link_names(host());
    return {v.begin(), v.end()};
  }
  std::string routes() {
    // Every table: main, local and the local ::1 route of a v6 forward alike.
    std::string r = host().out("ip -4 route show table all; ip -6 route show table all");
    std::istringstream in(r);
    std::vector<std::string> lines;
    // Link-local routes come and go with IPv6 autoconfiguration of the
    // test's links (their links are compared on their own), anycast ones
    // with IPv6 forwarding (a sysctl, turned on for forwards), and carrier
    // flags with the peers' state.
    for (std::string l; std::getline(in, l);) {
      if (l.find("fe80:") != std::string::npos || l.find("ff00::/8") != std::string::npos ||
          l.rfind("anycast ", 0) == 0)
        continue;
      if (auto p = l.find(" linkdown"); p != std::string::npos) l.erase(p, 9);
      lines.push_back(l);
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (auto& l : lines) out += l + "\n";
    return out;
  }

  RunResult berth(std::vector<std::string> args, int timeout = 60) {
    std::vector<std::string> argv = {"nsenter", "--net=" + host().path(), test::berth(), "--root",
                                     root_.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions o;
    o.timeout_sec = timeout;
    return run(argv, o);
  }
  std::string name(const std::string& base) {
    names_.push_back(unique_id(base));
    return names_.back();
  }
  // A share_host container running cmd, with the extra TOML lines.
  std::string decl(const std::string& n, const std::string& cmd, const std::string& extra) {
    return "[containers." + n + "]\nshare_host = true\ncommand = [\"/bin/sh\", \"-c\", " +
           nlohmann::json(cmd).dump() + "]\ntimeout_stop = \"3s\"\n" + extra + "\n";
  }
  void declare(const std::string& toml) {
    std::ofstream(root_ / "etc/berth/containers.toml") << toml;
  }
  void start(const std::string& n) {
    auto r = berth({"start", n});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
  }
  nlohmann::json status(const std::string& n) {
    return nlohmann::json::parse(berth({"status", n, "--json"}).out);
  }
  // A shell command inside the container (berth run).
  RunResult in_ct(const std::string& n, const std::string& cmd, int timeout = 30) {
    return berth({"run", n, "--", "/bin/sh", "-c", cmd}, timeout);
  }
  // "hi" from inside the container to ip:port; the answer, "" on failure.
  std::string ct_request(const std::string& n, const std::string& ip, int port,
                         const std::string& proto = "tcp", int tries = 20) {
    std::string cmd =
        fmt::format("echo hi | socat -T2 -t2 - {}:{}:{}{}", proto == "tcp" ? "TCP" : "UDP",
                    net::testing::socat_addr(ip), port, proto == "tcp" ? ",connect-timeout=2" : "");
    for (int i = 0; i < tries; ++i) {
      auto r = in_ct(n, cmd);
      std::string o = trim(r.out);
      if (r.status == 0 && !o.empty()) return net::testing::canonical_peer(o);
      std::this_thread::sleep_for(100ms);
    }
    return "";
  }
  // A command in the host namespace with a mount namespace of its own in
  // which /etc/hosts is the hosts file berth edits (under --root).
  RunResult with_test_hosts(const std::string& cmd) {
    return host().sh("unshare -m sh -c 'mount --bind " + root_ / "etc/hosts" + " /etc/hosts && " +
                     cmd + "'");
  }
  // An "outside machine": a namespace on a link `uplink` to the host, with
  // 192.168.77.1/24 + fd77::1/64 on the host side and .2 / ::2 on its eth0.
  std::unique_ptr<TestNetns> outside_machine() {
    auto c = std::make_unique<TestNetns>();
    auto nh = host().nl(), nc = c->nl();
    EXPECT_TRUE(net::create_veth(nh, "uplink", "eth0", c->fd()).ok());
    EXPECT_TRUE(net::set_link_up(nh, "uplink").ok());
    EXPECT_TRUE(net::add_address(nh, "uplink", P("192.168.77.1/24")).ok());
    EXPECT_TRUE(net::add_address(nh, "uplink", P("fd77::1/64")).ok());
    EXPECT_TRUE(net::set_link_up(nc, "eth0").ok());
    EXPECT_TRUE(net::add_address(nc, "eth0", P("192.168.77.2/24")).ok());
    EXPECT_TRUE(net::add_address(nc, "eth0", P("fd77::2/64")).ok());
    return c;
  }

  TempDir root_{"berth-test-netopt"};
  std::unique_ptr<TestNetns> host_;
  std::vector<std::string> names_;
  bool baseline_ = false;
  std::set<std::string> base_links_;
  std::string base_routes_;
};

// host/local addresses v4 and v6, a MAC, data both ways, ping, the hosts
// entries and NAME.containers, the container's own /etc files, status.
TEST_F(NetOptions, RoutedV4AndV6WithMac) {
  baseline();
  auto n = name("bno");
  declare(decl(n, serve_cmd(),
               "private_network = true\nhost_address = \"10.233.21.1\"\nlocal_address = "
               "\"10.233.21.2\"\nhost_address6 = \"fd62:6572:7468:21::1\"\nlocal_address6 = "
               "\"fd62:6572:7468:21::2\"\nlocal_mac_address = \"02:42:ac:11:00:21\""));
  start(n);
  std::string hl = net::host_link_name("ve-", n);
  EXPECT_NE(host().out("ip -o addr show dev " + hl).find("10.233.21.1/32"), std::string::npos);

  // Host to container, by address (TCP and UDP, v4 and v6): the container
  // sees the host's address, not a NAT.
  EXPECT_EQ(request(host(), "10.233.21.2", 80), "reply-hi from 10.233.21.1");
  EXPECT_EQ(request(host(), "fd62:6572:7468:21::2", 80), "reply-hi from [fd62:6572:7468:21::1]");
  EXPECT_EQ(request(host(), "10.233.21.2", 80, "udp"), "reply-hi from 10.233.21.1");
  EXPECT_EQ(host().sh("ping -c1 -W3 10.233.21.2").status, 0);
  EXPECT_EQ(host().sh("ping -6 -c1 -W3 fd62:6572:7468:21::2").status, 0);

  // Container to host.
  {
    auto srv = echo_server(host(), 7000);
    EXPECT_EQ(ct_request(n, "10.233.21.1", 7000), "reply-hi from 10.233.21.2");
    EXPECT_EQ(ct_request(n, "fd62:6572:7468:21::1", 7000), "reply-hi from [fd62:6572:7468:21::2]");
  }
  EXPECT_EQ(in_ct(n, "ping -c1 -W3 10.233.21.1").status, 0);

  // Inside: eth0 with the MAC and both addresses, default routes via the host.
  auto ip = in_ct(n, "ip -o link show eth0; ip -o addr show eth0; ip route; ip -6 route");
  EXPECT_NE(ip.out.find("02:42:ac:11:00:21"), std::string::npos) << ip.out;
  EXPECT_NE(ip.out.find("10.233.21.2/32"), std::string::npos) << ip.out;
  EXPECT_NE(ip.out.find("fd62:6572:7468:21::2/128"), std::string::npos) << ip.out;
  EXPECT_NE(ip.out.find("default via 10.233.21.1 dev eth0"), std::string::npos) << ip.out;
  EXPECT_NE(ip.out.find("default via fd62:6572:7468:21::1 dev eth0"), std::string::npos) << ip.out;

  // The hosts file under --root names it; through it the host reaches the
  // container by name.
  std::string hosts = slurp(root_ / "etc/hosts");
  EXPECT_NE(hosts.find("10.233.21.2 " + n + ".containers"), std::string::npos) << hosts;
  EXPECT_NE(hosts.find("fd62:6572:7468:21::2 " + n + ".containers"), std::string::npos) << hosts;
  auto g = with_test_hosts("getent ahostsv4 " + n + ".containers | head -n1");
  EXPECT_EQ(g.out.substr(0, g.out.find(' ')), "10.233.21.2") << g.out << g.err;
  auto byname =
      with_test_hosts("echo hi | socat -T2 - TCP4:" + n + ".containers:80,connect-timeout=2");
  EXPECT_EQ(net::testing::canonical_peer(trim(byname.out)), "reply-hi from 10.233.21.1")
      << byname.err;

  // The container's own /etc: localhost, its name, the nameserver.
  auto etc =
      in_ct(n, "cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; getent hosts " + n);
  EXPECT_NE(etc.out.find("127.0.0.1"), std::string::npos) << etc.out;
  EXPECT_NE(etc.out.find("localhost"), std::string::npos) << etc.out;
  EXPECT_NE(etc.out.find("10.233.21.2"), std::string::npos) << etc.out;
  // Its nameserver: berth's forwarder on its host addresses (resolv_conf = "auto").
  EXPECT_NE(etc.out.find("nameserver 10.233.21.1\nnameserver fd62:6572:7468:21::1\n"),
            std::string::npos)
      << etc.out;

  auto st = status(n);
  EXPECT_EQ(st["host_links"], nlohmann::json({hl}));
  ASSERT_EQ(berth({"stop", n}).status, 0);
}

// A declared name too long for a link: the host link is shortened by a
// stable hash and `berth status` shows the real name.
TEST_F(NetOptions, LongNameGetsAShortenedLinkShownByStatus) {
  baseline();
  auto n = name("a-container-with-a-long-name");
  declare(decl(n, serve_cmd(),
               "private_network = true\nhost_address = \"10.233.22.1\"\nlocal_address = "
               "\"10.233.22.2\""));
  start(n);
  std::string hl = net::host_link_name("ve-", n);
  EXPECT_EQ(hl.size(), 15u);
  EXPECT_EQ(hl, net::host_link_name("ve-", n));  // stable
  EXPECT_TRUE(link_names().count(hl)) << hl;
  EXPECT_EQ(status(n)["host_links"], nlohmann::json({hl}));
  auto txt = berth({"status", n});
  EXPECT_NE(txt.out.find("host link: " + hl), std::string::npos) << txt.out;
  EXPECT_EQ(request(host(), "10.233.22.2", 80), "reply-hi from 10.233.22.1");
  ASSERT_EQ(berth({"stop", n}).status, 0);
  EXPECT_FALSE(link_names().count(hl));
}

// Two containers on a bridge the test made: they talk to each other on the
// bridge's subnet and the host reaches both through the bridge.
TEST_F(NetOptions, HostBridge) {
  {
    auto nl = host().nl();
    ASSERT_TRUE(net::create_bridge(nl, "br0").ok());
    ASSERT_TRUE(net::set_link_up(nl, "br0").ok());
    ASSERT_TRUE(net::add_address(nl, "br0", P("10.233.30.1/24")).ok());
    ASSERT_TRUE(net::add_address(nl, "br0", P("fd63::1/64")).ok());
  }
  baseline();
  auto a = name("bba"), b = name("bbb");
  std::string common = "private_network = true\nhost_bridge = \"br0\"\n";
  declare(decl(a, serve_cmd(),
               common + "local_address = \"10.233.30.2/24\"\nlocal_address6 = \"fd63::2/64\"") +
          decl(b, serve_cmd(),
               common + "local_address = \"10.233.30.3/24\"\nlocal_address6 = \"fd63::3/64\""));
  start(a);
  start(b);
  auto ip = in_ct(a, "ip -o addr show eth0");
  EXPECT_NE(ip.out.find("10.233.30.2/24"), std::string::npos) << ip.out;
  EXPECT_NE(ip.out.find("fd63::2/64"), std::string::npos) << ip.out;
  std::string br = host().out("ip -o link show master br0");
  EXPECT_NE(br.find(net::host_link_name("vb-", a)), std::string::npos) << br;
  EXPECT_NE(br.find(net::host_link_name("vb-", b)), std::string::npos) << br;
  EXPECT_EQ(ct_request(a, "10.233.30.3", 80), "reply-hi from 10.233.30.2");
  EXPECT_EQ(ct_request(b, "fd63::2", 80), "reply-hi from [fd63::3]");
  EXPECT_EQ(in_ct(a, "ping -c1 -W3 10.233.30.3").status, 0);
  EXPECT_EQ(request(host(), "10.233.30.2", 80), "reply-hi from 10.233.30.1");
  EXPECT_EQ(request(host(), "fd63::3", 80), "reply-hi from [fd63::1]");
  EXPECT_EQ(status(a)["host_links"], nlohmann::json({net::host_link_name("vb-", a)}));
  ASSERT_EQ(berth({"stop", a}).status, 0);
  ASSERT_EQ(berth({"stop", b}).status, 0);
  EXPECT_EQ(host().out("ip -o link show master br0"), "");
}

// Two routed containers reach each other through the host (which forwards,
// as a router host is set up to), without NAT.
TEST_F(NetOptions, ContainerToContainerRoutedThroughTheHost) {
  host().sh("sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
  baseline();
  auto a = name("bra"), b = name("brb");
  declare(decl(a, serve_cmd(),
               "private_network = true\nhost_address = \"10.233.31.1\"\nlocal_address = "
               "\"10.233.31.2\"\nhost_address6 = \"fd62:6572:7468:31::1\"\nlocal_address6 = "
               "\"fd62:6572:7468:31::2\"") +
          decl(b, serve_cmd(),
               "private_network = true\nhost_address = \"10.233.32.1\"\nlocal_address = "
               "\"10.233.32.2\"\nhost_address6 = \"fd62:6572:7468:32::1\"\nlocal_address6 = "
               "\"fd62:6572:7468:32::2\""));
  start(a);
  start(b);
  EXPECT_EQ(ct_request(a, "10.233.32.2", 80), "reply-hi from 10.233.31.2");
  EXPECT_EQ(ct_request(b, "fd62:6572:7468:31::2", 80), "reply-hi from [fd62:6572:7468:32::2]");
  ASSERT_EQ(berth({"stop", a}).status, 0);
  ASSERT_EQ(berth({"stop", b}).status, 0);
}

// Forwarded ports (tcp and udp) from the host's 127.0.0.1 and ::1 and from
// an outside machine, on v4 and v6; a port not forwarded stays closed.
TEST_F(NetOptions, ForwardPortsFromLoopbackAndOutside) {
  auto client = outside_machine();
  baseline();
  auto n = name("bfp");
  declare(decl(n,
               serve_cmd(80) + " & socat UDP6-RECVFROM:53,ipv6only=0,fork 'SYSTEM:read l; echo "
                               "reply-$l from $SOCAT_PEERADDR'",
               "private_network = true\nhost_address = \"10.233.23.1\"\nlocal_address = "
               "\"10.233.23.2\"\nhost_address6 = \"fd62:6572:7468:23::1\"\nlocal_address6 = "
               "\"fd62:6572:7468:23::2\"\nforward_ports = [{ protocol = \"tcp\", host_port = 8080, "
               "container_port = 80 }, { protocol = \"udp\", host_port = 5353, container_port = 53 "
               "}]"));
  start(n);
  // From the host itself: its loopback, v4 and v6.
  EXPECT_EQ(request(host(), "127.0.0.1", 8080), "reply-hi from 10.233.23.1");
  EXPECT_EQ(request(host(), "::1", 8080), "reply-hi from [fd62:6572:7468:23::1]");
  EXPECT_EQ(request(host(), "127.0.0.1", 5353, "udp"), "reply-hi from 10.233.23.1");
  EXPECT_EQ(request(host(), "::1", 5353, "udp"), "reply-hi from [fd62:6572:7468:23::1]");
  // From outside, on the host's uplink addresses; the client's address kept.
  EXPECT_EQ(request(*client, "192.168.77.1", 8080), "reply-hi from 192.168.77.2");
  EXPECT_EQ(request(*client, "fd77::1", 8080), "reply-hi from [fd77::2]");
  EXPECT_EQ(request(*client, "192.168.77.1", 5353, "udp"), "reply-hi from 192.168.77.2");
  EXPECT_EQ(request(*client, "fd77::1", 5353, "udp"), "reply-hi from [fd77::2]");
  EXPECT_EQ(request(*client, "192.168.77.1", 8081, "tcp", 1), "");
  std::string rules = host().out("nft list ruleset");
  EXPECT_NE(rules.find("berth:" + n), std::string::npos) << rules;
  ASSERT_EQ(berth({"stop", n}).status, 0);
  EXPECT_EQ(request(*client, "192.168.77.1", 8080, "tcp", 2), "");
  EXPECT_EQ(request(host(), "::1", 8080, "tcp", 2), "");
}

// Forward ports changed live (#15): `plan` names the path (nftables, then
// the reload command), `apply` swaps the rules without a restart (the same
// init), runs `reload` inside, and a later stop removes every rule.
TEST_F(NetOptions, ForwardPortsChangedLiveThenReload) {
  auto client = outside_machine();
  baseline();
  auto n = name("blive");
  auto with_ports = [&](const std::string& ports) {
    return decl(n, serve_cmd(80),
                "private_network = true\nhost_address = \"10.233.24.1\"\nlocal_address = "
                "\"10.233.24.2\"\nhost_address6 = \"fd62:6572:7468:24::1\"\nlocal_address6 = "
                "\"fd62:6572:7468:24::2\"\nreload = [\"/bin/sh\", \"-c\", \"echo reloaded >> "
                "/tmp/reloads\"]\nforward_ports = [" +
                    ports + "]");
  };
  std::string p8080 = "{ protocol = \"tcp\", host_port = 8080, container_port = 80 }";
  std::string p8081 = "{ protocol = \"tcp\", host_port = 8081, container_port = 80 }";
  declare(with_ports(p8080));
  start(n);
  int pid = status(n)["pid"].get<int>();
  EXPECT_EQ(request(*client, "192.168.77.1", 8080), "reply-hi from 192.168.77.2");
  EXPECT_EQ(request(*client, "192.168.77.1", 8081, "tcp", 1), "");

  declare(with_ports(p8081));
  auto plan = berth({"plan"});
  EXPECT_EQ(plan.out,
            "update " + n +
                ": live, no restart: forward_ports: nftables (+tcp 8081->80, -tcp 8080->80); "
                "then reload: /bin/sh -c echo reloaded >> /tmp/reloads\n")
      << plan.err;
  auto ap = berth({"apply"});
  ASSERT_EQ(ap.status, 0) << ap.out << ap.err;
  EXPECT_EQ(status(n)["pid"].get<int>(), pid);  // not restarted
  EXPECT_EQ(request(*client, "192.168.77.1", 8081), "reply-hi from 192.168.77.2");
  EXPECT_EQ(request(host(), "::1", 8081), "reply-hi from [fd62:6572:7468:24::1]");
  EXPECT_EQ(request(*client, "192.168.77.1", 8080, "tcp", 1), "");
  EXPECT_EQ(in_ct(n, "cat /tmp/reloads").out, "reloaded\n");
  EXPECT_EQ(berth({"plan"}).out, "nothing to do: the host matches the declarations\n");

  // A failing reload fails the update, after the change was made.
  declare(with_ports(p8080 + ", " + p8081)
              .replace(with_ports(p8080 + ", " + p8081).find("echo reloaded"), 13, "exit 3"));
  auto bad = berth({"apply"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("reload: /bin/sh -c exit 3 >> /tmp/reloads exited with status 3"),
            std::string::npos)
      << bad.err;
  EXPECT_EQ(request(*client, "192.168.77.1", 8080), "reply-hi from 192.168.77.2");
  ASSERT_EQ(berth({"stop", n}).status, 0);
  EXPECT_EQ(request(*client, "192.168.77.1", 8081, "tcp", 2), "");
}

// nat = true: the container's own traffic leaves the host masqueraded.
TEST_F(NetOptions, NatMasqueradesTrafficLeavingTheHost) {
  auto client = outside_machine();
  baseline();
  auto n = name("bnat");
  declare(decl(n, serve_cmd(),
               "private_network = true\nhost_address = \"10.233.24.1\"\nlocal_address = "
               "\"10.233.24.2\"\nnat = true"));
  start(n);
  auto srv = echo_server(*client, 7100);
  // The outside machine has no route to 10.233.24.0/24: only NAT gets an answer back.
  EXPECT_EQ(ct_request(n, "192.168.77.2", 7100), "reply-hi from 192.168.77.1");
  ASSERT_EQ(berth({"stop", n}).status, 0);
}

// macvlans: the container gets mv-eth1 on the test's eth1 and is reached from
// a peer on that link.
TEST_F(NetOptions, MacvlanReachedFromAPeer) {
  TestNetns peer;
  {
    auto nh = host().nl(), np = peer.nl();
    ASSERT_TRUE(net::create_veth(nh, "eth1", "lan0", peer.fd()).ok());
    ASSERT_TRUE(net::set_link_up(nh, "eth1").ok());
    ASSERT_TRUE(net::set_link_up(np, "lan0").ok());
    ASSERT_TRUE(net::add_address(np, "lan0", P("192.168.50.1/24")).ok());
  }
  baseline();
  auto n = name("bmv");
  declare(decl(n, "ip addr add 192.168.50.2/24 dev mv-eth1 && " + serve_cmd(),
               // It addresses the macvlan itself: CAP_NET_ADMIN, asked for.
               "private_network = true\nmacvlans = [\"eth1\"]\n" + kNetAdmin));
  start(n);
  EXPECT_NE(in_ct(n, "ip -o link show mv-eth1").out.find("mv-eth1"), std::string::npos);
  EXPECT_EQ(request(peer, "192.168.50.2", 80), "reply-hi from 192.168.50.1");
  EXPECT_EQ(peer.sh("ping -c1 -W3 192.168.50.2").status, 0);
  ASSERT_EQ(berth({"stop", n}).status, 0);
  EXPECT_EQ(request(peer, "192.168.50.2", 80, "tcp", 2), "");
}

// interfaces: a host link is the container's for its lifetime and back on
// the host after stop.
TEST_F(NetOptions, MovedInterfaceReturnedAfterStop) {
  TestNetns peer;
  {
    auto nh = host().nl(), np = peer.nl();
    ASSERT_TRUE(net::create_veth(nh, "eth2", "lan0", peer.fd()).ok());
    ASSERT_TRUE(net::set_link_up(np, "lan0").ok());
    ASSERT_TRUE(net::add_address(np, "lan0", P("192.168.51.1/24")).ok());
  }
  baseline();
  auto n = name("bif");
  declare(decl(n, "ip addr add 192.168.51.2/24 dev eth2 && " + serve_cmd(),
               // It addresses the moved link itself: CAP_NET_ADMIN, asked for.
               "private_network = true\ninterfaces = [\"eth2\"]\n" + kNetAdmin));
  start(n);
  EXPECT_FALSE(link_names().count("eth2"));
  EXPECT_EQ(request(peer, "192.168.51.2", 80), "reply-hi from 192.168.51.1");
  ASSERT_EQ(berth({"stop", n}).status, 0);
  EXPECT_TRUE(link_names().count("eth2"));
  // The same link serves the host again.
  auto nh = host().nl();
  ASSERT_TRUE(net::set_link_up(nh, "eth2").ok());
  ASSERT_TRUE(net::add_address(nh, "eth2", P("192.168.51.3/24")).ok());
  EXPECT_EQ(host().sh("ping -c1 -W3 192.168.51.1").status, 0);
  baseline_ = false;  // the test itself changed the returned link
}

// interfaces and macvlans attached and detached live (#15): apply moves the
// host's link in and makes the macvlan, without a restart; taking them out of
// the declaration returns the link and deletes the macvlan; a stop after a
// live attach returns what was attached.
TEST_F(NetOptions, InterfacesAndMacvlansChangeLive) {
  TestNetns peer;
  {
    auto nh = host().nl(), np = peer.nl();
    ASSERT_TRUE(net::create_veth(nh, "eth3", "lan0", peer.fd()).ok());
    ASSERT_TRUE(net::create_veth(nh, "eth4", "lan1", peer.fd()).ok());
    ASSERT_TRUE(net::set_link_up(nh, "eth4").ok());
  }
  baseline();
  auto n = name("bliv");
  auto with = [&](const std::string& links) {
    return decl(n, "trap 'exit 0' TERM; while :; do sleep 0.1; done",
                "private_network = true\n" + links);
  };
  declare(with(""));
  start(n);
  int pid = status(n)["pid"].get<int>();
  declare(with("interfaces = [\"eth3\"]\nmacvlans = [\"eth4\"]\n"));
  EXPECT_EQ(berth({"plan"}).out, "update " + n +
                                     ": live, no restart: interfaces: moved (+eth3); macvlans: "
                                     "netlink (+eth4)\n");
  auto ap = berth({"apply"});
  ASSERT_EQ(ap.status, 0) << ap.out << ap.err;
  EXPECT_EQ(status(n)["pid"].get<int>(), pid);
  auto links = in_ct(n, "ip -o link show");
  EXPECT_NE(links.out.find(": eth3@"), std::string::npos) << links.out;
  EXPECT_NE(links.out.find(": mv-eth4@"), std::string::npos) << links.out;
  EXPECT_FALSE(link_names().count("eth3"));

  declare(with("macvlans = [\"eth4\"]\n"));
  ap = berth({"apply"});
  ASSERT_EQ(ap.status, 0) << ap.out << ap.err;
  EXPECT_EQ(in_ct(n, "ip -o link show").out.find(": eth3@"), std::string::npos);
  EXPECT_TRUE(link_names().count("eth3"));
  declare(with("interfaces = [\"eth3\"]\n"));
  ap = berth({"apply"});
  ASSERT_EQ(ap.status, 0) << ap.out << ap.err;
  EXPECT_EQ(in_ct(n, "ip -o link show").out.find("mv-eth4"), std::string::npos);
  EXPECT_FALSE(link_names().count("eth3"));
  // Attached live, returned at stop.
  ASSERT_EQ(berth({"stop", n}).status, 0);
  EXPECT_TRUE(link_names().count("eth3"));
}

// extra_veths: a second routed veth next to the main one.
TEST_F(NetOptions, ExtraVeths) {
  baseline();
  auto n = name("bxv");
  declare(decl(n, serve_cmd(),
               "private_network = true\nhost_address = \"10.233.25.1\"\nlocal_address = "
               "\"10.233.25.2\"\nextra_veths.xv0 = { host_address = \"10.233.26.1\", "
               "local_address = \"10.233.26.2\", host_address6 = \"fd64::1\", local_address6 = "
               "\"fd64::2\" }"));
  start(n);
  EXPECT_TRUE(link_names().count("xv0"));
  EXPECT_NE(in_ct(n, "ip -o addr show xv0").out.find("10.233.26.2/32"), std::string::npos);
  EXPECT_EQ(request(host(), "10.233.26.2", 80), "reply-hi from 10.233.26.1");
  EXPECT_EQ(request(host(), "fd64::2", 80), "reply-hi from [fd64::1]");
  EXPECT_EQ(request(host(), "10.233.25.2", 80), "reply-hi from 10.233.25.1");
  auto st = status(n);
  EXPECT_EQ(st["host_links"], nlohmann::json({net::host_link_name("ve-", n), "xv0"}));
  ASSERT_EQ(berth({"stop", n}).status, 0);
}

// network_namespace: the container joins a namespace that exists already
// (here one reached from the host by a veth), and leaves it intact.
TEST_F(NetOptions, JoinsAnExistingNamespace) {
  TestNetns shared;
  {
    auto nh = host().nl(), ns = shared.nl();
    ASSERT_TRUE(net::create_veth(nh, "to-shared", "eth0", shared.fd()).ok());
    ASSERT_TRUE(net::set_link_up(nh, "to-shared").ok());
    ASSERT_TRUE(net::add_address(nh, "to-shared", P("192.168.60.1/24")).ok());
    ASSERT_TRUE(net::set_link_up(ns, "eth0").ok());
    ASSERT_TRUE(net::add_address(ns, "eth0", P("192.168.60.2/24")).ok());
  }
  baseline();
  auto n = name("bjn");
  declare(decl(n, serve_cmd(), "network_namespace = \"" + shared.path() + "\""));
  start(n);
  EXPECT_EQ(request(host(), "192.168.60.2", 80), "reply-hi from 192.168.60.1");
  auto links = in_ct(n, "ip -o link show eth0");
  EXPECT_NE(links.out.find("eth0"), std::string::npos) << links.out << links.err;
  ASSERT_EQ(berth({"stop", n}).status, 0);
  EXPECT_NE(shared.out("ip -o addr show eth0").find("192.168.60.2/24"), std::string::npos);
}

// A crash leaves a monitor-less container's rules and hosts lines behind,
// and something may still hold a same-named link: the next start replaces
// them all and works.
TEST_F(NetOptions, StaleNetworkFromACrashCleanedAtTheNextStart) {
  baseline();
  auto n = name("bcr");
  declare(decl(n, serve_cmd(),
               "private_network = true\nhost_address = \"10.233.27.1\"\nlocal_address = "
               "\"10.233.27.2\"\nhost_address6 = \"fd62:6572:7468:27::1\"\nlocal_address6 = "
               "\"fd62:6572:7468:27::2\"\nforward_ports = [{ protocol = \"tcp\", host_port = "
               "8080, container_port = 80 }]"));
  start(n);
  auto st = status(n);
  int mon = st["monitor_pid"].get<int>(), init = st["pid"].get<int>();
  // The crash: monitor and container killed at once, nothing cleaned.
  ASSERT_EQ(::kill(mon, SIGKILL), 0);
  ASSERT_EQ(::kill(init, SIGKILL), 0);
  for (int i = 0; i < 200 && (pid_alive(mon) || pid_alive(init)); ++i)
    std::this_thread::sleep_for(20ms);
  std::string hl = net::host_link_name("ve-", n);
  for (int i = 0; i < 100 && link_names().count(hl); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_NE(host().out("nft list ruleset").find("berth:" + n), std::string::npos);
  EXPECT_NE(slurp(root_ / "etc/hosts").find(n + ".containers"), std::string::npos);
  // And a link of the same name held by something else.
  {
    auto nl = host().nl();
    ASSERT_TRUE(net::create_veth(nl, hl, "stale-peer").ok());
  }
  start(n);
  EXPECT_FALSE(link_names().count("stale-peer"));
  EXPECT_EQ(request(host(), "10.233.27.2", 80), "reply-hi from 10.233.27.1");
  EXPECT_EQ(request(host(), "127.0.0.1", 8080), "reply-hi from 10.233.27.1");
  EXPECT_EQ(request(host(), "::1", 8080), "reply-hi from [fd62:6572:7468:27::1]");
  // One set of rules and one hosts line per address, not two.
  std::string rules = host().out("nft list ruleset");
  size_t count = 0;
  for (size_t p = rules.find("dport 8080"); p != std::string::npos;
       p = rules.find("dport 8080", p + 1))
    ++count;
  EXPECT_EQ(count, 4u) << rules;  // prerouting + output, v4 + v6
  std::string hosts = slurp(root_ / "etc/hosts");
  EXPECT_EQ(hosts.find("10.233.27.2 " + n), hosts.rfind("10.233.27.2 " + n)) << hosts;
  ASSERT_EQ(berth({"stop", n}).status, 0);
}

// extra_veths.NAME.forward_ports: forwards (tcp and udp) to the extra veth's
// addresses from the host's 127.0.0.1 and ::1 and from an outside machine,
// next to the main veth's own forwards; all rules gone after stop.
TEST_F(NetOptions, ExtraVethForwardPorts) {
  auto client = outside_machine();
  baseline();
  auto n = name("bxf");
  declare(
      decl(n, serve_cmd(),
           "private_network = true\nhost_address = \"10.233.28.1\"\nlocal_address = "
           "\"10.233.28.2\"\nhost_address6 = \"fd62:6572:7468:28::1\"\nlocal_address6 = "
           "\"fd62:6572:7468:28::2\"\nforward_ports = [{ protocol = \"tcp\", host_port = 8080, "
           "container_port = 80 }]\nextra_veths.xv1 = { host_address = \"10.233.29.1\", "
           "local_address = \"10.233.29.2\", host_address6 = \"fd65::1\", local_address6 = "
           "\"fd65::2\", forward_ports = [{ protocol = \"tcp\", host_port = 8090, container_port "
           "= 80 }, { protocol = \"udp\", host_port = 5390, container_port = 80 }] }\n" +
               kNetAdmin));  // it adds a return route itself (below)
  start(n);
  // From the host's loopback: through xv1 (the container sees xv1's host
  // address), while the main veth's forward still goes through ve-NAME.
  EXPECT_EQ(request(host(), "127.0.0.1", 8090), "reply-hi from 10.233.29.1");
  EXPECT_EQ(request(host(), "::1", 8090), "reply-hi from [fd65::1]");
  EXPECT_EQ(request(host(), "127.0.0.1", 5390, "udp"), "reply-hi from 10.233.29.1");
  EXPECT_EQ(request(host(), "::1", 5390, "udp"), "reply-hi from [fd65::1]");
  EXPECT_EQ(request(host(), "127.0.0.1", 8080), "reply-hi from 10.233.28.1");
  EXPECT_EQ(request(host(), "::1", 8080), "reply-hi from [fd62:6572:7468:28::1]");
  // From outside: the client's address kept (the answers leave by the
  // container's default route, the main veth; conntrack undoes the DNAT).
  EXPECT_EQ(request(*client, "192.168.77.1", 8090), "reply-hi from 192.168.77.2");
  EXPECT_EQ(request(*client, "fd77::1", 8090), "reply-hi from [fd77::2]");
  // An unbound UDP server answers from the address of its route back, so a
  // UDP forward from outside needs that route on xv1 (as the user sets up).
  auto rt = in_ct(n,
                  "ip route add 192.168.77.0/24 via 10.233.29.1 dev xv1 && ip -6 route add "
                  "fd77::/64 via fd65::1 dev xv1");
  ASSERT_EQ(rt.status, 0) << rt.out << rt.err;
  EXPECT_EQ(request(*client, "192.168.77.1", 5390, "udp"), "reply-hi from 192.168.77.2");
  EXPECT_EQ(request(*client, "fd77::1", 5390, "udp"), "reply-hi from [fd77::2]");
  std::string rules = host().out("nft list ruleset");
  EXPECT_NE(rules.find("dnat to 10.233.29.2:80"), std::string::npos) << rules;
  EXPECT_NE(rules.find("dnat to [fd65::2]:80"), std::string::npos) << rules;
  EXPECT_NE(host().out("ip -6 route show table all").find("local ::1 dev xv1"), std::string::npos);
  ASSERT_EQ(berth({"stop", n}).status, 0);
  EXPECT_EQ(host().out("nft list ruleset").find("berth"), std::string::npos);
  EXPECT_EQ(request(host(), "127.0.0.1", 8090, "tcp", 2), "");
  EXPECT_EQ(request(host(), "::1", 8090, "tcp", 2), "");
  EXPECT_EQ(request(*client, "192.168.77.1", 8090, "tcp", 2), "");
}

// A bridged extra veth's forwards work as a bridged main veth's do: v4 from
// 127.0.0.1 (leaving as the bridge's address) and from outside, v6 from
// outside; ::1 is not forwarded (no host address on the veth to SNAT to).
TEST_F(NetOptions, BridgedExtraVethForwardPorts) {
  auto client = outside_machine();
  {
    auto nl = host().nl();
    ASSERT_TRUE(net::create_bridge(nl, "br1").ok());
    ASSERT_TRUE(net::set_link_up(nl, "br1").ok());
    ASSERT_TRUE(net::add_address(nl, "br1", P("10.233.33.1/24")).ok());
    ASSERT_TRUE(net::add_address(nl, "br1", P("fd66::1/64")).ok());
  }
  baseline();
  auto n = name("bxb");
  declare(
      decl(n, serve_cmd(),
           "private_network = true\nhost_address = \"10.233.34.1\"\nlocal_address = "
           "\"10.233.34.2\"\nhost_address6 = \"fd62:6572:7468:34::1\"\nlocal_address6 = "
           "\"fd62:6572:7468:34::2\"\nextra_veths.xb1 = { host_bridge = \"br1\", local_address = "
           "\"10.233.33.2/24\", local_address6 = \"fd66::2/64\", forward_ports = [{ protocol = "
           "\"tcp\", host_port = 8091, container_port = 80 }] }"));
  start(n);
  EXPECT_NE(host().out("ip -o link show master br1").find("xb1"), std::string::npos);
  EXPECT_EQ(request(host(), "127.0.0.1", 8091), "reply-hi from 10.233.33.1");
  EXPECT_EQ(request(*client, "192.168.77.1", 8091), "reply-hi from 192.168.77.2");
  EXPECT_EQ(request(*client, "fd77::1", 8091), "reply-hi from [fd77::2]");
  EXPECT_EQ(request(host(), "::1", 8091, "tcp", 2), "");
  ASSERT_EQ(berth({"stop", n}).status, 0);
  EXPECT_EQ(host().out("nft list ruleset").find("berth"), std::string::npos);
  EXPECT_EQ(request(*client, "192.168.77.1", 8091, "tcp", 2), "");
}

// resolv_conf = "auto" with a private network (#15): the container's
// nameserver is berth's forwarder on its host address, v4 and v6. The host's
// resolv.conf names only a loopback stub (a dnsmasq on 127.0.0.1 in the
// host namespace), which forwards to an "upstream" dnsmasq in a namespace of
// its own; the container resolves the upstream's name through that stub, and
// another container's NAME.containers from berth's hosts block.
TEST_F(NetOptions, DnsForwarderAnswersContainersAndForwardsToALoopbackStub) {
  if (run({"which", "dnsmasq"}).status != 0) GTEST_SKIP() << "dnsmasq is not installed";
  if (run({"which", "getent"}).status != 0) GTEST_SKIP() << "getent is not installed";
  auto up = outside_machine();  // 192.168.77.2, fd77::2
  baseline();
  std::vector<std::string> common = {"dnsmasq",
                                     "-k",
                                     "--conf-file=/dev/null",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--user=root",
                                     "--bind-dynamic",
                                     "--log-facility=" + root_ / "dnsmasq.log"};
  auto upstream_args = common;
  for (std::string a :
       {"--listen-address=192.168.77.2", "--listen-address=fd77::2",
        "--address=/upstream.test/192.0.2.7", "--address=/upstream.test/2001:db8::7"})
    upstream_args.push_back(a);
  upstream_args.push_back("--pid-file=" + root_ / "upstream.pid");
  net::testing::Background upstream(*up, upstream_args);
  auto stub_args = common;
  stub_args.push_back("--listen-address=127.0.0.1");
  stub_args.push_back("--server=192.168.77.2");
  stub_args.push_back("--pid-file=" + root_ / "stub.pid");
  net::testing::Background stub(host(), stub_args);
  std::ofstream(root_ / "etc/resolv.conf") << "nameserver 127.0.0.1\nsearch example.test\n";

  auto a = name("bdns"), b = name("bdns");
  auto net = [](int n) {
    return fmt::format(
        "private_network = true\nhost_address = \"10.233.{0}.1\"\nlocal_address = "
        "\"10.233.{0}.2\"\nhost_address6 = \"fd62:6572:7468:{0}::1\"\nlocal_address6 = "
        "\"fd62:6572:7468:{0}::2\"",
        n);
  };
  std::string idle = "trap 'exit 0' TERM; while :; do sleep 0.1; done";
  declare(decl(a, idle, net(31)) + decl(b, idle, net(32)));
  start(a);
  start(b);

  auto resolv = in_ct(a, "cat /etc/resolv.conf");
  EXPECT_NE(resolv.out.find("nameserver 10.233.31.1\nnameserver fd62:6572:7468:31::1\n"),
            std::string::npos)
      << resolv.out;
  EXPECT_NE(resolv.out.find("search example.test"), std::string::npos) << resolv.out;
  EXPECT_EQ(resolv.out.find("127.0.0.1"), std::string::npos) << resolv.out;

  // Until the two dnsmasqs are up.
  auto until = [&](const std::string& cmd, const std::string& want) {
    RunResult r;
    for (int i = 0; i < 50; ++i) {
      r = in_ct(a, cmd);
      if (r.out.find(want) != std::string::npos) break;
      std::this_thread::sleep_for(100ms);
    }
    return r.out + r.err;
  };
  // The upstream's name, A and AAAA, through the glibc resolver (v4 first).
  auto upv4 = until("getent ahostsv4 upstream.test", "192.0.2.7");
  EXPECT_NE(upv4.find("192.0.2.7"), std::string::npos) << upv4;
  auto upv6 = until("getent ahosts upstream.test", "2001:db8::7");
  EXPECT_NE(upv6.find("2001:db8::7"), std::string::npos) << upv6;
  // Another container by name, asked over v4 and over v6.
  auto bv4 = until("busybox nslookup " + b + ".containers 10.233.31.1", "10.233.32.2");
  EXPECT_NE(bv4.find("10.233.32.2"), std::string::npos) << bv4;
  EXPECT_NE(bv4.find("fd62:6572:7468:32::2"), std::string::npos) << bv4;
  auto bv6 = until("busybox nslookup " + b + ".containers fd62:6572:7468:31::1", "10.233.32.2");
  EXPECT_NE(bv6.find("10.233.32.2"), std::string::npos) << bv6;
  EXPECT_NE(bv6.find("fd62:6572:7468:32::2"), std::string::npos) << bv6;
  // An undeclared container is no such name (at once: berth answers it).
  EXPECT_EQ(in_ct(a, "getent hosts nope.containers").status, 2);
  // The upstream's own names come through the v6 listener too.
  auto upv6t = until("busybox nslookup upstream.test fd62:6572:7468:31::1", "192.0.2.7");
  EXPECT_NE(upv6t.find("192.0.2.7"), std::string::npos) << upv6t;

  ASSERT_EQ(berth({"stop", a}).status, 0);
  ASSERT_EQ(berth({"stop", b}).status, 0);
  auto sockets = host().out("ss -Hulnp");
  EXPECT_EQ(sockets.find("10.233.31.1:53"), std::string::npos) << sockets;
}

// The other modes on a tree of the container's own: auto copies the host's
// file into it, bind-host binds the host's read-only, off leaves it alone.
TEST_F(NetOptions, ResolvConfModesOnAPathTree) {
  TempDir tree{"berth-test-resolv-tree"};
  ASSERT_EQ(run({"cp", "-a", test_rootfs() + "/.", tree.path()}).status, 0);
  std::ofstream(root_ / "etc/resolv.conf") << "nameserver 192.0.2.53\n";
  auto n = name("bres");
  auto tree_decl = [&](const std::string& mode) {
    return "[containers." + n + "]\npath = \"" + tree.path() +
           "\"\ncommand = [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 0.1; "
           "done\"]\ntimeout_stop = \"3s\"\n" +
           (mode.empty() ? "" : "resolv_conf = \"" + mode + "\"\n");
  };
  declare(tree_decl(""));
  start(n);
  EXPECT_EQ(slurp(tree / "etc/resolv.conf"), "nameserver 192.0.2.53\n");
  ASSERT_EQ(berth({"stop", n}).status, 0);

  std::ofstream(root_ / "etc/resolv.conf") << "nameserver 192.0.2.54\n";
  declare(tree_decl("bind-host"));
  start(n);
  auto in = in_ct(n, "cat /etc/resolv.conf; echo x >> /etc/resolv.conf && echo WROTE");
  EXPECT_NE(in.out.find("192.0.2.54"), std::string::npos) << in.out;
  EXPECT_EQ(in.out.find("WROTE"), std::string::npos) << in.out;
  EXPECT_EQ(slurp(tree / "etc/resolv.conf"), "nameserver 192.0.2.53\n");  // the tree's untouched
  ASSERT_EQ(berth({"stop", n}).status, 0);

  declare(tree_decl("off"));
  start(n);
  EXPECT_EQ(slurp(tree / "etc/resolv.conf"), "nameserver 192.0.2.53\n");
  ASSERT_EQ(berth({"stop", n}).status, 0);
}

}  // namespace
}  // namespace berth::test
