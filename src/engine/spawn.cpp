#include "engine/spawn.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>

#include "base/files.h"

namespace berth::engine {

pid_t clone_into(int flags, int cgroup_fd) {
  if (cgroup_fd >= 0) {
    struct clone_args args = {};
    args.flags = static_cast<uint64_t>(flags) | CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
    long r = ::syscall(SYS_clone3, &args, sizeof args);
    if (r >= 0 || (errno != ENOSYS && errno != EINVAL && errno != E2BIG && errno != EOPNOTSUPP))
      return static_cast<pid_t>(r);
  }
  return static_cast<pid_t>(
      ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
}

CgroupEntry cgroup_entry(const cgroup::Cgroup& cg) {
  CgroupEntry e;
  if (!cg.unified_dir().empty())
    e.v2dir.reset(::open(cg.unified_dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  e.self_join = cg.has_v1() || e.v2dir;
  return e;
}

Result<void> finish_cgroup_entry(const cgroup::Cgroup& cg, const CgroupEntry& entry, pid_t pid) {
  if (!entry.self_join) return cg.add_process(pid);
  if (cg.unified_dir().empty()) return ok();
  // clone3 may have fallen back to clone (or the v2 dir could not be opened).
  auto procs = read_file(fmt::format("/proc/{}/cgroup", pid));
  if (procs && procs->find("0::" + cg.relative() + "\n") != std::string::npos) return ok();
  TRY_CTX(write_existing(cg.unified_dir() + "/cgroup.procs", std::to_string(pid)),
          "join v2 cgroup");
  return ok();
}

Result<void> write_pid_file(const std::string& path, pid_t pid) {
  if (path.empty()) return ok();
  std::string abs = path;
  if (abs[0] != '/') {
    char cwd[PATH_MAX];
    if (!::getcwd(cwd, sizeof cwd)) return errno_error("getcwd for pid file {}", path);
    abs = std::string(cwd) + "/" + path;
  }
  return write_file_atomic(abs, std::to_string(pid), 0644, false);
}

}  // namespace berth::engine
