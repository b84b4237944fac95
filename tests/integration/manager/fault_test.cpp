// Faults at every phase: `berth start` and the monitor SIGKILLed before the
// network, after it and before the init, after the init and before ready,
// while the monitor stops; `berth stop` SIGKILLed midway. The next status,
// start, stop and apply recover, and nothing is left: links, routes, nft
// rules, hosts entries (in a "host" network namespace the test made), mounts
// in any mount namespace, cgroups, state and lock files. The processes stop
// themselves at the phase (BERTH_TEST_PAUSE_AT, see manager/runtime.h).
// Also: a full or read-only state directory fails with one clear line and
// leaves no half-written state.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/manager/manager_fixture.h"
#include "integration/net/netns_fixture.h"
#include "support/testenv.h"

namespace berth::test {
namespace {

using namespace std::chrono_literals;
using net::testing::TestNetns;

const std::string kHosts = "127.0.0.1 localhost\n";

// A process of the test's (berth with BERTH_TEST_PAUSE_AT set, in the host
// namespace), SIGKILLed and reaped when the object goes.
class Spawned {
 public:
  Spawned(const TestNetns& ns, const std::vector<std::string>& argv, const std::string& pause_at) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::setns(ns.fd(), CLONE_NEWNET) < 0) ::_exit(126);
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::setenv("BERTH_TEST_PAUSE_AT", pause_at.c_str(), 1);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Spawned() { kill(); }
  pid_t pid() const { return pid_; }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

char proc_state(pid_t pid) {
  std::string s = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto rp = s.rfind(") ");
  return rp == std::string::npos || rp + 2 >= s.size() ? 0 : s[rp + 2];
}

class Faults : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_UNLESS_ROOT();
    run({"mkdir", "-p", root_ / "etc/berth"});
    std::ofstream(root_ / "etc/hosts") << kHosts;
  }
  void TearDown() override {
    for (auto& n : names_) berth({"terminate", n});
    if (host_) expect_nothing_left();
  }

  TestNetns& host() {
    if (!host_) host_ = std::make_unique<TestNetns>();
    return *host_;
  }
  std::set<std::string> links() {
    auto v = net::testing::link_names(host());
    return {v.begin(), v.end()};
  }
  std::string routes() {
    return host().out(
        "ip -4 route show table all; ip -6 route show table all | grep -v fe80: | grep -v ff00::/8 "
        "| grep -v ^anycast");
  }
  void baseline() {
    base_links_ = links();
    base_routes_ = routes();
  }
  void expect_nothing_left() {
    EXPECT_EQ(links(), base_links_);
    EXPECT_EQ(routes(), base_routes_);
    std::string rules = host().out("nft list ruleset");
    EXPECT_EQ(rules.find("berth"), std::string::npos) << rules;
    EXPECT_EQ(slurp(root_ / "etc/hosts"), kHosts);
    for (auto& n : names_) {
      EXPECT_FALSE(exists(root_ / ("run/berth/" + n))) << n;
      for (const char* ctl : {"memory", "pids", "cpu", "freezer", "devices", "unified", "systemd"})
        EXPECT_FALSE(exists(std::string("/sys/fs/cgroup/") + ctl + "/berth/" + n))
            << ctl << " " << n;
      EXPECT_FALSE(exists("/sys/fs/cgroup/berth/" + n)) << n;
    }
    // No mount of the test's root in any mount namespace.
    DIR* d = ::opendir("/proc");
    ASSERT_NE(d, nullptr);
    while (auto* e = ::readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      std::string mi = slurp(std::string("/proc/") + e->d_name + "/mountinfo");
      EXPECT_EQ(mi.find(root_.path()), std::string::npos) << "pid " << e->d_name;
    }
    ::closedir(d);
  }
  static bool exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

  std::vector<std::string> berth_argv(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {test::berth(), "--root", root_.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  RunResult berth(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"nsenter", "--net=" + host().path()};
    auto b = berth_argv(args);
    argv.insert(argv.end(), b.begin(), b.end());
    return run(argv);
  }
  std::string name(const std::string& base) {
    names_.push_back(unique_id(base));
    return names_.back();
  }
  // A routed container with v4 and v6 addresses (routes, hosts entries) and a
  // port forward (nft rules), started by apply (autostart).
  void declare(const std::string& n, int net) {
    std::ofstream(root_ / "etc/berth/containers.toml")
        << "[containers." << n << "]\npath = \"" << test_rootfs()
        << "\"\ncommand = [\"/bin/sleep\", \"100000\"]\nautostart = true\nprivate_network = true\n"
        << "host_address = \"10.233." << net << ".1\"\nlocal_address = \"10.233." << net << ".2\"\n"
        << "host_address6 = \"fd62:6572:7468:" << net
        << "::1\"\nlocal_address6 = \"fd62:6572:7468:" << net
        << "::2\"\nforward_ports = [{ protocol = \"tcp\", host_port = 18" << net
        << ", container_port = 80 }]\n";
  }
  nlohmann::json status(const std::string& n) {
    auto r = berth({"status", n, "--json"});  // exits 3 when the container is down
    try {
      return nlohmann::json::parse(r.out);
    } catch (const std::exception&) {
      ADD_FAILURE() << "status: " << r.out << r.err;
      return {};
    }
  }
  // Waits until pid has stopped itself (state T).
  bool paused(pid_t pid) {
    for (int i = 0; i < 600; i++) {
      if (proc_state(pid) == 'T') return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  pid_t monitor_pid(const std::string& n) {
    for (int i = 0; i < 600; i++) {
      auto text = slurp(root_ / ("run/berth/" + n + "/status.json"));
      if (!text.empty()) {
        try {
          return nlohmann::json::parse(text)["monitor_pid"].get<pid_t>();
        } catch (const std::exception&) {
        }
      }
      std::this_thread::sleep_for(50ms);
    }
    return 0;
  }

  // After a fault: status answers, then start (or, when the container runs
  // without its monitor, a clear refusal and a stop), stop, apply and stop
  // bring it back and down with nothing left.
  void recover(const std::string& n) {
    auto st = status(n);
    EXPECT_TRUE(st.contains("state")) << st.dump();
    auto s = berth({"start", n});
    if (s.status != 0) {
      EXPECT_NE(s.err.find("runs without its monitor"), std::string::npos) << s.err;
      EXPECT_EQ(std::count(s.err.begin(), s.err.end(), '\n'), 1) << s.err;
      EXPECT_EQ(st["state"], "up") << st.dump();
      auto t = berth({"stop", n});
      ASSERT_EQ(t.status, 0) << t.err;
      s = berth({"start", n});
    }
    ASSERT_EQ(s.status, 0) << s.err;
    EXPECT_EQ(status(n)["state"], "up");
    auto t = berth({"stop", n});
    ASSERT_EQ(t.status, 0) << t.err;
    EXPECT_EQ(status(n)["state"], "down");
    auto a = berth({"apply"});
    ASSERT_EQ(a.status, 0) << a.out << a.err;
    EXPECT_EQ(status(n)["state"], "up");
    ASSERT_EQ(berth({"stop", n}).status, 0);
    expect_nothing_left();
  }

  // `berth start` with the monitor pausing at phase; both SIGKILLed there.
  void kill_start_at(const std::string& phase, int net) {
    baseline();
    auto n = name("bft");
    declare(n, net);
    Spawned start(host(), berth_argv({"start", n}), phase);
    pid_t mon = monitor_pid(n);
    ASSERT_GT(mon, 0);
    ASSERT_TRUE(paused(mon)) << phase;
    ::kill(mon, SIGKILL);
    start.kill();
    // The monitor was not our child: wait until it is gone.
    for (int i = 0; i < 200 && proc_state(mon) != 0 && proc_state(mon) != 'Z'; i++)
      std::this_thread::sleep_for(50ms);
    recover(n);
  }

  TempDir root_{"berth-test-fault"};
  std::unique_ptr<TestNetns> host_;
  std::vector<std::string> names_;
  std::set<std::string> base_links_;
  std::string base_routes_;
};

TEST_F(Faults, KillBeforeTheNetwork) {
  kill_start_at("monitor-network", 51);
}
TEST_F(Faults, KillAfterTheNetworkBeforeTheInit) {
  kill_start_at("monitor-init", 52);
}
TEST_F(Faults, KillAfterTheInitBeforeReady) {
  kill_start_at("monitor-ready", 53);
}

// The monitor SIGKILLed while it stops the container (the init is gone, the
// network not yet torn down), and the `berth stop` waiting for it.
TEST_F(Faults, KillTheMonitorWhileItStops) {
  baseline();
  auto n = name("bfm");
  declare(n, 54);
  {
    // Started with the variable set, so that the monitor pauses in its stop.
    Spawned start(host(), berth_argv({"start", n}), "monitor-stopping");
    for (int i = 0; i < 600 && status(n)["state"] != "up"; i++) std::this_thread::sleep_for(50ms);
    ASSERT_EQ(status(n)["state"], "up");
  }
  pid_t mon = monitor_pid(n);
  ASSERT_GT(mon, 0);
  Spawned stop(host(), berth_argv({"stop", n}), "");
  ASSERT_TRUE(paused(mon));
  ::kill(mon, SIGKILL);
  stop.kill();
  recover(n);
}

// `berth stop` SIGKILLed midway through stopping a container whose monitor
// died: after the init was killed, before the network and state are gone.
TEST_F(Faults, KillStopMidway) {
  baseline();
  auto n = name("bfs");
  declare(n, 55);
  ASSERT_EQ(berth({"start", n}).status, 0);
  pid_t mon = monitor_pid(n);
  ASSERT_GT(mon, 0);
  ::kill(mon, SIGKILL);
  for (int i = 0; i < 200 && proc_state(mon) != 0 && proc_state(mon) != 'Z'; i++)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(status(n)["monitor_died"], true);
  Spawned stop(host(), berth_argv({"stop", n}), "stop-orphan");
  ASSERT_TRUE(paused(stop.pid()));
  stop.kill();
  recover(n);
}

// A full state directory (a tiny tmpfs as the run dir) or a read-only one:
// `start` fails with one line naming the problem, and nothing half-written
// is left in it.
class StateDir : public ManagerTest {
 protected:
  StateDir() : ManagerTest("berth-test-statedir") {}
  void TearDown() override {
    for (auto& m : mounted_) ::umount2(m.c_str(), MNT_DETACH);
    ManagerTest::TearDown();
  }
  // Files left under dir (recursively), as relative paths.
  std::string files_under(const std::string& dir) {
    return sh("cd " + dir + " && find . -mindepth 1 -not -path ./berth").out;
  }
  std::vector<std::string> mounted_;
};

TEST_F(StateDir, FullStateDirectory) {
  auto n = name("bsd");
  declare(busybox_decl(n, "exec sleep 100000"));
  std::string run = root_ / "run";
  ::mkdir(run.c_str(), 0755);
  ASSERT_EQ(::mount("tmpfs", run.c_str(), "tmpfs", 0, "size=64k,nr_inodes=64"), 0)
      << strerror(errno);
  mounted_.push_back(run);
  // Fill it.
  sh("dd if=/dev/zero of=" + run + "/fill bs=4k count=1000 2>/dev/null");
  auto r = berth({"start", n});
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  ::unlink((run + "/fill").c_str());
  EXPECT_EQ(files_under(run), "") << "half-written state";
  // With room again it starts.
  auto ok = berth({"start", n});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(berth({"stop", n}).status, 0);
}

TEST_F(StateDir, ReadOnlyStateDirectory) {
  auto n = name("bsr");
  declare(busybox_decl(n, "exec sleep 100000"));
  std::string run = root_ / "run";
  ::mkdir(run.c_str(), 0755);
  ASSERT_EQ(::mount(run.c_str(), run.c_str(), nullptr, MS_BIND, nullptr), 0) << strerror(errno);
  mounted_.push_back(run);
  ASSERT_EQ(::mount(nullptr, run.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr), 0);
  auto r = berth({"start", n});
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
  EXPECT_EQ(files_under(run), "");
  EXPECT_NE(berth({"status", n}).out.find(n + ": down"), std::string::npos);  // exits 3: down
}

}  // namespace
}  // namespace berth::test
