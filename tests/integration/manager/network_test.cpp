// A private-network container started by berth whose "host" is a network
// namespace the test made (never the machine's own): the veth, addresses,
// hosts entry exist while it runs and are gone after stop, also when the
// monitor was killed.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/manager/manager_fixture.h"
#include "support/testenv.h"

namespace berth::test {
namespace {

using namespace std::chrono_literals;

class NetNs {
 public:
  NetNs() : name_(unique_id("berth-test-ns")) {
    ok_ = run({"ip", "netns", "add", name_}).status == 0;
    if (ok_) run({"ip", "-n", name_, "link", "set", "lo", "up"});
  }
  ~NetNs() {
    if (ok_) run({"ip", "netns", "del", name_});
  }
  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }
  std::string path() const { return "/run/netns/" + name_; }

 private:
  std::string name_;
  bool ok_ = false;
};

class ManagerNet : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_UNLESS_ROOT();
    if (!ns_.ok()) GTEST_SKIP() << "cannot create a network namespace with `ip netns add`";
    run({"mkdir", "-p", root_ / "etc/berth"});
    std::ofstream(root_ / "etc/hosts") << "127.0.0.1 localhost\n";
  }
  void TearDown() override {
    if (!n_.empty()) berth({"terminate", n_});
  }
  RunResult berth(std::vector<std::string> args) {
    std::vector<std::string> argv = {"nsenter", "--net=" + ns_.path(), test::berth(), "--root",
                                     root_.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }
  RunResult in_host(std::vector<std::string> args) {
    std::vector<std::string> argv = {"nsenter", "--net=" + ns_.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }
  NetNs ns_;
  TempDir root_{"berth-test-mgrnet"};
  std::string n_;
};

TEST_F(ManagerNet, PrivateNetworkUpBeforeInitAndTornDown) {
  n_ = unique_id("bnet");
  // The command checks its network as its first act: it is there before the init starts.
  std::ofstream(root_ / "etc/berth/containers.toml")
      << "[containers." << n_ << "]\npath = \"" << test_rootfs() << "\"\n"
      << "command = [\"/bin/sh\", \"-c\", \"ip -4 addr show eth0; trap 'exit 0' TERM; while :; do "
         "sleep 0.1; done\"]\n"
      << "private_network = true\nhost_address = \"10.233.7.1\"\nlocal_address = \"10.233.7.2\"\n"
      << "timeout_stop = \"3s\"\n";
  auto r = berth({"start", n_});
  ASSERT_EQ(r.status, 0) << r.err;
  auto links = in_host({"ip", "-o", "addr", "show"});
  EXPECT_NE(links.out.find("10.233.7.1"), std::string::npos) << links.out;
  auto ping = in_host({"ping", "-c", "1", "-W", "3", "10.233.7.2"});
  EXPECT_EQ(ping.status, 0) << ping.out << ping.err;
  EXPECT_NE(slurp(root_ / "etc/hosts").find("10.233.7.2 " + n_ + ".containers"), std::string::npos)
      << slurp(root_ / "etc/hosts");
  auto st = nlohmann::json::parse(berth({"status", n_, "--json"}).out);
  EXPECT_EQ(st["addresses"], nlohmann::json({"host 10.233.7.1", "local 10.233.7.2"}));
  EXPECT_EQ(berth({"show-ip", n_}).out, "10.233.7.2\n");
  std::this_thread::sleep_for(200ms);
  EXPECT_NE(berth({"logs", n_}).out.find("10.233.7.2"), std::string::npos);

  ASSERT_EQ(berth({"stop", n_}).status, 0);
  auto after = in_host({"ip", "-o", "addr", "show"});
  EXPECT_EQ(after.out.find("10.233.7.1"), std::string::npos) << after.out;
  EXPECT_EQ(slurp(root_ / "etc/hosts").find(n_), std::string::npos);
  auto l = in_host({"ip", "-o", "link", "show"});
  EXPECT_EQ(l.out.find("ve-"), std::string::npos) << l.out;
}

TEST_F(ManagerNet, KilledMonitorStopStillCleansNetwork) {
  n_ = unique_id("bnk");
  std::ofstream(root_ / "etc/berth/containers.toml")
      << "[containers." << n_ << "]\npath = \"" << test_rootfs() << "\"\n"
      << "command = [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 0.1; done\"]\n"
      << "private_network = true\nhost_address = \"10.233.8.1\"\nlocal_address = \"10.233.8.2\"\n";
  ASSERT_EQ(berth({"start", n_}).status, 0);
  auto st = nlohmann::json::parse(berth({"status", n_, "--json"}).out);
  int mon = st["monitor_pid"].get<int>();
  ASSERT_EQ(::kill(mon, SIGKILL), 0);
  for (int i = 0; i < 100 && pid_alive(mon); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_NE(berth({"status", n_}).out.find("monitor died"), std::string::npos);
  ASSERT_EQ(berth({"stop", n_}).status, 0);
  auto after = in_host({"ip", "-o", "addr", "show"});
  EXPECT_EQ(after.out.find("10.233.8.1"), std::string::npos) << after.out;
  EXPECT_EQ(slurp(root_ / "etc/hosts").find(n_), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(berth({"status", n_, "--json"}).out)["state"], "down");
}

// apply starts (and stops) independent containers in parallel: the state
// they share on the host (the hosts file, the nat table of the namespace)
// must come out the same as one at a time. 12 containers with a veth, a port
// forward and NAT each, started by one apply and stopped by the next.
TEST_F(ManagerNet, ParallelApplyKeepsTheSharedHostStateRight) {
  if (run({"sh", "-c", "command -v nft"}).status != 0) GTEST_SKIP() << "no nft to check the rules";
  constexpr int kN = 12;
  std::vector<std::string> names;
  std::string decls;
  for (int i = 0; i < kN; i++) {
    names.push_back(unique_id("bpa" + std::to_string(i)));
    decls += "[containers." + names.back() + "]\npath = \"" + test_rootfs() + "\"\n" +
             "command = [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 0.1; "
             "done\"]\n" +
             "autostart = true\ntimeout_stop = \"3s\"\nprivate_network = true\nnat = true\n" +
             "host_address = \"10.233." + std::to_string(60 + i) + ".1\"\n" +
             "local_address = \"10.233." + std::to_string(60 + i) + ".2\"\n" +
             "forward_ports = [{ protocol = \"tcp\", host_port = " + std::to_string(8100 + i) +
             ", container_port = 80 }]\n";
  }
  auto stop_all = [&] {
    for (auto& n : names) berth({"terminate", n});
  };
  std::ofstream(root_ / "etc/berth/containers.toml") << decls;
  auto ap = berth({"apply", "--jobs", "6"});
  if (ap.status != 0) stop_all();
  ASSERT_EQ(ap.status, 0) << ap.out << ap.err;
  std::string hosts = slurp(root_ / "etc/hosts");
  std::string rules = in_host({"nft", "list", "ruleset"}).out;
  for (int i = 0; i < kN; i++) {
    EXPECT_NE(hosts.find("10.233." + std::to_string(60 + i) + ".2 " + names[i] + ".containers"),
              std::string::npos)
        << hosts;
    EXPECT_NE(rules.find("dport " + std::to_string(8100 + i) + " "), std::string::npos)
        << names[i] << "\n"
        << rules;
    EXPECT_NE(rules.find("\"berth:" + names[i] + "\""), std::string::npos) << rules;
  }
  // Each answers on its own address.
  for (int i = 0; i < kN; i++)
    EXPECT_EQ(
        in_host({"ping", "-c", "1", "-W", "3", "10.233." + std::to_string(60 + i) + ".2"}).status,
        0)
        << names[i];

  // All removed: one apply stops them all, in parallel.
  std::ofstream(root_ / "etc/berth/containers.toml") << "";
  auto rm = berth({"apply", "--jobs", "6"});
  if (rm.status != 0) stop_all();
  ASSERT_EQ(rm.status, 0) << rm.out << rm.err;
  for (auto& n : names)
    EXPECT_NE(rm.out.find("stop " + n + ": no longer declared\n"), std::string::npos) << rm.out;
  EXPECT_EQ(slurp(root_ / "etc/hosts"), "127.0.0.1 localhost\n");
  EXPECT_EQ(in_host({"nft", "list", "ruleset"}).out.find("berth"), std::string::npos);
  auto l = in_host({"ip", "-o", "link", "show"});
  EXPECT_EQ(l.out.find("ve-"), std::string::npos) << l.out;
}

// `berth start A B C` and `berth stop A B C`: several names at once, each
// after those it comes after; an unknown name starts nothing.
TEST_F(ManagerNet, StartAndStopTakeSeveralNames) {
  std::vector<std::string> names = {unique_id("bsa"), unique_id("bsb"), unique_id("bsc")};
  std::string decls;
  for (size_t i = 0; i < names.size(); i++) {
    decls += "[containers." + names[i] + "]\npath = \"" + test_rootfs() + "\"\n" +
             "command = [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 0.1; "
             "done\"]\ntimeout_stop = \"3s\"\n";
    // b comes after a, c after b: c starts last and stops first.
    if (i > 0) decls += "after = [\"" + names[i - 1] + "\"]\n";
  }
  std::ofstream(root_ / "etc/berth/containers.toml") << decls;
  auto bad = berth({"start", names[0], "nosuchone"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("nosuchone: no such container declared"), std::string::npos) << bad.err;
  auto state = [&](const std::string& n) {
    return nlohmann::json::parse(berth({"status", n, "--json"}).out)["state"].get<std::string>();
  };
  EXPECT_EQ(state(names[0]), "down");  // nothing started
  auto up = berth({"start", names[2], names[0], names[1]});
  ASSERT_EQ(up.status, 0) << up.err;
  std::vector<double> started;
  for (auto& n : names) {
    EXPECT_EQ(state(n), "up") << n;
    // The monitor's record of when its init started.
    auto st = nlohmann::json::parse(slurp(root_ / ("run/berth/" + n + "/status.json")));
    started.push_back(st["started_at"].get<double>());
  }
  // Each started once the one it comes after was ready.
  EXPECT_LT(started[0], started[1]);
  EXPECT_LT(started[1], started[2]);
  auto down = berth({"stop", names[0], names[1], names[2]});
  EXPECT_EQ(down.status, 0) << down.err;
  for (auto& n : names) EXPECT_EQ(state(n), "down") << n;
}

}  // namespace
}  // namespace berth::test
