// A rootless berth's private network (#14): slirp4netns, its forwards, its
// DNS, live forward changes, nothing left after a stop; run in a network
// namespace the test makes (the "host" side), never the machine's.
#include "integration/rootless/fixture.h"

namespace berth::test::rootless {
namespace {

// A background process of the test's (a server), killed by pid at the end.
struct Background {
  pid_t pid = -1;
  explicit Background(const std::vector<std::string>& argv) {
    pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::vector<char*> a;
      for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      ::execvp(a[0], a.data());
      ::_exit(127);
    }
  }
  ~Background() {
    if (pid > 0) ::kill(pid, SIGKILL), ::waitpid(pid, nullptr, 0);
  }
};

// What an HTTP GET of / on 127.0.0.1:port in the test's namespace returns
// (bash's /dev/tcp: no client needed), "" when nothing answers.
std::string get_in(const HostNetns& ns, int port) {
  std::string body;
  for (int i = 0; i < 20 && body.empty(); ++i) {
    auto r = ns.in({"bash", "-c",
                    "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port) +
                        " && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"});
    if (r.status == 0) body = r.out.substr(r.out.find("\r\n\r\n") + 4);
    if (body.empty()) ::usleep(100000);
  }
  return body;
}

TEST_F(RootlessBerth, APrivateNetworkIsSlirp4netnsWithForwardedPorts) {
  if (sh("command -v slirp4netns >/dev/null").status != 0)
    GTEST_SKIP() << "not installed: slirp4netns";
  // The tun driver, as slirp4netns meets it (ENODEV without the module).
  if (int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC); fd < 0)
    GTEST_SKIP() << "cannot open /dev/net/tun (" << std::strerror(errno)
                 << "): slirp4netns makes the container's tap link with it";
  else
    ::close(fd);
  netns_ = std::make_unique<HostNetns>();
  ASSERT_GT(netns_->pid, 0) << netns_->why;
  // The host side: loopback, and a server on an address of its own (a
  // rootless container never reaches the host's loopback).
  for (auto cmd : {"ip link set lo up", "ip link add d0 type veth peer name d1",
                   "ip addr add 192.0.2.1/24 dev d0", "ip link set d0 up", "ip link set d1 up"}) {
    auto r = netns_->in({"sh", "-c", cmd});
    ASSERT_EQ(r.status, 0) << cmd << ": " << r.err;
  }
  ::mkdir((dir_ / "www").c_str(), 0755);
  std::ofstream(dir_ / "www/x") << "from the host\n";
  Background server({"nsenter", "--net=" + netns_->path(), "--mount=" + netns_->mnt(),
                     tree_ + "/bin/busybox", "httpd", "-f", "-p", "192.0.2.1:18090", "-h",
                     dir_ / "www"});
  ASSERT_EQ(as_user({"list"}).status, 0);
  auto declared = [&](int port) {
    declare("[containers.rl]\npath = \"" + tree_ +
            "\"\ncommand = [\"/bin/sh\", \"-c\", \"mkdir -p /www && echo inside > "
            "/www/index.html && exec httpd -f -p 80 -h /www\"]\nprivate_network = true\n"
            "forward_ports = [{ host_port = " +
            std::to_string(port) + ", container_port = 80 }]\n");
  };
  declared(18080);
  auto s = as_user({"start", "rl"});
  ASSERT_EQ(s.status, 0) << s.err << s.out;
  EXPECT_EQ(s.err, "");
  int pid = status_json("rl")["pid"];

  // Inside: its own namespace with slirp4netns's eth0 and DNS.
  auto addr = as_user({"run", "rl", "--", "ip", "-4", "-o", "addr", "show", "eth0"});
  EXPECT_EQ(addr.status, 0) << addr.err;
  EXPECT_NE(addr.out.find("inet 10.0.2.100/24"), std::string::npos) << addr.out;
  auto dns = as_user({"run", "rl", "--", "grep", "^nameserver", "/etc/resolv.conf"});
  EXPECT_EQ(dns.out, "nameserver 10.0.2.3\n") << dns.err;
  EXPECT_NE(slurp_link("/proc/" + std::to_string(pid) + "/ns/net"), slurp_link(netns_->path()));
  // Out through it to the host side's server, and in by the forward.
  auto out = as_user({"run", "rl", "--", "wget", "-q", "-O", "-", "http://192.0.2.1:18090/x"});
  EXPECT_EQ(out.out, "from the host\n") << out.err;
  EXPECT_EQ(get_in(*netns_, 18080), "inside\n");
  // Nothing was added on the host side: slirp4netns works through sockets.
  auto links = netns_->in({"ip", "-o", "link"});
  EXPECT_EQ(std::count(links.out.begin(), links.out.end(), '\n'), 3) << links.out;

  // The forwards change live: plan says so, apply does it.
  declared(18081);
  auto plan = as_user({"plan"});
  EXPECT_NE(plan.out.find("forward_ports: slirp4netns"), std::string::npos) << plan.out;
  auto a = as_user({"apply"});
  EXPECT_EQ(a.status, 0) << a.err;
  EXPECT_EQ(get_in(*netns_, 18081), "inside\n");
  EXPECT_EQ(netns_->in({"bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/18080"}).status, 1)
      << "the old forward is gone";
  EXPECT_EQ(status_json("rl")["pid"], pid) << "not restarted";

  // Stopped, nothing of it is left: no slirp4netns, no monitor.
  auto stop = as_user({"stop", "rl"});
  EXPECT_EQ(stop.status, 0) << stop.err;
  std::vector<pid_t> left;
  for (int i = 0; i < 40; ++i) {
    left = processes_of(user_.sub_start, user_.sub_start + user_.sub_count - 1, user_.uid);
    if (left.empty()) break;
    ::usleep(50000);
  }
  EXPECT_TRUE(left.empty()) << left.size() << " processes left, the first " << left[0];
}

}  // namespace
}  // namespace berth::test::rootless
