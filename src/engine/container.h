// The engine's lifecycle operations: create (set up and block before exec),
// start, kill, delete, exec into a running container, pause/resume, update
// and stats. Both faces of berth call these: berth-oci from the command line,
// the manager's monitor in-process.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "base/unique_fd.h"
#include "engine/state.h"
#include "oci/spec.h"

namespace berth::engine {

struct CreateOptions {
  std::string id;
  std::string bundle;          // absolute path
  std::string console_socket;  // AF_UNIX path that receives the pty master
  std::string pid_file;
  int preserve_fds = 0;
  bool no_pivot = false;
  bool no_new_keyring = false;
  bool use_cgroups = true;  // false: --cgroup-manager disabled
  // In-process callers (`run`, the manager) may keep the pty master instead
  // of sending it to a console socket.
  UniqueFd* console_out = nullptr;
  // With a terminal: make it the init's controlling terminal (as runc does).
  // A booting init takes its console itself: left without one, a getty it
  // starts can make the console its own, which a getty in a user namespace
  // could not take over from the init (TIOCSCTTY stealing needs
  // CAP_SYS_ADMIN in the host's user namespace).
  bool console_ctty = true;
  // A stub init to run as the container's PID 1 in front of process.args (as
  // `podman --init`): an fd opened on the host, exec'd with
  // execveat(AT_EMPTY_PATH), so nothing of it is mounted or written in the
  // container's tree. Its argv is {init_name, "-e", EXE, "--", args...}, EXE
  // being args[0] as found in the container. -1: args[0] itself is PID 1.
  int init_fd = -1;
  std::string init_name = "init";
  // In-process callers may keep the init's user and network namespaces
  // (opened while it waits for its id maps: an unprivileged caller may open
  // them only then, before the init turns non-dumpable), e.g. for
  // slirp4netns.
  UniqueFd* userns_out = nullptr;
  UniqueFd* netns_out = nullptr;
};

// Creates the container from spec; returns the init's pid once it is blocked
// just before exec. The caller of create is the init's parent.
Result<pid_t> create(const Store& store, const oci::Spec& spec, const CreateOptions& opts);
// Loads bundle/config.json and creates.
Result<pid_t> create_from_bundle(const Store& store, const CreateOptions& opts);
Result<void> start(const Store& store, const std::string& id);
Result<void> kill(const Store& store, const std::string& id, int sig, bool all);
Result<void> remove(const Store& store, const std::string& id, bool force);
// After the init has been reaped (run): cgroup, poststop hooks, state dir.
Result<void> destroy(const Store& store, const std::string& id);

struct ExecOptions {
  oci::Process process;
  std::string console_socket;
  std::string pid_file;
  bool detach = false;
  int preserve_fds = 0;
  UniqueFd* console_out = nullptr;
};
// Runs a process in every namespace and the cgroup of a running container.
// Returns its pid (the caller is its parent and waits for it unless detached).
Result<pid_t> exec(const Store& store, const std::string& id, const ExecOptions& opts);
// The process config `exec` starts from: the container's own process with
// args replaced, as runc does.
Result<oci::Process> exec_base_process(const Store& store, const std::string& id);

Result<void> pause(const Store& store, const std::string& id);
Result<void> resume(const Store& store, const std::string& id);
Result<void> update(const Store& store, const std::string& id, const oci::Resources& r);
Result<nlohmann::json> stats(const Store& store, const std::string& id);
Result<std::vector<pid_t>> pids(const Store& store, const std::string& id);

// Signal names and numbers: "KILL", "SIGKILL", "9", "RTMIN+4".
Result<int> parse_signal(const std::string& s);

// Sends fd over an AF_UNIX stream socket at path, as runc sends the console
// master (the payload is the name of the file).
Result<void> send_fd_to_socket(const std::string& path, int fd, const std::string& name);

}  // namespace berth::engine
