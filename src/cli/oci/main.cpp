// berth-oci: an OCI runtime (runc's command line) on the berth engine.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "base/log.h"
#include "cli/doc/clidoc.h"
#include "cli/oci/cli.h"
#include "engine/sealed_exe.h"
#include "oci/spec.h"

using namespace berth;

namespace {

// The subcommand, found before the command line is built and parsed, so that
// a command entering a container re-executes (see below) before the parse
// rather than parsing twice. Global options that take a value are skipped
// with it. A miss costs only that second parse: the check after parsing
// still seals.
bool enters_container_early(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    std::string_view a = argv[i];
    if (a == "--root" || a == "--log" || a == "--log-format" || a == "--log-level" ||
        a == "--cgroup-manager" || a == "--rootless") {
      i++;
      continue;
    }
    if (a.starts_with("-")) continue;
    return a == "create" || a == "run" || a == "exec";
  }
  return false;
}

int run_main(int argc, char** argv) {
  if (enters_container_early(argc, argv)) {
    // On failure, fall through: the check after parsing reports it.
    (void)engine::ensure_sealed_exe(argv);
  }
  CLI::App app{"berth-oci: run OCI bundles on the berth engine", "berth-oci"};
  app.require_subcommand(1);
  app.set_version_flag("-v,--version",
                       fmt::format("berth-oci version 0.1.0\nspec: {}", oci::kOciVersion));
  oci_cli::Globals g;
  app.add_option("--root", g.root, "directory for the containers' state");
  app.add_option("--log", g.log_file, "log file (default: stderr)");
  app.add_option("--log-format", g.log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option(
      "--log-level", [](const CLI::results_t&) { return true; }, "accepted for crun compatibility");
  app.add_flag("--debug", g.debug, "debug logging");
  app.add_flag("--systemd-cgroup", g.systemd_cgroup, "use systemd to manage cgroups");
  app.add_option("--cgroup-manager", g.cgroup_manager, "cgroupfs, systemd or disabled")
      ->check(CLI::IsMember({"cgroupfs", "systemd", "disabled"}));
  app.add_option("--rootless", g.rootless, "accepted for runc compatibility");
  app.fallthrough();

  oci_cli::Action action;
  oci_cli::Registry reg{&g, &action};
  oci_cli::register_lifecycle(app, reg);
  oci_cli::register_exec(app, reg);
  oci_cli::register_spec(app, reg);
  oci_cli::register_resources(app, reg);
  // Shell completion and the man page, generated from the command line above.
  clidoc::Program doc{"berth-oci", "an OCI runtime (runc's command line) on the berth engine",
                      "list -q", R"(.SH SEE ALSO
.BR berth (1),
.BR runc (8),
.BR crun (1)
)"};
  std::string shell;
  auto* comp = app.add_subcommand("completion", "print the shell completion script (bash or zsh)");
  comp->add_option("shell", shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  comp->callback([&] {
    action = [&]() -> Result<int> {
      std::fputs(
          (shell == "bash" ? clidoc::bash_completion(app, doc) : clidoc::zsh_completion(app, doc))
              .c_str(),
          stdout);
      return 0;
    };
  });
  app.add_subcommand("man", "print the man page (roff)")->callback([&] {
    action = [&]() -> Result<int> {
      std::fputs(clidoc::man_page(app, doc).c_str(), stdout);
      return 0;
    };
  });

  // `exec ID CMD ARGS...`: everything after the container id belongs to the
  // command, flags included, so mark the end of berth-oci's own options.
  std::vector<std::string> args(argv + 1, argv + argc);
  oci_cli::protect_exec_command(args);
  // --log and --log-format apply to errors in the arguments too (containerd's
  // shim only shows what reaches log.json), so find them before parsing.
  {
    log::Options early;
    for (size_t i = 0; i < args.size(); i++) {
      auto value = [&](const std::string& flag, std::string& out) {
        if (args[i] == flag && i + 1 < args.size())
          out = args[i + 1];
        else if (args[i].rfind(flag + "=", 0) == 0)
          out = args[i].substr(flag.size() + 1);
      };
      std::string fmt_;
      value("--log", early.file);
      value("--log-format", fmt_);
      if (fmt_ == "json") early.json = true;
    }
    log::configure(early);
  }
  try {
    std::reverse(args.begin(), args.end());
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    log::error("{}", e.what());
    return 1;
  }
  log::configure({g.log_file, g.log_format == "json", g.debug});
  if (g.systemd_cgroup || g.cgroup_manager == "systemd") {
    if (access("/run/systemd/system", F_OK) != 0) {
      log::error(
          "systemd cgroup manager requested, but systemd is not running on this host (no "
          "/run/systemd/system)");
      return 1;
    }
  }
  if (!action) return 0;
  // Commands whose processes enter a container run from a sealed copy.
  for (auto* sub : app.get_subcommands()) {
    const std::string& n = sub->get_name();
    if (n == "create" || n == "run" || n == "exec") {
      if (auto s = engine::ensure_sealed_exe(argv); !s) {
        log::error("{}", s.error().message);
        return 1;
      }
    }
  }
  auto r = action();
  if (!r) {
    log::error("{}", r.error().message);
    return 1;
  }
  return *r;
}

}  // namespace

// Every command's action runs inside run_main: anything it throws (a bug, or
// std::bad_alloc) ends as one line on stderr (and --log) and exit 1, never an
// abort that a caller such as containerd's shim sees as a crashed runtime.
int main(int argc, char** argv) {
  try {
    return run_main(argc, argv);
  } catch (const std::exception& e) {
    log::error("internal error: {}", e.what());
  } catch (...) {
    log::error("internal error: unknown exception");
  }
  return 1;
}
