#include "engine/workload.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>

#include "base/files.h"
#include "engine/process.h"

namespace berth::engine {
namespace {

Result<void> verify_cwd(Sys& sys) {
  char buf[PATH_MAX];
  if (!sys.getcwd(buf, sizeof buf)) return errno_error("getcwd");
  if (buf[0] != '/')
    return make_error("current working directory is outside of the container: {}", buf);
  return ok();
}

// Loads the filter while CAP_SYS_ADMIN is still permitted (an early filter
// without no_new_privs, after a change to a non-root uid cleared the
// effective set).
Result<void> load_filter_early(Sys& sys, const seccomp::Program& prog, UniqueFd* listener) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  const unsigned word = CAP_SYS_ADMIN / 32, bit = 1u << (CAP_SYS_ADMIN % 32);
  if (sys.capget(&hdr, data) == 0 && (data[word].permitted & bit)) {
    data[word].effective |= bit;
    (void)sys.capset(&hdr, data);
  }
  int r = sys.seccomp_install(prog);
  if (r < 0) return code_error(-r, "load seccomp filter");
  if (r > 0) listener->reset(r);
  return ok();
}

}  // namespace

bool filter_early(const oci::Process& p, const seccomp::Program& prog) {
  if (prog.uses_notify) return true;
  if (p.no_new_privileges) return false;
  if (!p.capabilities) return p.user.uid != 0;
  auto& eff = p.capabilities->effective;
  return std::none_of(eff.begin(), eff.end(), [](const std::string& c) {
    auto v = capability_from_name(c);
    return v && *v == CAP_SYS_ADMIN;
  });
}

Result<void> finalize_process(const oci::Process& p, const seccomp::Program* seccomp,
                              bool seccomp_early, UniqueFd* listener, Sys& sys) {
  if (p.oom_score_adj)
    (void)write_existing("/proc/self/oom_score_adj", std::to_string(*p.oom_score_adj));
  if (p.io_priority) TRY(set_io_priority(*p.io_priority));
  if (p.scheduler) TRY(set_scheduler(*p.scheduler));
  TRY(set_rlimits(p.rlimits));
  // As runc: into cwd as root if it can, else (root squashed on NFS, ...)
  // as the user.
  bool in_cwd = sys.chdir(p.cwd.c_str()) == 0;
  if (p.capabilities) TRY(drop_bounding(*p.capabilities, sys));
  TRY(switch_user(p.user, sys));
  if (!in_cwd && sys.chdir(p.cwd.c_str()) < 0)
    return errno_error("chdir to cwd (\"{}\") set in config.json", p.cwd);
  TRY(verify_cwd(sys));
  if (seccomp && seccomp_early) TRY(load_filter_early(sys, *seccomp, listener));
  if (p.capabilities) TRY(apply_capabilities(*p.capabilities, sys));
  if (p.no_new_privileges && sys.prctl(PR_SET_NO_NEW_PRIVS, 1) < 0)
    return errno_error("set no_new_privs");
  return ok();
}

void prepare_fds_for_exec(int preserve, std::vector<int> keep) {
  for (int fd = 3; fd < 3 + preserve; fd++) {
    int fl = ::fcntl(fd, F_GETFD);
    if (fl >= 0) ::fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
  }
  std::sort(keep.begin(), keep.end());
  unsigned from = static_cast<unsigned>(3 + preserve);
  for (int k : keep) {
    if (k < static_cast<int>(from)) continue;
    if (static_cast<unsigned>(k) > from)
      ::syscall(SYS_close_range, from, static_cast<unsigned>(k) - 1, 0);
    from = static_cast<unsigned>(k) + 1;
  }
  ::syscall(SYS_close_range, from, ~0U, 0);
}

void exec_workload(const std::string& exe, const oci::Process& proc,
                   const seccomp::Program* late_filter, const StubInit& stub, Sys& sys) {
  // The workload starts with default signal dispositions and nothing blocked,
  // whatever its caller (a monitor, a shell with SIGPIPE ignored) had.
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<char*> argv, envp;
  for (auto& a : proc.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : proc.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  if (late_filter) {
    int r = sys.seccomp_install(*late_filter);
    if (r < 0) {
      dprintf(2, "load seccomp filter: %s\n", strerror(-r));
      _exit(1);
    }
  }
  if (stub.fd >= 0) {
    std::vector<char*> args = {const_cast<char*>(stub.name.c_str()), const_cast<char*>("-e"),
                               const_cast<char*>(exe.c_str()), const_cast<char*>("--")};
    args.insert(args.end(), argv.begin(), argv.end());
    sys.execveat(stub.fd, "", args.data(), envp.data(), AT_EMPTY_PATH);
    dprintf(2, "exec %s: %s\n", stub.name.c_str(), strerror(errno));
    _exit(127);
  }
  sys.execve(exe.c_str(), argv.data(), envp.data());
  dprintf(2, "exec %s: %s\n", exe.c_str(), strerror(errno));
  _exit(127);
}

}  // namespace berth::engine
