// root-login and shell in a rootless berth's container, under a pty as a
// person at a terminal runs them (#14): root inside, the init's namespaces,
// the terminal's size, the exit status back.
#include "integration/rootless/fixture.h"
#include "support/pty_session.h"

namespace berth::test::rootless {
namespace {

std::string ns_of(int pid, const char* ns) {
  return slurp_link("/proc/" + std::to_string(pid) + "/ns/" + ns);
}

TEST_F(RootlessBerth, RootLoginAndShellUnderATerminal) {
  ASSERT_EQ(as_user({"list"}).status, 0);
  declare("[containers.rl]\npath = \"" + tree_ + "\"\ncommand = [\"/bin/sleep\", \"1000\"]\n");
  auto s = as_user({"start", "rl"});
  ASSERT_EQ(s.status, 0) << s.err;
  int init = status_json("rl")["pid"];

  PtySession login(user_argv({"root-login", "rl"}));
  ASSERT_TRUE(login.started());
  login.send("echo uid=$(id -u) size=$(stty size) tty=$(tty)\r");
  ASSERT_TRUE(login.expect("uid=0 size=40 100 tty=/dev/pts/")) << login.transcript();
  login.resize(30, 90);
  login.send("echo size=$(stty size)\r");
  EXPECT_TRUE(login.expect("size=30 90")) << login.transcript();
  // The shell is the child of the user's berth (setpriv and env exec it),
  // in every namespace of the init, its user namespace too.
  auto children = slurp("/proc/" + std::to_string(login.pid()) + "/task/" +
                        std::to_string(login.pid()) + "/children");
  int shell = std::atoi(children.c_str());
  ASSERT_GT(shell, 0) << children;
  for (const char* ns : {"user", "pid", "mnt", "uts", "ipc", "cgroup"})
    EXPECT_EQ(ns_of(shell, ns), ns_of(init, ns)) << ns;
  EXPECT_NE(slurp("/proc/" + std::to_string(shell) + "/status")
                .find("\nUid:\t" + std::to_string(user_.uid) + "\t"),
            std::string::npos)
      << "root inside is the user on the host";
  login.send("exit 5\r");
  auto st = login.wait();
  ASSERT_TRUE(st.has_value()) << login.transcript();
  EXPECT_EQ(*st, 5) << login.transcript();

  PtySession sh(user_argv({"shell", "rl"}));
  ASSERT_TRUE(sh.started());
  sh.send("echo uid=$(id -u) home=$HOME\r");
  ASSERT_TRUE(sh.expect("uid=0 home=/root")) << sh.transcript();
  sh.send("exit 4\r");
  st = sh.wait();
  ASSERT_TRUE(st.has_value()) << sh.transcript();
  EXPECT_EQ(*st, 4) << sh.transcript();

  EXPECT_EQ(status_json("rl")["state"], "up");
  auto stop = as_user({"stop", "rl"});
  EXPECT_EQ(stop.status, 0) << stop.err;
}

}  // namespace
}  // namespace berth::test::rootless
