// What the manager keeps under <run>/NAME/ and shares between the monitor and
// the CLI: the lock, the status file, the declaration snapshot, the engine's
// state root and the control socket.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "base/unique_fd.h"
#include "decl/decl.h"
#include "decl/paths.h"
#include "engine/state.h"
#include "net/container_network.h"

namespace berth::manager {

struct RunDir {
  std::string dir;
  explicit RunDir(const decl::Paths& p, const std::string& name) : dir(p.container_run(name)) {}
  std::string lock() const { return dir + "/lock"; }
  std::string status() const { return dir + "/status.json"; }
  std::string control() const { return dir + "/control.sock"; }
  std::string notify_dir() const { return dir + "/notify"; }
  std::string notify_sock() const { return notify_dir() + "/notify.sock"; }
  std::string snapshot() const { return dir + "/declaration"; }  // + ".toml" / ".json"
  // The spec it was started with (launch_spec, before prepare_root), for plan.
  std::string spec() const { return dir + "/spec.json"; }
  // The environment of new `run`s after a live change (NUL-separated).
  std::string environment() const { return dir + "/environment"; }
  std::string oci() const { return dir + "/oci"; }
  // The engine's cache (compiled seccomp filters) is <run>/.cache, shared by
  // every container, so that a start does not compile the same profile again.
  std::string cache() const { return dir.substr(0, dir.rfind('/')) + "/.cache"; }
  engine::Store store() const { return engine::Store(oci(), cache()); }
};

// An exclusive flock on <run>/NAME/lock that survives the file being removed
// by another holder (it re-opens until the locked file is the one on disk).
class Lock {
 public:
  static Result<Lock> acquire(const RunDir& rd);
  static std::optional<Lock> try_acquire(const RunDir& rd);
  // Removes the lock file and the run dir when nothing else is in it.
  void remove_if_idle(const RunDir& rd);

 private:
  UniqueFd fd_;
};

// <state>/NAME/last-exit: how the container's last run ended, written by its
// monitor as it exits, for `status` of a container that is down.
inline std::string last_exit_file(const decl::Paths& p, const std::string& name) {
  return p.container_state(name) + "/last-exit";
}

// The monitor's record in status.json.
struct MonitorStatus {
  std::string state;  // starting, running, stopping, restarting
  pid_t monitor_pid = 0;
  uint64_t monitor_start = 0;
  pid_t pid = 0;
  double started_at = 0;  // epoch seconds of the current run
  int restarts = 0;
  std::string last_exit;
  std::string init;      // boot: the init detected in its tree (decl::init_name)
  std::string ready_on;  // boot: "notify" (READY=1) or "started"
  // A rootless berth's container: its id maps ("0 -> 1001, 1-65536 ->
  // 100000-165535"), and why its limits do not hold ("" when they do).
  std::string user_ns;
  std::string limits;
};
Result<void> write_status(const RunDir& rd, const MonitorStatus& s);
std::optional<MonitorStatus> read_status(const RunDir& rd);
bool monitor_alive(const MonitorStatus& s);

// The engine's view: the init's pid when it is alive.
std::optional<pid_t> engine_pid(const RunDir& rd, const std::string& name);

// The declaration the running container was started from, with the
// defaults of `settings` filled in (decl::apply_defaults).
Result<void> save_snapshot(const RunDir& rd, const decl::Container& c);
std::optional<decl::Container> load_snapshot(const RunDir& rd, const std::string& name,
                                             const decl::Settings& settings = {});

// The network the net library builds for a declaration.
Result<net::ContainerNetwork> network_of(const decl::Container& c, const decl::Paths& paths,
                                         bool nat_all);
std::string hosts_file(const decl::Paths& paths);

// A line-based request on the control socket; the reply line, or an error
// when no monitor listens.
Result<std::string> control_request(const RunDir& rd, const std::string& line, int timeout_ms);

double now_epoch();

// Fault tests: when BERTH_TEST_PAUSE_AT names `phase`, the process stops
// itself there (SIGSTOP) so that a test can SIGKILL it at that exact point.
// The variable is read once.
void test_pause_at(const char* phase);

// Containers live under /berth in every cgroup hierarchy; the parent goes
// with the last of them (rmdir fails while others remain).
void remove_empty_cgroup_parent();

}  // namespace berth::manager
