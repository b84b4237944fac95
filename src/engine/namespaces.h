// Namespaces as the engine meets them: their OCI names, /proc/PID/ns files
// and clone flags; what a spec asks of them, worked out before anything is
// made (plan_namespaces: which are new, which are joined by path and in what
// order); and the few operations on them the init and the runtime share.
#pragma once

#include <sys/types.h>

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::engine {

struct NsInfo {
  const char* type;  // OCI name
  const char* proc;  // /proc/PID/ns/<proc>
  int flag;          // CLONE_NEW*
};
// Every namespace type the engine knows, user first.
std::span<const NsInfo> all_namespaces();
// The entry of an OCI namespace type, or null.
const NsInfo* ns_info(const std::string& type);

struct NamespacePlan {
  int clone_flags = 0;  // new namespaces made at clone (not cgroup or time)
  bool new_user = false;
  bool new_cgroup = false;  // unshared by the init once it is in its cgroup
  bool new_time = false;    // unshared by the init (offsets are set before entering)
  // Joined by path in the init, a user namespace first.
  std::vector<std::pair<const NsInfo*, std::string>> joins;
  // A pid namespace joined by path: the runtime enters it for the clone.
  const NsInfo* join_pid = nullptr;
  std::string join_pid_path;
  std::vector<std::string> types;  // every type the spec lists, in its order
  // Whether the container has a mount namespace of its own, new or joined.
  bool own_mount() const;
};
// linux.namespaces of a spec that validate_spec accepted. Errors name the
// key: a path that does not exist, combinations the engine cannot make.
Result<NamespacePlan> plan_namespaces(const oci::Spec& spec);

// setns(2) by path. Returns -1 with errno on failure.
int setns_path(const std::string& path, int flag);
// Writes /proc/PID/{uid,gid}_map (file: "uid_map" or "gid_map").
Result<void> write_id_map(pid_t pid, const char* file, const std::vector<oci::IdMapping>& maps);
// An unprivileged caller's maps beyond its own id: shadow's setuid helper
// (helper: "newuidmap" or "newgidmap", Debian's uidmap, found on PATH) writes
// them, as far as /etc/subuid or /etc/subgid grants them. The only programs
// the engine runs (crun and podman do the same).
Result<void> write_id_map_with_helper(pid_t pid, const char* helper,
                                      const std::vector<oci::IdMapping>& maps);
// Whether maps map only `own` (one id, as an unprivileged caller may write
// itself).
bool maps_only(const std::vector<oci::IdMapping>& maps, uint32_t own);
// In the init: a new time namespace with linux.timeOffsets, entered.
Result<void> setup_time_namespace(const oci::Linux& l);

}  // namespace berth::engine
