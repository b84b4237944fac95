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

}  // namespace
}  // namespace berth::test
