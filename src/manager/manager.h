// The berth manager: per-container monitors that run, supervise and log a
// declared container, and the lifecycle verbs the `berth` CLI calls on them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "decl/decl.h"
#include "decl/paths.h"
#include "manager/bind.h"

namespace berth::manager {

// Runs the monitor of container `name` in the calling process until the
// container is stopped for good. ready_fd (>= 0) receives one line, "ok" or
// "error: REASON", once the container is ready or has failed to start; with
// notify_systemd, READY=1 also goes to $NOTIFY_SOCKET (the systemd unit's
// Type=notify). Returns the monitor's exit code.
struct MonitorOptions {
  int ready_fd = -1;
  bool notify_systemd = false;
};
int run_monitor(const decl::Paths& paths, const std::string& name, const MonitorOptions& opts);

// Starts the declared container (a daemonized monitor) and returns once it is
// ready, or the reason it failed. Starting a running container is a no-op
// (already_running is set). `self_exe` is the berth binary the monitor runs.
struct StartResult {
  bool already_running = false;
};
Result<StartResult> start(const decl::Paths& paths, const decl::Container& c,
                          const std::string& self_exe = "/proc/self/exe");
// Asks the init to power off, SIGKILLs everything after timeout_stop
// (`terminate`: at once); works without a monitor too. Stopping a stopped
// container is not an error.
Result<void> stop(const decl::Paths& paths, const std::string& name, bool terminate,
                  std::optional<std::chrono::milliseconds> timeout = std::nullopt);

struct Status {
  std::string name;
  bool declared = false;
  std::string state;  // "up", "down", "gone", or a transient "starting"/"stopping"
  bool monitor_alive = false;
  pid_t monitor_pid = 0;
  bool monitor_died = false;  // the container runs but its monitor is gone
  pid_t pid = 0;
  double uptime_sec = 0;
  int restarts = 0;
  std::string last_exit;  // how the last run ended
  std::optional<uint64_t> memory_bytes;
  std::vector<std::string> addresses;     // "host 10.233.1.1", "local 10.233.1.2"
  std::vector<std::string> host_links;    // the real (maybe shortened) ve-/vb- name, extra veths
  std::optional<uint32_t> uid_base;       // host uid of its root (private_users), 65536 ids from it
  std::vector<std::string> capabilities;  // what its processes get (decl::capabilities_of)
  // Non-empty when root in it can take over the host (decl::host_takeover_reason):
  // JSON "privileged": true and "privileged_reason".
  std::string privileged_reason;
  std::string init;      // boot: the init in its tree ("systemd", "busybox", ...)
  std::string ready_on;  // boot: "notify" (READY=1) or "started"
  // A rootless berth's container (see MonitorStatus): its id maps, and
  // "not applied (no delegated cgroup for uid N)" when its limits do not hold.
  std::string user_ns;
  std::string limits;
  // What `berth bind` added to this run: "PATH from HOST_PATH[ (read-only)]"
  // (JSON "binds": [{path, host_path, read_only}]); gone at stop and restart.
  std::vector<TransientBind> binds;
  nlohmann::json to_json() const;
  std::string text() const;  // several lines, for `berth status`
};
// `reboot NAME`: sends a booted container's init its reboot signal; the
// monitor starts it again once it has ended (as for a reboot from inside).
Result<void> reboot(const decl::Paths& paths, const std::string& name);

// `kill NAME`: sends sig to the running container's init, or (All) to every
// process in its cgroup and the cgroups below it, in every hierarchy.
enum class KillWho { Init, All };
Result<void> kill(const decl::Paths& paths, const std::string& name, int sig, KillWho who);

// decl: the current declaration of the container, if any.
Status status(const decl::Paths& paths, const std::string& name, const decl::Container* decl);

// Whether anything of the container is up (a live monitor or init).
bool is_running(const decl::Paths& paths, const std::string& name);
// Names with a runtime directory under paths.run.
std::vector<std::string> runtime_names(const decl::Paths& paths);

// `run NAME -- CMD...`: runs argv inside the container with the caller's
// stdio; returns its exit status (128+signal when killed).
Result<int> run_in(const decl::Paths& paths, const std::string& name,
                   const std::vector<std::string>& argv);

// The log (older rotated part first); with follow, keeps printing until the
// monitor is gone.
Result<void> print_logs(const decl::Paths& paths, const std::string& name, bool follow);

// apply/plan: what it takes to make the host match the declarations.
struct Action {
  // Keep: a restart the declaration asks not to be done (restart_if_changed
  // = false); nothing is done and the reason says what is not applied.
  // Build: image `name` of [images], missing or built from another recipe.
  enum class Kind { Start, Stop, Restart, Update, Keep, Build } kind;
  std::string name;
  std::string reason;
  std::string text() const;  // "restart web: declaration changed (command)"
};
std::vector<Action> plan(const decl::Paths& paths, const decl::Declarations& decls);
// Carries out the actions: prints them all (as `plan`), builds the images
// (one at a time, mmdebstrap's lines on stdout), then stops the
// containers no longer declared, then starts, restarts and updates the rest,
// at most `jobs` at a time (< 1: manager::default_jobs()), each after the
// containers in its `after` (not those whose image failed to build);
// returns the first failure after trying all.
Result<void> apply(const decl::Paths& paths, const decl::Declarations& decls,
                   const std::vector<Action>& actions, const std::string& self_exe, int jobs = 0);

// `update NAME`: makes one running container match its (changed) declaration
// as `apply` would: nothing when unchanged, resources applied live, or a
// restart when anything else changed; prints which and why. A container that
// is not running is left alone (its next start reads the declaration).
Result<void> update(const decl::Paths& paths, const decl::Declarations& decls,
                    const std::string& name, const std::string& self_exe);

// Starts the autostart containers, each after those in its `after` list,
// independent ones in parallel (at most `jobs` at a time, as apply).
Result<void> boot(const decl::Paths& paths, const decl::Declarations& decls,
                  const std::string& self_exe, int jobs = 0);

// The systemd unit template that runs `berth monitor NAME --foreground`.
std::string systemd_unit_text(const std::string& berth_exe, const std::string& root);
// `generate systemd`: writes that unit (for this binary) as
// DIR/berth-container@.service, DIR by default ROOT/etc/systemd/system;
// returns the file's path.
Result<std::string> write_systemd_unit(const std::string& root, const std::string& dir);

// berth runs the verbs whose processes enter containers (monitor, run,
// shell, root-login) from a sealed copy of itself (engine/sealed_exe.h).
Result<void> ensure_sealed_exe(char** argv);

}  // namespace berth::manager
