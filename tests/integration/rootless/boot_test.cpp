// boot = true in a rootless berth (#14): a busybox system tree (busybox init
// and an inittab) boots, runs commands, halts cleanly by its halt signal;
// a tree whose init is systemd is refused at start in one line (it needs a
// cgroup tree of its own).
#include "integration/rootless/fixture.h"

namespace berth::test::rootless {
namespace {

TEST_F(RootlessBerth, ABusyboxSystemBootsAndHaltsAndSystemdIsRefused) {
  ASSERT_EQ(as_user({"list"}).status, 0);
  // The user's busybox tree: /sbin/init is busybox's.
  std::string inittab = tree_ + "/etc/inittab";
  std::ofstream(inittab) << "::respawn:/bin/sleep 1000\n::shutdown:/bin/echo halted-cleanly\n";
  ASSERT_EQ(::chown(inittab.c_str(), user_.uid, user_.gid), 0);
  declare("[containers.bb]\npath = \"" + tree_ + "\"\nboot = true\ntimeout_stop = \"5s\"\n");
  auto s = as_user({"start", "bb"});
  ASSERT_EQ(s.status, 0) << s.err;
  auto st = as_user({"status", "bb"});
  EXPECT_NE(st.out.find("  init: busybox (ready once started)\n"), std::string::npos) << st.out;
  int pid = status_json("bb")["pid"];
  std::string u = std::to_string(user_.uid);
  EXPECT_NE(slurp("/proc/" + std::to_string(pid) + "/status").find("\nUid:\t" + u + "\t"),
            std::string::npos);
  // Its PID 1 is busybox init, and what it started runs beside `run`.
  auto ps = as_user({"run", "bb", "--", "sh", "-c", "readlink /proc/1/exe; pidof sleep; id -u"});
  EXPECT_EQ(ps.status, 0) << ps.err;
  std::istringstream lines(ps.out);
  std::string exe, sleeper, id;
  std::getline(lines, exe), std::getline(lines, sleeper), std::getline(lines, id);
  EXPECT_EQ(exe, "/bin/busybox") << ps.out;
  EXPECT_FALSE(sleeper.empty()) << ps.out;
  EXPECT_EQ(id, "0") << ps.out;

  // stop: the halt signal (SIGUSR1 for busybox init), its shutdown actions,
  // powered off without a kill.
  auto stop = as_user({"stop", "bb"});
  EXPECT_EQ(stop.status, 0) << stop.err;
  EXPECT_FALSE(pid_alive(pid));
  EXPECT_EQ(said("bb", {"halted-cleanly"}), std::vector<std::string>{"halted-cleanly"});
  auto logs = as_user({"logs", "bb"});
  EXPECT_NE(logs.out.find("sending SIGUSR1 to the init (busybox)"), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("powered off"), std::string::npos) << logs.out;
  EXPECT_EQ(logs.out.find("stop timeout"), std::string::npos) << logs.out;

  // The same tree with systemd as its init: one line at start, nothing runs.
  ASSERT_EQ(run({"cp", tree_ + "/bin/busybox", tree_ + "/sbin/systemd"}).status, 0);
  ASSERT_EQ(::unlink((tree_ + "/sbin/init").c_str()), 0);
  ASSERT_EQ(::symlink("/sbin/systemd", (tree_ + "/sbin/init").c_str()), 0);
  auto sd = as_user({"start", "bb"});
  EXPECT_EQ(sd.status, 1);
  EXPECT_EQ(sd.err,
            "berth: start bb: systemd does not boot rootless yet: it needs a cgroup tree of its "
            "own, which an unprivileged berth has no delegated cgroup for (an init that needs "
            "none, as busybox init, boots)\n");
  EXPECT_EQ(status_json("bb")["state"], "down");
}

}  // namespace
}  // namespace berth::test::rootless
