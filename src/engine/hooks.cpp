#include "engine/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/files.h"
#include "base/log.h"
#include "base/unique_fd.h"

namespace berth::engine {
namespace {

Result<void> run_hook(const oci::Hook& h, const std::string& state, const char* phase,
                      size_t index) {
  int in[2], err[2];
  if (::pipe2(in, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd in_r(in[0]), in_w(in[1]), err_r(err[0]), err_w(err[1]);
  std::vector<char*> argv, envp;
  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : h.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork hook");
  if (pid == 0) {
    ::dup2(in_r.get(), 0);
    ::dup2(err_w.get(), 2);
    int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, 1);
    ::setpgid(0, 0);
    ::execve(h.path.c_str(), argv.data(), envp.data());
    dprintf(2, "exec %s: %m", h.path.c_str());
    _exit(127);
  }
  in_r.reset();
  err_w.reset();
  // The hook may not read its stdin; don't die of SIGPIPE for that.
  ::signal(SIGPIPE, SIG_IGN);
  (void)write_all(in_w.get(), state);
  in_w.reset();
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  std::string errout;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  bool timed_out = false;
  for (;;) {
    struct pollfd fds[2] = {{pidfd.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
    int wait_ms = -1;
    if (h.timeout) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
      wait_ms = static_cast<int>(std::max(0L, *h.timeout * 1000L - elapsed));
      if (wait_ms == 0) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        timed_out = true;
        break;
      }
    }
    int n = ::poll(fds, err_r ? 2 : 1, wait_ms);
    if (n < 0 && errno != EINTR) break;
    if (n > 0 && (fds[1].revents & (POLLIN | POLLHUP))) {
      char buf[1024];
      ssize_t r = ::read(err_r.get(), buf, sizeof buf);
      if (r <= 0)
        err_r.reset();
      else if (errout.size() < 4096)
        errout.append(buf, static_cast<size_t>(r));
    }
    if (n > 0 && (fds[0].revents & POLLIN)) break;
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  while (!errout.empty() && (errout.back() == '\n' || errout.back() == ' ')) errout.pop_back();
  std::string what = fmt::format("{} hook #{} ({})", phase, index, h.path);
  if (timed_out) return make_error("{} timed out after {} s", what, *h.timeout);
  if (WIFSIGNALED(st)) return make_error("{} killed by signal {}", what, WTERMSIG(st));
  if (WEXITSTATUS(st) != 0)
    return make_error("{} exited with status {}{}{}", what, WEXITSTATUS(st),
                      errout.empty() ? "" : ": ", errout);
  return ok();
}

}  // namespace

Result<void> run_hooks(const std::vector<oci::Hook>& hooks, const std::string& state_json,
                       const char* phase) {
  for (size_t i = 0; i < hooks.size(); i++) TRY(run_hook(hooks[i], state_json, phase, i));
  return ok();
}

void run_hooks_warn(const std::vector<oci::Hook>& hooks, const std::string& state_json,
                    const char* phase) {
  for (size_t i = 0; i < hooks.size(); i++)
    if (auto r = run_hook(hooks[i], state_json, phase, i); !r) log::warn("{}", r.error().message);
}

}  // namespace berth::engine
