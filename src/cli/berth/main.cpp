// berth: declarative system containers. Thin glue: global options, then one
// file per subcommand.
#include <cstdio>
#include <exception>
#include <functional>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cli/berth/commands.h"
#include "manager/manager.h"

namespace {

// The verbs whose processes enter containers (the monitor clones the init;
// run, shell and root-login join a running one) run from a protected binary
// (CVE-2019-5736, see manager::ensure_sealed_exe).
bool enters_containers(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    std::string_view a = argv[i];
    if (a == "--root") {
      i++;
      continue;
    }
    if (a.starts_with("-")) continue;
    return a == "monitor" || a == "run" || a == "shell" || a == "root-login";
  }
  return false;
}

int run_main(int argc, char** argv) {
  // Before the command line is built: the process that re-executes itself
  // does no work the protected one does again.
  if (enters_containers(argc, argv)) {
    if (auto s = berth::manager::ensure_sealed_exe(argv); !s) {
      std::fprintf(stderr, "berth: %s\n", s.error().message.c_str());
      return 1;
    }
  }
  berth::cli::Context ctx;
  std::function<int()> later;
  {
    CLI::App app{"berth: declarative, lightweight system containers"};
    app.name("berth");
    app.add_option(
           "--root", ctx.root_option,
           "move every berth path under DIR (DIR/etc/berth, DIR/var/lib/berth, DIR/run/berth, "
           "DIR/var/log/berth); default / for root, the XDG directories of anyone else")
        ->envname("BERTH_ROOT")
        ->type_name("DIR");
    app.require_subcommand(1);

    berth::cli::register_check(app, ctx);
    berth::cli::register_start(app, ctx);
    berth::cli::register_stop(app, ctx);
    berth::cli::register_restart(app, ctx);
    berth::cli::register_reboot(app, ctx);
    berth::cli::register_terminate(app, ctx);
    berth::cli::register_monitor(app, ctx);
    berth::cli::register_status(app, ctx);
    berth::cli::register_list(app, ctx);
    berth::cli::register_show_ip(app, ctx);
    berth::cli::register_run(app, ctx);
    berth::cli::register_logs(app, ctx);
    berth::cli::register_apply(app, ctx);
    berth::cli::register_plan(app, ctx);
    berth::cli::register_boot(app, ctx);
    berth::cli::register_create(app, ctx);
    berth::cli::register_destroy(app, ctx);
    berth::cli::register_reset_state(app, ctx);
    berth::cli::register_generate(app, ctx);
    berth::cli::register_update(app, ctx);
    berth::cli::register_spec(app, ctx);
    berth::cli::register_kill(app, ctx);
    berth::cli::register_enable(app, ctx);
    berth::cli::register_disable(app, ctx);
    berth::cli::register_copy_to(app, ctx);
    berth::cli::register_copy_from(app, ctx);
    berth::cli::register_bind(app, ctx);
    berth::cli::register_unbind(app, ctx);
    berth::cli::register_login(app, ctx);
    berth::cli::register_root_login(app, ctx);
    berth::cli::register_shell(app, ctx);
    berth::cli::register_show_host_key(app, ctx);
    berth::cli::register_snapshots(app, ctx);
    berth::cli::register_image(app, ctx);
    berth::cli::register_docs(app, ctx);

    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      // Usage errors exit 2, as most tools do; --help and --version exit 0.
      return app.exit(e) == 0 ? 0 : 2;
    }
    if (!ctx.run_after_parse) return ctx.exit_code;
    later = std::move(ctx.run_after_parse);
  }
  // The command line (every subcommand, option and string of it) is gone
  // before a monitor settles down to supervise for days.
  return later();
}

}  // namespace

// Every command's action runs inside run_main: anything it throws (a bug, or
// std::bad_alloc) ends as one line on stderr and exit 1, never an abort.
int main(int argc, char** argv) {
  try {
    return run_main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "berth: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "berth: internal error: unknown exception\n");
  }
  return 1;
}
