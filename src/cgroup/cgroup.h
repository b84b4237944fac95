// cgroups for containers: detect the host's layout (v1, v2 or hybrid), create
// a container's cgroup in every hierarchy that is there, apply OCI
// linux.resources (translating units between v1 and v2), and freeze, signal,
// measure and remove it.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::cgroup {

enum class Mode { Legacy, Hybrid, Unified };

struct Layout {
  Mode mode = Mode::Unified;
  std::string unified;                       // v2 mount point ("" if none)
  std::vector<std::string> unified_controllers;  // from cgroup.controllers
  // v1: mount point -> controllers mounted there, e.g. "/sys/fs/cgroup/cpu" -> {"cpu"};
  // named hierarchies like name=systemd are included.
  std::map<std::string, std::vector<std::string>> v1;
};

// Reads /proc/self/mountinfo (and the v2 root's cgroup.controllers). The
// result is cached for the process.
Result<Layout> detect();
// Parses mountinfo text; exposed for unit tests.
Layout parse_layout(const std::string& mountinfo, const std::string& unified_controllers);

class Cgroup {
 public:
  // cgroups_path as the runtime spec says: absolute paths are relative to each
  // hierarchy's root; relative ones to the caller's own cgroup. Empty means
  // "/berth/<id>". Creates the directories (and parents) in every hierarchy.
  static Result<Cgroup> create(const std::string& cgroups_path, const std::string& id);
  // Re-opens a cgroup from what to_json() saved (for later commands).
  static Result<Cgroup> from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;

  // Applies every field of r. update=true is `berth-oci update`: only the
  // fields present change. A refused value gives an error naming the field.
  Result<void> apply(const oci::Resources& r, bool update = false);
  Result<void> add_process(pid_t pid);
  Result<std::vector<pid_t>> pids() const;
  Result<void> freeze();
  Result<void> thaw();
  Result<bool> frozen() const;
  // Signals every process in the cgroup (freezing it first for SIGKILL so
  // that nothing forks away).
  Result<void> kill_all(int sig);
  // Usage as `runc events --stats` prints it: {"memory":…, "cpu":…, "pids":…, "blkio":…}
  Result<nlohmann::json> stats() const;
  // Removes the directories; waits briefly for dying processes (EBUSY).
  Result<void> destroy();

  // Directory per hierarchy: mount point -> full path of this cgroup in it.
  const std::map<std::string, std::string>& paths() const { return paths_; }
  // The path relative to each hierarchy root, e.g. "/berth/abc".
  const std::string& relative() const { return relative_; }

 private:
  std::string relative_;
  std::map<std::string, std::string> paths_;
};

// Translations runc and crun use between v1 and v2 units (exposed for tests).
uint64_t shares_to_weight(uint64_t shares);   // cpu.shares -> cpu.weight
uint64_t blkio_weight_to_io_weight(uint64_t w);  // blkio.weight -> io.weight

}  // namespace berth::cgroup
