// berth-init, the stub PID 1 of command containers: a command that has no
// SIGTERM handler as PID 1 (`sleep`) stops at once, its exit status is the
// container's, orphans are reaped, signals reach the command; and
// `stub_init = false` runs the command itself as PID 1.
#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/manager/manager_fixture.h"
#include "support/testenv.h"

namespace berth::test {
namespace {

using namespace std::chrono_literals;

class StubInit : public ManagerTest {
 protected:
  StubInit() : ManagerTest("berth-test-stub") {}

  // A container of the busybox rootfs running argv (not through a shell).
  std::string argv_decl(const std::string& n, const std::vector<std::string>& argv,
                        const std::string& extra = "") {
    return "[containers." + n + "]\npath = \"" + test_rootfs() +
           "\"\ncommand = " + nlohmann::json(argv).dump() + "\n" + extra + "\n";
  }
  std::string cmdline_of_pid1(const std::string& n) {
    auto r = berth({"run", n, "--", "cat", "/proc/1/cmdline"});
    EXPECT_EQ(r.status, 0) << r.err;
    return r.out;
  }
  std::string log(const std::string& n) { return berth({"logs", n}).out; }
  // The processes of the container in state Z (zombies), as "PID (COMM)".
  std::string zombies(const std::string& n) {
    auto r = berth({"run", n, "--", "sh", "-c", "cat /proc/[0-9]*/stat 2>/dev/null"});
    std::string out;
    size_t pos = 0;
    while (pos < r.out.size()) {
      size_t end = r.out.find('\n', pos);
      if (end == std::string::npos) end = r.out.size();
      std::string line = r.out.substr(pos, end - pos);
      pos = end + 1;
      auto rp = line.rfind(") ");
      if (rp != std::string::npos && rp + 2 < line.size() && line[rp + 2] == 'Z')
        out += line.substr(0, rp + 1) + "\n";
    }
    return out;
  }
};

TEST_F(StubInit, StopOfSleepIsPromptAndClean) {
  auto n = name("sis");
  declare(argv_decl(n, {"/bin/sleep", "100000"}));  // timeout_stop: the default 10 s
  auto r = berth({"start", n});
  ASSERT_EQ(r.status, 0) << r.err;
  int pid = status(n)["pid"].get<int>();
  auto t0 = std::chrono::steady_clock::now();
  auto s = berth({"stop", n});
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(s.status, 0) << s.err;
  // A generous bound against a hang: without the stub this takes the whole
  // timeout_stop (the figure is in bench/stop.sh).
  EXPECT_LT(took, 5s);
  EXPECT_FALSE(pid_alive(pid));
  EXPECT_EQ(status(n)["state"], "down");
  auto lg = log(n);
  EXPECT_EQ(lg.find("stop timeout"), std::string::npos) << lg;
  EXPECT_NE(lg.find("exited with status 143"), std::string::npos) << lg;  // 128 + SIGTERM
}

TEST_F(StubInit, StubIsPid1AndRunsTheCommand) {
  auto n = name("sip");
  declare(argv_decl(n, {"/bin/sleep", "100000"}));
  ASSERT_EQ(berth({"start", n}).status, 0);
  EXPECT_EQ(cmdline_of_pid1(n), std::string("berth-init\0-e\0/bin/sleep\0--\0/bin/sleep\0"
                                            "100000\0",
                                            46));
  auto ps = berth({"run", n, "--", "ps", "-o", "pid,args"});
  ASSERT_EQ(ps.status, 0) << ps.err;
  EXPECT_NE(ps.out.find("1 berth-init -e /bin/sleep -- /bin/sleep 100000"), std::string::npos)
      << ps.out;
  // The command is the stub's child, and the stub's executable is not a
  // file of the container's tree (it was exec'd from the host).
  auto cmd = berth({"run", n, "--", "sh", "-c",
                    "cat /proc/$(cat /proc/1/task/1/children | cut -d' ' -f1)/cmdline"});
  EXPECT_EQ(cmd.out, std::string("/bin/sleep\0"
                                 "100000\0",
                                 18));
  // CVE-2019-5736: the stub's binary, as the container sees it through
  // /proc/1/exe, is on a read-only mount (the detached overlay), not the
  // build tree's writable file.
  struct statvfs vfs;
  std::string exe = "/proc/" + std::to_string(status(n)["pid"].get<int>()) + "/exe";
  ASSERT_EQ(::statvfs(exe.c_str(), &vfs), 0) << strerror(errno);
  EXPECT_TRUE(vfs.f_flag & ST_RDONLY) << "the stub runs from a writable file";
}

TEST_F(StubInit, StubInitFalseRunsTheCommandAsPid1) {
  auto n = name("sif");
  declare(argv_decl(n, {"/bin/sleep", "100000"}, "stub_init = false\ntimeout_stop = \"1s\""));
  ASSERT_EQ(berth({"start", n}).status, 0);
  EXPECT_EQ(cmdline_of_pid1(n), std::string("/bin/sleep\0"
                                            "100000\0",
                                            18));
  // sleep as PID 1 ignores SIGTERM: the stop ends in SIGKILL after timeout_stop.
  EXPECT_EQ(berth({"stop", n}).status, 0);
  auto lg = log(n);
  EXPECT_NE(lg.find("stop timeout"), std::string::npos) << lg;
}

TEST_F(StubInit, OrphansAreReaped) {
  auto n = name("sio"), m = name("sio0");
  // Two grandchildren whose parent is gone at once: they are reparented to
  // PID 1 and end after 0.1 s.
  const char* cmd = "(sleep 0.1 &); (sleep 0.1 &); exec sleep 100000";
  declare(busybox_decl(n, cmd) + busybox_decl(m, cmd, "stub_init = false"));
  ASSERT_EQ(berth({"start", n}).status, 0);
  ASSERT_EQ(berth({"start", m}).status, 0);
  // Without the stub, `sleep` as PID 1 reaps nobody: the check sees zombies.
  EXPECT_TRUE(eventually([&] { return !zombies(m).empty(); }));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(zombies(n), "");
}

TEST_F(StubInit, SignalsReachTheCommand) {
  auto n = name("sig");
  declare(busybox_decl(
      n,
      "trap 'echo got-usr1' USR1; trap 'echo got-hup' HUP; trap 'echo got-winch' WINCH; "
      "trap 'echo got-int; exit 0' INT; echo armed; while :; do sleep 0.1; done"));
  ASSERT_EQ(berth({"start", n}).status, 0);
  ASSERT_TRUE(eventually([&] { return log(n).find("armed") != std::string::npos; }));
  int pid = status(n)["pid"].get<int>();
  for (auto [sig, word] :
       {std::pair{SIGUSR1, "got-usr1"}, {SIGHUP, "got-hup"}, {SIGWINCH, "got-winch"}}) {
    ASSERT_EQ(::kill(pid, sig), 0);
    EXPECT_TRUE(eventually([&, w = word] { return log(n).find(w) != std::string::npos; })) << word;
  }
  EXPECT_EQ(status(n)["state"], "up");
  // SIGINT ends it with 0: powered off, not restarted.
  ASSERT_EQ(::kill(pid, SIGINT), 0);
  ASSERT_TRUE(eventually([&] { return status(n)["state"] == "down"; }));
  auto lg = log(n);
  EXPECT_NE(lg.find("got-int"), std::string::npos) << lg;
  EXPECT_NE(lg.find("powered off"), std::string::npos) << lg;
}

TEST_F(StubInit, ExitStatusIsTheCommands) {
  auto a = name("sie"), b = name("sir"), c = name("sik");
  declare(busybox_decl(a, "exit 3", "restart = \"no\"") +
          // Ready (exec'd), then a failure: restarted as before.
          busybox_decl(b, "sleep 0.3; exit 3") +
          // Killed by a signal: 128 + the signal.
          busybox_decl(c, "sleep 0.3; kill -USR1 $$", "restart = \"no\""));
  // Failed at once: a failed start, or (when the exec was seen first) a
  // start and a run that ended with 3 (see Manager.OneShotCommandThatEndsAtOnceStarts).
  auto ra = berth({"start", a});
  if (ra.status != 0) {
    EXPECT_NE(ra.err.find("exited with status 3"), std::string::npos) << ra.err;
  } else {
    ASSERT_TRUE(eventually([&] { return status(a)["state"] == "down"; }));
    EXPECT_EQ(status(a)["last_exit"], "exited with status 3") << log(a);
  }
  ASSERT_EQ(berth({"start", b}).status, 0) << log(b);
  EXPECT_TRUE(eventually([&] { return status(b)["restarts"].get<int>() >= 1; })) << log(b);
  ASSERT_EQ(berth({"start", c}).status, 0);
  ASSERT_TRUE(eventually([&] { return status(c)["state"] == "down"; }));
  EXPECT_NE(log(c).find("exited with status 138"), std::string::npos) << log(c);
}

TEST_F(StubInit, MissingCommandFailsTheStart) {
  auto n = name("sim");
  declare(argv_decl(n, {"/nonexistent", "x"}, "restart = \"no\""));
  auto r = berth({"start", n});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("\"/nonexistent\""), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  auto m = name("simp");
  declare(argv_decl(m, {"nosuchprogram"}, "restart = \"no\""));
  auto p = berth({"start", m});
  EXPECT_NE(p.status, 0);
  EXPECT_NE(p.err.find("nosuchprogram"), std::string::npos) << p.err;
}

TEST_F(StubInit, BootWithStubInitIsRejected) {
  auto n = name("sib");
  declare("[containers." + n + "]\npath = \"" + test_rootfs() +
          "\"\nboot = true\nstub_init = true\n");
  auto r = berth({"check"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("stub_init"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace berth::test
