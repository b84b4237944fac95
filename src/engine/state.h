// What berth-oci remembers about a container between commands: one directory
// per container under the state root, with state.json (written atomically),
// the config it was created from, and exec.fifo while it waits to start.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace berth::engine {

enum class Status { Creating, Created, Running, Paused, Stopped };
const char* status_name(Status s);

struct State {
  std::string id;
  pid_t pid = 0;
  uint64_t start_time = 0;  // field 22 of /proc/PID/stat: guards against PID reuse
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339 with nanoseconds
  std::string owner;
  std::map<std::string, std::string> annotations;
  nlohmann::json cgroup;                // cgroup::Cgroup::to_json(), or null without cgroups
  std::vector<std::string> namespaces;  // types the container created or joined
};

class Store {
 public:
  explicit Store(std::string root) : root_(std::move(root)), cache_(root_ + "/.cache") {}
  // cache: where derived data that outlives one container is kept (compiled
  // seccomp filters); the manager shares one among all its containers.
  Store(std::string root, std::string cache) : root_(std::move(root)), cache_(std::move(cache)) {}
  const std::string& root() const { return root_; }
  const std::string& cache() const { return cache_; }
  std::string dir(const std::string& id) const { return root_ + "/" + id; }
  std::string fifo(const std::string& id) const { return dir(id) + "/exec.fifo"; }
  std::string config(const std::string& id) const { return dir(id) + "/config.json"; }

  // Error `container "ID" does not exist` when there is no such container.
  Result<State> load(const std::string& id) const;
  Result<void> save(const State& s) const;
  Result<std::vector<std::string>> ids() const;

 private:
  std::string root_;
  std::string cache_;
};

Result<void> validate_id(const std::string& id);
// Start time of a live (non-zombie) process, or nullopt.
std::optional<uint64_t> process_start_time(pid_t pid);
// The status as the runtime spec defines it, derived from the live system.
Status current_status(const Store& store, const State& s);
// The runtime-spec state JSON (`berth-oci state`).
nlohmann::json state_json(const State& s, Status status);
std::string now_rfc3339();

}  // namespace berth::engine
