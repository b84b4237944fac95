// Consoles and interactive sessions end to end: a busybox system (init,
// getty, login, a user with a password) booted by berth, driven through a
// pty as a person at a terminal would: login on the console and detach with
// ^]^]^], root-login and shell in every namespace of the container, and
// show-host-key.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/manager/manager_fixture.h"
#include "support/notify_ready.h"
#include "support/pty_session.h"
#include "support/testenv.h"

namespace berth::test {
namespace {

using namespace std::chrono_literals;

std::string link_of(const std::string& path) {
  char buf[256];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("?") + path;
}

// Sends READY=1 to $NOTIFY_SOCKET: busybox has no sd_notify, and a boot
// container is ready only when its init says so.

class Console : public ManagerTest {
 protected:
  Console() : ManagerTest("berth-test-con") {}

  void expect_nothing_mounted() override {
    ManagerTest::expect_nothing_mounted();
    EXPECT_TRUE(host_mounts_matching(tree_.path()).empty());
  }

  // A busybox system to log in to: init running getty on the console, root
  // and alice (password "secret") in /etc/passwd and /etc/shadow.
  // Returns false (with the reason in skip_) when the host cannot build it.
  bool make_login_tree() {
    const std::string t = tree_.path();
    if (sh("cp -a " + test_rootfs() + "/. " + t + "/").status != 0) return false;
    skip_ = build_notify_ready(t + "/bin/notify-ready");
    if (!skip_.empty()) return false;
    std::ofstream(tree_ / "etc/inittab") << "::sysinit:/bin/notify-ready\n"
                                            "::respawn:/sbin/getty -L 0 /dev/console vt100\n";
    auto hash = run({t + "/bin/busybox", "mkpasswd", "-m", "sha512", "secret"});
    if (hash.status != 0 || hash.out.size() < 20) return false;
    while (!hash.out.empty() && hash.out.back() == '\n') hash.out.pop_back();
    std::ofstream(tree_ / "etc/passwd", std::ios::app)
        << "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n";
    std::ofstream(tree_ / "etc/group", std::ios::app) << "alice:x:1000:\nwheel:x:10:alice\n";
    std::ofstream(tree_ / "etc/shadow")
        << "root:*:19000:0:99999:7:::\nalice:" << hash.out << ":19000:0:99999:7:::\n";
    ::chmod((tree_ / "etc/shadow").c_str(), 0600);
    ::mkdir((tree_ / "home/alice").c_str(), 0750);
    return ::chown((tree_ / "home/alice").c_str(), 1000, 1000) == 0;
  }
  std::string boot_decl(const std::string& n) {
    return "[containers." + n + "]\npath = \"" + tree_.path() +
           "\"\nboot = true\ntimeout_start = \"20s\"\ntimeout_stop = \"1s\"\n";
  }
  // Builds the tree, declares a boot container and starts it.
  std::string start_booted(const std::string& base) {
    if (!make_login_tree()) return "";
    auto n = name(base);
    declare(boot_decl(n));
    auto r = berth({"start", n});
    EXPECT_EQ(r.status, 0) << r.err << berth({"logs", n}).out;
    return r.status == 0 ? n : "";
  }

  TempDir tree_{"berth-test-contree"};
  std::string skip_;
};

#define START_BOOTED(var, base)                             \
  auto var = start_booted(base);                            \
  if (var.empty() && !skip_.empty()) GTEST_SKIP() << skip_; \
  ASSERT_FALSE(var.empty())

TEST_F(Console, LoginOnTheConsoleAndDetach) {
  START_BOOTED(n, "cl");
  int pid = status(n)["pid"].get<int>();
  {
    PtySession s(berth_argv({"login", n}));
    ASSERT_TRUE(s.started());
    ASSERT_TRUE(s.expect("Connected to the console of " + n)) << s.transcript();
    ASSERT_TRUE(s.expect(n + " login: ")) << s.transcript() << berth({"logs", n}).out;

    // One client at a time: a second one is turned away, clearly.
    auto second = berth({"login", n});
    EXPECT_EQ(second.status, 1);
    EXPECT_NE(second.err.find("already attached"), std::string::npos) << second.err;

    s.send("alice\r");
    ASSERT_TRUE(s.expect("Password: ")) << s.transcript();
    s.send("secret\r");
    std::this_thread::sleep_for(1s);
    s.send("echo hi-$((6*7)); id -un\r");
    ASSERT_TRUE(s.expect("hi-42\r\nalice\r\n")) << s.transcript();
    // The caller's window size reaches the console, and follows a resize.
    s.send("echo size=$(stty size)\r");
    EXPECT_TRUE(s.expect("size=40 100")) << s.transcript();
    s.resize(50, 120);
    s.send("echo size=$(stty size)\r");
    EXPECT_TRUE(s.expect("size=50 120")) << s.transcript();
    s.send("\x1d\x1d\x1d");
    auto st = s.wait(5s);
    ASSERT_TRUE(st.has_value()) << "login did not detach: " << s.transcript();
    EXPECT_EQ(*st, 0) << s.transcript();
    EXPECT_NE(s.transcript().find("Detached"), std::string::npos) << s.transcript();
  }
  // Detaching leaves the container (and the logged-in console) running.
  auto after = status(n);
  EXPECT_EQ(after["state"], "up");
  EXPECT_EQ(after["pid"].get<int>(), pid);
  EXPECT_TRUE(pid_alive(pid));

  // Without a terminal (a script): what it types reaches the console, the
  // answer comes back, and it ends once its input has ended.
  auto scripted = berth({"login", n}, {.stdin_data = "echo again-$((6*7))\n", .timeout_sec = 20});
  EXPECT_EQ(scripted.status, 0) << scripted.err;
  EXPECT_NE(scripted.out.find("again-42"), std::string::npos) << scripted.out;
  EXPECT_EQ(status(n)["state"], "up");

  // The console's output is in the log too, as plain lines.
  auto lg = berth({"logs", n}).out;
  EXPECT_NE(lg.find(n + " login: "), std::string::npos) << lg;
  EXPECT_NE(lg.find("hi-42\nalice\n"), std::string::npos) << lg;
}

TEST_F(Console, RootLoginIsInEveryNamespaceAndTheCgroup) {
  START_BOOTED(n, "cr");
  int init = status(n)["pid"].get<int>();
  PtySession s(berth_argv({"root-login", n}));
  ASSERT_TRUE(s.started());
  s.send("echo uid=$(id -u) home=$HOME term=$TERM size=$(stty size) tty=$(tty)\r");
  ASSERT_TRUE(s.expect("uid=0 home=/root term=vt100 size=40 100 tty=/dev/pts/")) << s.transcript();
  s.resize(30, 90);
  s.send("echo size=$(stty size)\r");
  EXPECT_TRUE(s.expect("size=30 90")) << s.transcript();

  // The shell is the child of `berth root-login`; compare it with the init
  // from the host's side.
  auto children =
      slurp("/proc/" + std::to_string(s.pid()) + "/task/" + std::to_string(s.pid()) + "/children");
  int shell = std::atoi(children.c_str());
  ASSERT_GT(shell, 0) << children;
  for (const char* ns : {"pid", "mnt", "net", "uts", "ipc", "cgroup"})
    EXPECT_EQ(link_of("/proc/" + std::to_string(shell) + "/ns/" + ns),
              link_of("/proc/" + std::to_string(init) + "/ns/" + ns))
        << ns;
  EXPECT_EQ(slurp("/proc/" + std::to_string(shell) + "/cgroup"),
            slurp("/proc/" + std::to_string(init) + "/cgroup"));
  // A session of its own: the shell leads it and the pty is its controlling tty.
  std::string stat = slurp("/proc/" + std::to_string(shell) + "/stat");
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string state;
  long ppid, pgrp, session, tty_nr;
  fields >> state >> ppid >> pgrp >> session >> tty_nr;
  EXPECT_NE(tty_nr, 0);
  s.send("exit 5\r");
  auto st = s.wait(10s);
  ASSERT_TRUE(st.has_value()) << s.transcript();
  EXPECT_EQ(*st, 5) << s.transcript();

  // From a script (no terminal): the exit status comes back as well.
  auto piped = berth({"root-login", n}, {.stdin_data = "exit 7\n", .timeout_sec = 20});
  EXPECT_EQ(piped.status, 7) << piped.out << piped.err;
  EXPECT_EQ(status(n)["state"], "up");
}

TEST_F(Console, ShellAsAUserOfTheContainer) {
  START_BOOTED(n, "cs");
  PtySession s(berth_argv({"shell", n, "alice"}));
  ASSERT_TRUE(s.started());
  s.send(
      "echo user=$(id -un) uid=$(id -u) groups=\"$(id -Gn)\" home=$HOME pwd=$(pwd) shell=$SHELL\r");
  ASSERT_TRUE(s.expect(
      "user=alice uid=1000 groups=alice wheel home=/home/alice pwd=/home/alice shell=/bin/sh"))
      << s.transcript();
  // No capabilities, as after a login.
  s.send("grep CapEff /proc/self/status\r");
  ASSERT_TRUE(s.expect("CapEff:\t0000000000000000")) << s.transcript();
  s.send("exit\r");
  auto st = s.wait(10s);
  ASSERT_TRUE(st.has_value()) << s.transcript();
  EXPECT_EQ(*st, 0);

  auto nobody = berth({"shell", n, "bob"});
  EXPECT_EQ(nobody.status, 125);
  EXPECT_NE(nobody.err.find("no user \"bob\" in the container's /etc/passwd"), std::string::npos)
      << nobody.err;
}

TEST_F(Console, NotRunningAndNoConsole) {
  ASSERT_TRUE(make_login_tree() || !skip_.empty());
  auto n = name("cn");
  auto c = name("cc");
  declare(boot_decl(n) + "[containers." + c + "]\npath = \"" + test_rootfs() +
          "\"\ncommand = [\"/bin/sh\", \"-c\", \"exec sleep 1000\"]\ntimeout_stop = \"1s\"\n");
  for (auto verb : {"login", "root-login", "shell"}) {
    auto r = berth({verb, n});
    EXPECT_NE(r.status, 0) << verb;
    EXPECT_NE(r.err.find("container \"" + n + "\" is not running"), std::string::npos)
        << verb << ": " << r.err;
    auto u = berth({verb, "nosuch"});
    EXPECT_NE(u.status, 0) << verb;
    EXPECT_NE(u.err.find("no container \"nosuch\" is declared"), std::string::npos)
        << verb << ": " << u.err;
  }
  // A command container keeps its pipes: no console to log in to.
  ASSERT_EQ(berth({"start", c}).status, 0);
  EXPECT_FALSE(exists(root_ / ("run/berth/" + c + "/console.sock")));
  auto l = berth({"login", c});
  EXPECT_EQ(l.status, 1);
  EXPECT_NE(l.err.find("has no console"), std::string::npos) << l.err;
  // ... but a root shell all the same.
  auto r =
      berth({"root-login", c}, {.stdin_data = "echo in-$(hostname)\nexit 3\n", .timeout_sec = 20});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.out.find("in-" + c), std::string::npos) << r.out;
}

TEST_F(Console, ShowHostKey) {
  ::mkdir((tree_ / "etc").c_str(), 0755);
  ::mkdir((tree_ / "etc/ssh").c_str(), 0755);
  ASSERT_EQ(sh("cp -a " + test_rootfs() + "/. " + tree_.path() + "/").status, 0);
  auto n = name("ck");
  declare("[containers." + n + "]\npath = \"" + tree_.path() +
          "\"\ncommand = [\"/bin/sh\", \"-c\", \"exec sleep 1000\"]\ntimeout_stop = \"1s\"\n");
  auto none = berth({"show-host-key", n});
  EXPECT_EQ(none.status, 1);
  EXPECT_NE(none.err.find("has no SSH host key"), std::string::npos) << none.err;
  auto unknown = berth({"show-host-key", "nosuch"});
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.err.find("no container \"nosuch\" is declared"), std::string::npos)
      << unknown.err;

  ::mkdir((tree_ / "etc/ssh").c_str(), 0755);
  const std::string ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= root@" + n + "\n";
  const std::string ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtest root@" + n + "\n";
  std::ofstream(tree_ / "etc/ssh/ssh_host_ecdsa_key.pub") << ecdsa;
  auto r1 = berth({"show-host-key", n});
  EXPECT_EQ(r1.status, 0) << r1.err;
  EXPECT_EQ(r1.out, ecdsa);
  // ed25519 first; an absolute symlink resolves inside the container's root.
  std::ofstream(tree_ / "etc/ssh/real_ed25519.pub") << ed;
  ASSERT_EQ(
      ::symlink("/etc/ssh/real_ed25519.pub", (tree_ / "etc/ssh/ssh_host_ed25519_key.pub").c_str()),
      0);
  auto r2 = berth({"show-host-key", n});
  EXPECT_EQ(r2.status, 0) << r2.err;
  EXPECT_EQ(r2.out, ed);

  // While it runs, the key is read as the container sees it.
  ASSERT_EQ(berth({"start", n}).status, 0);
  auto r3 = berth({"show-host-key", n});
  EXPECT_EQ(r3.status, 0) << r3.err;
  EXPECT_EQ(r3.out, ed);
}

}  // namespace
}  // namespace berth::test
