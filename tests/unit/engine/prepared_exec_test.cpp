// engine::PreparedExec (sealed_exe.h): what `berth start` uses to exec the
// monitor from a child forked by one of apply's threads. The child must not
// allocate: a fork copies only the calling thread, and a lock another thread
// held in the allocator stays locked in the child. glibc resets its own;
// clang 14's ASan allocator is never reset, so in the sanitizer tree an
// allocating child hangs (a CI run did, in a parallel apply).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "engine/sealed_exe.h"

namespace berth::engine {
namespace {

// Forks, execs p in the child with its stdout on a pipe; the child's output
// and wait status, or status -1 if it had not ended after 5 s (then killed).
std::pair<std::string, int> run_prepared(PreparedExec& p) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) < 0) return {"", -2};
  pid_t c = ::fork();
  if (c == 0) {
    ::dup2(out[1], 1);  // dup2 clears close-on-exec
    exec_prepared(p);
    _exit(127);
  }
  ::close(out[1]);
  // Its output until EOF (it has exited), 5 s at most.
  std::string text;
  bool ended = false;
  for (;;) {
    struct pollfd pfd = {out[0], POLLIN, 0};
    if (::poll(&pfd, 1, 5000) <= 0) break;
    char buf[4096];
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) {
      ended = n == 0;
      break;
    }
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  if (!ended) ::kill(c, SIGKILL);
  int ws = 0;
  ::waitpid(c, &ws, 0);
  return {text, ended ? ws : -1};
}

ProtectedExe open_program(const char* path) {
  ProtectedExe exe;
  exe.exe = UniqueFd(::open(path, O_RDONLY | O_CLOEXEC));
  return exe;
}

TEST(PreparedExec, PassesItsEnvironmentWithTheMarkerInsteadOfAnOldOne) {
  auto exe = open_program("/usr/bin/env");
  ASSERT_TRUE(exe.exe) << "no /usr/bin/env";
  char a0[] = "env";
  char* argv[] = {a0, nullptr};
  char e0[] = "A=1", e1[] = "_BERTH_SEALED_EXE=/old", e2[] = "B=two";
  char* envp[] = {e0, e1, e2, nullptr};
  auto p = prepare_exec(exe, argv, envp);
  auto [text, ws] = run_prepared(p);
  ASSERT_TRUE(ws != -1 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0) << ws;
  EXPECT_NE(text.find("A=1\nB=two\n_BERTH_SEALED_EXE="), std::string::npos) << text;
  EXPECT_EQ(text.find("/old"), std::string::npos) << text;
  EXPECT_EQ(text.find("_BERTH_SEALED_MNT"), std::string::npos) << text;  // no mount fd
}

TEST(PreparedExec, AChildForkedBesideAllocatingThreadsExecs) {
  auto exe = open_program("/bin/true");
  ASSERT_TRUE(exe.exe) << "no /bin/true";
  std::atomic<bool> stop{false};
  std::vector<std::thread> churn;
  for (int t = 0; t < 2; ++t)
    churn.emplace_back([&] {
      while (!stop) {
        std::vector<std::string> v;
        for (int i = 0; i < 64; ++i) v.emplace_back(static_cast<size_t>(16 + i * 37), 'x');
      }
    });
  char a0[] = "true";
  char* argv[] = {a0, nullptr};
  char* envp[] = {nullptr};
  int hung = 0, failed = 0;
  for (int i = 0; i < 100 && hung == 0; ++i) {
    auto p = prepare_exec(exe, argv, envp);
    auto [text, ws] = run_prepared(p);
    if (ws == -1)
      ++hung;
    else if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
      ++failed;
  }
  stop = true;
  for (auto& t : churn) t.join();
  EXPECT_EQ(hung, 0);
  EXPECT_EQ(failed, 0);
}

}  // namespace
}  // namespace berth::engine
