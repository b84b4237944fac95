// The monitor's pieces that hold none of its state: the bounded log, its
// sockets, systemd's notify protocol, and how it sees that a container's
// process has exec'd.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"
#include "manager/private_root.h"
#include "manager/resolv.h"
#include "manager/rootless.h"
#include "manager/runtime.h"
#include "oci/spec.h"

namespace berth::manager {

double monotonic_seconds();
// "10s", "1500ms".
std::string format_duration(std::chrono::milliseconds d);

// "exited with status N", "killed by signal N (NAME)".
std::string describe_exit(int wait_status);

// The container's output and the monitor's own messages, bounded: at 1 MiB
// the file becomes NAME.log.1 (replacing the previous one).
class LogWriter {
 public:
  explicit LogWriter(std::string path);
  void write(std::string_view data);
  // A line "TIME berth: MSG" of the monitor's own.
  void note(const std::string& msg);

 private:
  void open();
  std::string path_;
  UniqueFd fd_;
  uint64_t size_ = 0;
  bool line_start_ = true;
};

// A non-blocking unix socket bound at path (listening, for SOCK_STREAM).
// SIGCHLD, SIGTERM and SIGINT as bytes on a non-blocking pipe (its reading
// and writing ends); SIGPIPE and SIGHUP ignored.
Result<std::pair<UniqueFd, UniqueFd>> catch_signals();
// Points stdin at /dev/null and stdout and stderr at a pipe, and returns its
// reading end (non-blocking).
Result<UniqueFd> output_pipe();

Result<UniqueFd> bind_unix(const std::string& path, int type);

// Sends msg to $NOTIFY_SOCKET (the monitor run as a Type=notify unit).
void sd_notify_systemd(const std::string& msg);

// Whether a datagram of sd_notify lines has READY=1.
bool notify_says_ready(std::string_view msg);

// Removes a monitor's files in the run dir (control, console and notify
// sockets, snapshot, spec, status, the engine's state); the lock stays.
void remove_runtime_files(const RunDir& rd);

// Puts the container's resolv.conf and extra_hosts into the tree at root
// (manager/resolv.h), logging what there is to say.
void place_etc_files(const std::string& root, const decl::Container& c, const ResolvSetup& rs,
                     LogWriter& log);
// The container's root made ready to start: prepare_root (private_root.h)
// and its resolv.conf and extra_hosts, placed into the tree on disk, or
// into the overlay over it (ephemeral or an image's) as the container's root.
// early: what start_image_root began, if anything.
Result<void> prepare_tree(const decl::Paths& paths, const RunDir& rd, const decl::Container& c,
                          oci::Spec& spec, std::optional<uint32_t> uid_base, LogWriter& log,
                          EarlyRoot* early = nullptr);

// What the monitor runs: the container's declaration (loaded as the CLI
// loads it, a rootless berth's defaults included), [settings] nat, and the
// ids of its user namespace: a uid base (private_users), or a rootless
// berth's maps and whether it has a cgroup.
struct Declared {
  decl::Container c;
  bool nat_all = false;
  std::optional<uint32_t> uid_base;
  std::optional<RootlessRun> rootless;
};
Result<Declared> load_declared(const decl::Paths& paths, const std::string& name);

// True once pid runs another program than the monitor (its command was exec'd).
std::optional<bool> has_execd(pid_t pid);
// With a stub init: true once the init runs the stub and a child of it runs
// another program (the command was exec'd). The stub's own fork runs the
// stub until its exec.
std::optional<bool> command_execd(pid_t init);

// A launch runs deep frames (the declaration's parse, the spec, the engine's
// create), and so does handling an event (a status file written): the stack
// pages below the caller's frame go back to the kernel (two are kept for the
// next handlers). The monitor calls it before an idle sleep.
void release_stack_below();

}  // namespace berth::manager
