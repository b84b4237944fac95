// Shared harness of the engines tier: which OCI runtime a case runs on, a
// namespace holder process the engines may run inside, and the end-of-run
// table of operation x runtime results.
#pragma once

#include <sys/types.h>

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "support/testenv.h"

namespace berth::test::engines {

// One runtime the engines are pointed at.
struct Runtime {
  std::string name;  // "berth" or "crun"
  std::string path;  // the binary
  // crun 1.8.1 refuses a hybrid cgroup layout: it runs with
  // /sys/fs/cgroup/unified unmounted in a mount namespace of the test's own.
  bool hide_unified = false;
};

// gtest prints a parameter with this instead of its bytes.
inline void PrintTo(const Runtime& r, std::ostream* os) {
  *os << r.name << " (" << r.path << ")";
}

std::vector<Runtime> runtimes();
std::string runtime_param_name(const Runtime& r);

// A `sleep` in new namespaces (mount, and net if asked) that the test owns:
// commands run inside it through nsenter. Killed by PID when destroyed.
class NsHolder {
 public:
  struct Options {
    bool net = false;                // new network namespace with lo up
    bool hide_unified = false;       // umount /sys/fs/cgroup/unified
    std::vector<std::string> tmpfs;  // dirs to cover with a private tmpfs
  };
  explicit NsHolder(const Options& o);
  ~NsHolder();
  NsHolder(const NsHolder&) = delete;
  NsHolder& operator=(const NsHolder&) = delete;
  bool ok() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::string& error() const { return error_; }
  // nsenter -t PID -m [-n] --
  std::vector<std::string> prefix() const;

 private:
  pid_t pid_ = -1;
  bool net_ = false;
  std::string error_;
};

// Pids of processes whose command line mentions needle (not this process).
std::vector<pid_t> processes_mentioning(const std::string& needle);
// Cgroup dirs (every v1 hierarchy and the v2 one) whose path contains needle.
std::vector<std::string> cgroups_matching(const std::string& needle);
// rmdir, deepest first, of every cgroup dir below /sys/fs/cgroup/*/<top>.
void remove_cgroup_tree(const std::string& top);
// The path of pid's cgroup in the v1 hierarchy that has controller.
std::string cgroup_of(pid_t pid, const std::string& controller);
// Mount points in the mount namespace of pid (self when 0) under prefix.
std::vector<std::string> mounts_under(const std::string& prefix, pid_t pid = 0);
// Unmounts them, deepest first, in that mount namespace.
void unmount_under(const std::string& prefix, pid_t pid = 0);

std::string trim(const std::string& s);
RunOptions opts(int timeout_sec, std::map<std::string, std::string> env = {},
                std::string stdin_data = "");
std::string describe(const RunResult& r);

}  // namespace berth::test::engines
