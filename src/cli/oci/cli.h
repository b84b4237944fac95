// berth-oci: the runc-compatible command line over the engine. Each command
// lives in its own file and registers itself on the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "base/result.h"
#include "engine/state.h"

namespace berth::oci_cli {

struct Globals {
  std::string root = "/run/berth-oci";
  std::string log_file;
  std::string log_format = "text";
  std::string cgroup_manager = "cgroupfs";
  bool debug = false;
  bool systemd_cgroup = false;
  std::string rootless;
};

// Each command's action returns the process exit code (errors are printed by
// main as one line on stderr and, with --log, as a JSON/text log line).
using Action = std::function<Result<int>()>;

struct Registry {
  Globals* g;
  Action* chosen;
  engine::Store store() const { return engine::Store(g->root); }
};

void register_lifecycle(CLI::App& app, Registry& r);
void register_exec(CLI::App& app, Registry& r);
void register_spec(CLI::App& app, Registry& r);
void register_resources(CLI::App& app, Registry& r);

// Inserts "--" after exec's container id, so the command's own flags are
// not taken for berth-oci's.
void protect_exec_command(std::vector<std::string>& args);

// Waits for a child (the container init or an exec'd process), forwarding
// the signals berth-oci receives, and proxying a console when given one.
// Returns the exit code (128+N when killed by signal N).
int wait_forwarding(pid_t pid, int console_master);

}  // namespace berth::oci_cli
