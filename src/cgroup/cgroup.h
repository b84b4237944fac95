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
  std::string unified;                           // v2 mount point ("" if none)
  std::vector<std::string> unified_controllers;  // from cgroup.controllers
  // v1: mount point -> controllers mounted there, e.g. "/sys/fs/cgroup/cpu" -> {"cpu"};
  // named hierarchies like name=systemd are included.
  std::map<std::string, std::vector<std::string>> v1;
  // Mount point -> the cgroup that is that mount's root (field 4 of
  // mountinfo; "/" except inside containers). Paths in /proc/self/cgroup
  // start with it.
  std::map<std::string, std::string> roots;
};

// Reads /proc/self/mountinfo (and the v2 root's cgroup.controllers). The
// result is cached for the process.
Result<Layout> detect();
// Parses mountinfo text; exposed for unit tests.
Layout parse_layout(const std::string& mountinfo, const std::string& unified_controllers);

// The cgroup files linux.resources is written to: the real ones, or a
// unit test's recording fake (which files get which values, no cgroup tree).
class Files {
 public:
  virtual ~Files() = default;
  // An existing file (cgroup files are never created by a write).
  virtual Result<void> write(const std::string& path, const std::string& value) = 0;
  // A one-value file, trimmed.
  virtual Result<std::string> read(const std::string& path) = 0;
  virtual bool exists(const std::string& path) = 0;
};
Files& real_files();

class Cgroup {
 public:
  // cgroups_path as the runtime spec says: absolute paths are relative to each
  // hierarchy's root; relative ones to the caller's own cgroup. Empty means
  // "/berth/<id>". Creates the directories (and parents) in every hierarchy.
  static Result<Cgroup> create(const std::string& cgroups_path, const std::string& id);
  // The same on a given layout (a fake tree in unit tests, or a v2-only view
  // of this host's hierarchies in integration tests).
  static Result<Cgroup> create(const Layout& layout, const std::string& cgroups_path,
                               const std::string& id);
  // The cgroup at `relative` (absolute, "/a/b") in every hierarchy of layout,
  // without touching the filesystem.
  static Cgroup open(const Layout& layout, const std::string& relative);
  // Re-opens a cgroup from what to_json() saved (for later commands).
  static Result<Cgroup> from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;

  // Applies every field of r. update=true is `berth-oci update`: only the
  // fields present change. A refused value gives an error naming the field.
  // Device rules: like runc and crun, everything is denied first, then r's
  // rules apply in order, then runc's default allow list (mknod of any
  // device, /dev/null, zero, full, random, urandom, tty, console, ptmx and
  // /dev/pts/*). With update=true devices change only if r.devices is not empty.
  Result<void> apply(const oci::Resources& r, bool update = false, Files& files = real_files());
  Result<void> add_process(pid_t pid) const;
  // Moves the calling thread into this cgroup's v1 hierarchies (call it
  // while single-threaded, e.g. in the container's init before exec; the v2
  // one is joined at birth by clone3(CLONE_INTO_CGROUP)). Several times
  // cheaper than add_process(pid) from outside: for a thread moving itself
  // through v1's per-thread `tasks` file the kernel skips its global
  // threadgroup lock and the RCU grace period that comes with it (this host:
  // ~0.4 ms instead of ~2-7 ms).
  Result<void> join_self_v1() const;
  // Whether any v1 hierarchy holds this cgroup.
  bool has_v1() const { return paths_.size() > (v2_mount_.empty() ? 0u : 1u); }
  // Every process in it and in the cgroups below it, in every hierarchy.
  Result<std::vector<pid_t>> pids() const;
  Result<void> freeze();
  Result<void> thaw();
  Result<bool> frozen() const;
  // Signals every process in the cgroup (freezing it first so that nothing
  // forks away). SIGKILL uses cgroup.kill where the v2 tree has it.
  Result<void> kill_all(int sig);
  // Usage as `runc events --stats` prints it: {"memory":…, "cpu":…, "pids":…, "blkio":…}
  // plus memory.oom_kill: processes the OOM killer killed in this cgroup
  // (v1 memory.oom_control, v2 memory.events).
  Result<nlohmann::json> stats() const;
  // Removes the directories (and any child cgroups) in every hierarchy,
  // deepest first; waits up to ~1 s for dying processes (EBUSY).
  Result<void> destroy();

  // Directory per hierarchy: mount point -> full path of this cgroup in it.
  const std::map<std::string, std::string>& paths() const { return paths_; }
  // The path relative to each hierarchy root, e.g. "/berth/abc". For a
  // relative cgroups_path each hierarchy may differ; this is the one in the
  // v2 tree (or name=systemd, or the first v1 hierarchy), see paths().
  const std::string& relative() const { return relative_; }
  // Where the controller is handled: its v1 directory, or the v2 directory
  // when v2 has it and v1 does not; "" if neither ("cpu", "memory", "pids",
  // "blkio"/"io", "freezer", "devices", ...).
  std::string dir_for(const std::string& controller) const;
  // This cgroup's directory in the v2 tree ("" without one).
  const std::string& unified_dir() const { return v2_; }

 private:
  class Writer;  // linux.resources, controller by controller (resources.cpp)
  std::string relative_;
  std::map<std::string, std::string> paths_;
  std::map<std::string, std::string> v1_;    // controller (or name=x) -> directory
  std::string v2_mount_, v2_;                // v2 mount point and this cgroup's dir there
  std::vector<std::string> v2_controllers_;  // controllers used through v2 (not in v1)
};

// Translations runc and crun use between v1 and v2 units (exposed for tests).
uint64_t shares_to_weight(uint64_t shares);      // cpu.shares -> cpu.weight
uint64_t blkio_weight_to_io_weight(uint64_t w);  // blkio.weight -> io.weight

// systemd's "slice:prefix:name" form of cgroupsPath (no leading '/', three
// colon-separated parts, the first empty or NAME.slice). Cgroup::create
// places such a path where systemd would put the unit (see systemd_path.cpp).
bool is_systemd_cgroups_path(const std::string& cgroups_path);
// "a-b.slice" -> "/a.slice/a-b.slice"; "-.slice" -> "/".
Result<std::string> expand_slice(const std::string& slice);
// "system.slice:docker:abc" -> "/system.slice/docker-abc.scope"; an empty
// slice is system.slice and an empty prefix gives "name.scope", as in runc.
Result<std::string> systemd_cgroups_path_to_cgroupfs(const std::string& cgroups_path);

// Allow rules (rwm) for the devices a spec creates (linux.devices), for an
// engine to append to linux.resources.devices as runc does.
std::vector<oci::DeviceRule> allow_rules_for(const std::vector<oci::Device>& devices);

}  // namespace berth::cgroup
