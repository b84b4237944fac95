// Booted guests whose init is not systemd: busybox init, sysvinit, OpenRC's
// openrc-init and runit, each a tree made from Debian packages
// (tests/fixtures/make-init-guest.sh) and booted with boot = true and
// private_users = "pick". For each: start returns once the init runs (it
// never says READY=1), `run` works, the console getty takes a login, a
// reboot from inside and `berth reboot` start it again, a poweroff from
// inside leaves it stopped, and `stop` powers it off with the init's own
// halt signal within timeout_stop (nothing SIGKILLed).
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/testenv.h"
#include "system/inits/guests.h"

namespace berth::test {
namespace {

using namespace std::chrono_literals;

bool contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

class Inits : public ::testing::TestWithParam<Guest> {
 protected:
  void SetUp() override {
    SKIP_UNLESS_ROOT();
    g_ = GetParam();
    if (::access((fixture(g_.kind) + "/.berth-init-recipe").c_str(), F_OK) != 0)
      GTEST_SKIP() << "no " << g_.kind << " tree at " << fixture(g_.kind) << " (ctest fixture_init_"
                   << g_.kind << " builds it: tests/fixtures/make-init-guest.sh)";
    if (::access(berth().c_str(), X_OK) != 0) GTEST_SKIP() << "berth binary missing: " << berth();
    // A private copy: a boot writes to its tree (logs, runit's flags).
    tree_ = std::make_unique<TempDir>("berth-test-init-tree");
    auto cp = run({"cp", "-a", fixture(g_.kind) + "/.", tree_->path() + "/"}, {.timeout_sec = 300});
    ASSERT_EQ(cp.status, 0) << cp.err;
    run({"chmod", "755", tree_->path()});
    // The idmapped view of the tree is made under the berth root, which the
    // container's root (an unprivileged uid outside) must traverse.
    run({"chmod", "755", root_.path()});
    run({"mkdir", "-p", root_ / "etc/berth"});
    name_ = unique_id(std::string("in") + g_.kind[0]);
    declare("pick");
  }
  // private_users: "pick" or "no".
  void declare(const std::string& private_users) {
    std::ofstream(root_ / "etc/berth/containers.toml")
        << "[containers." << name_ << "]\npath = \"" << tree_->path() << "\"\nboot = true\n"
        << "private_users = \"" << private_users
        << "\"\ntimeout_start = \"60s\"\ntimeout_stop = \"30s\"\n";
  }
  void TearDown() override {
    if (name_.empty()) return;
    berth_cmd({"terminate", name_});
    EXPECT_NE(::access((root_ / ("run/berth/" + name_)).c_str(), F_OK), 0);
    for (const char* ctl : {"memory", "pids", "unified"})
      EXPECT_NE(::access((std::string("/sys/fs/cgroup/") + ctl + "/berth/" + name_).c_str(), F_OK),
                0)
          << ctl;
    EXPECT_TRUE(host_mounts_matching(tree_->path()).empty());
  }

  RunResult berth_cmd(std::vector<std::string> args, int timeout_sec = 120) {
    std::vector<std::string> argv = {berth(), "--root", root_.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, {.timeout_sec = timeout_sec});
  }
  nlohmann::json status() {
    auto r = berth_cmd({"status", name_, "--json"});
    try {
      return nlohmann::json::parse(r.out);
    } catch (...) {
      return nlohmann::json::object();
    }
  }
  std::string state() { return status().value("state", ""); }
  int init_pid() {
    auto s = status();
    return s.contains("pid") && s["pid"].is_number() ? s["pid"].get<int>() : 0;
  }
  std::string logs() { return berth_cmd({"logs", name_}).out; }
  // Runs cmd inside; its stdout without the trailing newline.
  std::string in_guest(const std::string& cmd) {
    auto r = berth_cmd({"run", name_, "--", "/bin/sh", "-c", cmd}, 60);
    while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == '\r')) r.out.pop_back();
    return r.out;
  }
  // Waits for a new init (a reboot) that is up again.
  bool rebooted_from(int pid) {
    return eventually(
        [&] {
          int p = init_pid();
          return p > 0 && p != pid && state() == "up";
        },
        90s);
  }
  // Its boot has finished once the console getty runs (runit, for one,
  // acts on a halt or reboot only from its stage 2 on).
  bool booted() {
    return eventually(
        [&] { return in_guest("pidof getty agetty >/dev/null && echo yes") == "yes"; }, 120s);
  }
  // Logs in on the console through `berth login` under tmux, runs a
  // command, logs out and detaches.
  void login_on_console() {
    std::string sock = unique_id("berth-test-tmux");
    struct TmuxServer {
      std::string sock;
      ~TmuxServer() { run({"tmux", "-L", sock, "kill-server"}); }
    } server{sock};
    std::string cmd = berth() + " --root " + root_.path() + " login " + name_;
    ASSERT_EQ(run({"tmux", "-L", sock, "new-session", "-d", "-x", "160", "-y", "40", cmd}).status,
              0);
    auto screen = [&] { return run({"tmux", "-L", sock, "capture-pane", "-p", "-S", "-200"}).out; };
    auto keys = [&](std::vector<std::string> k) {
      std::vector<std::string> argv = {"tmux", "-L", sock, "send-keys"};
      argv.insert(argv.end(), k.begin(), k.end());
      run(argv);
    };
    auto wait_for = [&](const std::string& text) {
      return eventually([&] { return contains(screen(), text); }, 30s);
    };
    // The getty may still be starting: Enter until it prompts.
    ASSERT_TRUE(eventually(
        [&] {
          keys({"Enter"});
          std::this_thread::sleep_for(400ms);
          return contains(screen(), "login:");
        },
        60s))
        << screen() << logs();
    keys({"root", "Enter"});
    ASSERT_TRUE(wait_for("assword:")) << screen();
    keys({"berth", "Enter"});
    keys({"echo console-says-$((6*7))", "Enter"});
    EXPECT_TRUE(wait_for("console-says-42")) << screen();
    keys({"exit", "Enter"});
    keys({"C-]", "C-]", "C-]"});
    EXPECT_TRUE(eventually(
        [&] {
          return run({"tmux", "-L", sock, "has-session"}).status != 0;
        },
        10s))
        << screen();
  }

  void start_and_check() {
    auto r = berth_cmd({"start", name_});
    ASSERT_EQ(r.status, 0) << r.err << logs();
    auto s = status();
    EXPECT_EQ(s.value("state", ""), "up") << s.dump();
    EXPECT_EQ(s.value("init", ""), g_.init) << s.dump();
    EXPECT_EQ(s.value("ready_on", ""), "started") << s.dump();
    EXPECT_TRUE(contains(logs(), std::string("init: ") + g_.init)) << logs();
  }

  Guest g_;
  TempDir root_{"berth-test-inits"};
  std::unique_ptr<TempDir> tree_;
  std::string name_;
};

TEST_P(Inits, BootsRunsAndStopsWithItsHaltSignal) {
  start_and_check();
  EXPECT_EQ(in_guest("echo $((6*7)) $(id -u)"), "42 0");
  // Root inside is an unprivileged uid outside (private_users = "pick").
  auto s = status();
  ASSERT_TRUE(s.contains("uid_base") && s["uid_base"].is_number()) << s.dump();
  EXPECT_EQ(in_guest("cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //'"),
            "0 " + std::to_string(s["uid_base"].get<long>()) + " 65536");

  int pid = init_pid();
  auto st = berth_cmd({"stop", name_});
  EXPECT_EQ(st.status, 0) << st.err;
  EXPECT_EQ(state(), "down");
  EXPECT_FALSE(pid_alive(pid));
  auto log = logs();
  EXPECT_TRUE(contains(log, std::string("sending ") + g_.halt + " to the init")) << log;
  EXPECT_TRUE(contains(log, "powered off")) << log;
  EXPECT_FALSE(contains(log, "stop timeout")) << log;  // no SIGKILL needed
  EXPECT_FALSE(contains(log, "signal 9")) << log;
}

// A [settings] change alone changes no declaration but the spec a booted
// guest runs with (private_users of booted containers): plan and apply see
// it there and restart it, now in a user namespace. The comparison does not
// depend on the init, so one guest is enough.
TEST_P(Inits, ASettingsChangeRestartsThroughTheSpec) {
  if (std::string(g_.kind) != "busybox")
    GTEST_SKIP() << "one guest (busybox) covers it: the spec comparison is the same for every init";
  auto write = [&](bool settings) {
    std::ofstream(root_ / "etc/berth/containers.toml")
        << (settings ? "[settings]\nprivate_users = \"no\"\n" : "") << "[containers." << name_
        << "]\npath = \"" << tree_->path()
        << "\"\nboot = true\nautostart = true\ntimeout_stop = \"30s\"\n";
  };
  write(true);
  auto first = berth_cmd({"apply"});
  ASSERT_EQ(first.status, 0) << first.err << logs();
  EXPECT_TRUE(status()["uid_base"].is_null()) << status().dump();
  EXPECT_EQ(berth_cmd({"plan"}).out, "nothing to do: the host matches the declarations\n");
  int pid = init_pid();
  write(false);  // booted containers get "pick" again
  auto plan = berth_cmd({"plan"});
  ASSERT_EQ(plan.status, 0) << plan.err;
  EXPECT_TRUE(contains(plan.out, "restart " + name_ + ": its spec changed (")) << plan.out;
  EXPECT_TRUE(contains(plan.out, "linux.uidMappings")) << plan.out;
  auto ap = berth_cmd({"apply"});
  ASSERT_EQ(ap.status, 0) << ap.err << logs();
  EXPECT_EQ(ap.out, plan.out);
  EXPECT_FALSE(pid_alive(pid));
  EXPECT_EQ(state(), "up");
  EXPECT_TRUE(status()["uid_base"].is_number()) << status().dump();
  EXPECT_EQ(berth_cmd({"plan"}).out, "nothing to do: the host matches the declarations\n");
  EXPECT_EQ(berth_cmd({"stop", name_}).status, 0);
}

TEST_P(Inits, RebootAndPoweroffFromInsideAndBerthReboot) {
  declare("no");  // and without a user namespace
  start_and_check();
  int pid1 = init_pid();
  ASSERT_GT(pid1, 0);
  ASSERT_TRUE(booted()) << logs();
  in_guest(std::string(g_.reboot) + " >/dev/null 2>&1 &");
  ASSERT_TRUE(rebooted_from(pid1)) << status().dump() << logs();
  EXPECT_TRUE(contains(logs(), "reboot requested")) << logs();
  EXPECT_EQ(in_guest("echo back"), "back");

  // berth reboot: the init's reboot signal.
  int pid2 = init_pid();
  ASSERT_TRUE(booted()) << logs();
  auto rb = berth_cmd({"reboot", name_});
  EXPECT_EQ(rb.status, 0) << rb.err;
  ASSERT_TRUE(rebooted_from(pid2)) << status().dump() << logs();

  int pid3 = init_pid();
  ASSERT_TRUE(booted()) << logs();
  in_guest(std::string(g_.poweroff) + " >/dev/null 2>&1 &");
  ASSERT_TRUE(eventually([&] { return state() == "down"; }, 60s)) << logs();
  EXPECT_FALSE(pid_alive(pid3));
  EXPECT_TRUE(contains(logs(), "powered off")) << logs();
  // It stays down (a poweroff is not a failure to restart from).
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(state(), "down");
}

// `berth login`: the console getty, driven through tmux as a person at the
// terminal: root with the fixture's password, a command, its output. Under
// the default user namespace the engine leaves the console without a
// controlling process so that the getty can take it; without one
// (private_users = "no") the console is the init's controlling terminal and
// a getty (other than under systemd, which lets it go) takes it with the
// host's CAP_SYS_ADMIN. Both ways are logged into.
TEST_P(Inits, ConsoleLogin) {
  if (run({"tmux", "-V"}).status != 0) GTEST_SKIP() << "tmux is not installed";
  for (std::string users : {"pick", "no"}) {
    SCOPED_TRACE("private_users = " + users);
    declare(users);
    start_and_check();
    login_on_console();
    if (HasFatalFailure()) return;
    EXPECT_EQ(state(), "up");
    ASSERT_EQ(berth_cmd({"stop", name_}).status, 0) << logs();
  }
}

INSTANTIATE_TEST_SUITE_P(Guests, Inits, ::testing::ValuesIn(kGuests),
                         [](const ::testing::TestParamInfo<Guest>& i) {
                           return std::string(i.param.kind);
                         });

}  // namespace
}  // namespace berth::test
