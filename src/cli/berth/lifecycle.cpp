// berth start/stop/restart/terminate NAME, and `berth monitor NAME` (the
// per-container monitor that `start` daemonizes, or systemd runs in the
// foreground).
#include <cstdio>

#include "cli/berth/commands.h"
#include "cli/berth/util.h"
#include "manager/manager.h"

namespace berth::cli {

namespace {

int do_start(Context& ctx, const std::string& name) {
  auto d = load_or_report(ctx);
  if (!d) return 1;
  auto it = d->containers.find(name);
  if (it == d->containers.end()) {
    std::fprintf(stderr, "berth: start %s: no such container declared\n", name.c_str());
    return 1;
  }
  warn_if_privileged(it->second);
  auto r = manager::start(ctx.paths(), it->second);
  if (!r) {
    std::fprintf(stderr, "berth: start %s: %s\n", name.c_str(),
                 one_line(r.error().message).c_str());
    return 1;
  }
  if (r->already_running) std::printf("%s is already running\n", name.c_str());
  return 0;
}

int do_stop(Context& ctx, const std::string& name, bool terminate) {
  auto r = manager::stop(ctx.paths(), name, terminate);
  if (!r) {
    std::fprintf(stderr, "berth: %s %s: %s\n", terminate ? "terminate" : "stop", name.c_str(),
                 one_line(r.error().message).c_str());
    return 1;
  }
  return 0;
}

}  // namespace

void register_start(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "start", "start a declared container; returns once it is ready (or prints why it failed)");
  cmd->add_option("name", *name, "container name")->required();
  cmd->callback([&ctx, name] { ctx.exit_code = do_start(ctx, *name); });
}

void register_stop(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "stop", "ask the container's init to power off; kill everything after timeout_stop");
  cmd->add_option("name", *name, "container name")->required();
  cmd->callback([&ctx, name] { ctx.exit_code = do_stop(ctx, *name, false); });
}

void register_terminate(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("terminate", "kill the container at once");
  cmd->add_option("name", *name, "container name")->required();
  cmd->callback([&ctx, name] { ctx.exit_code = do_stop(ctx, *name, true); });
}

void register_restart(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("restart", "stop, then start the container");
  cmd->add_option("name", *name, "container name")->required();
  cmd->callback([&ctx, name] {
    ctx.exit_code = do_stop(ctx, *name, false);
    if (ctx.exit_code == 0) ctx.exit_code = do_start(ctx, *name);
  });
}

void register_reboot(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "reboot",
      "send a booted container's init its reboot signal (it is started again once it ends)");
  cmd->add_option("name", *name, "container name")->required();
  cmd->callback([&ctx, name] {
    auto r = manager::reboot(ctx.paths(), *name);
    if (!r)
      std::fprintf(stderr, "berth: reboot %s: %s\n", name->c_str(),
                   one_line(r.error().message).c_str());
    ctx.exit_code = r ? 0 : 1;
  });
}

void register_monitor(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string name;
    int ready_fd = -1;
    bool foreground = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "monitor",
      "run a container's monitor in the foreground (what `start` daemonizes; for systemd's "
      "berth-container@.service, which gets READY=1 on $NOTIFY_SOCKET)");
  cmd->add_option("name", o->name, "container name")->required();
  cmd->add_option("--ready-fd", o->ready_fd,
                  "write \"ok\" or \"error: REASON\" to this fd when ready");
  cmd->add_flag("--foreground", o->foreground, "send READY=1 to $NOTIFY_SOCKET when ready");
  cmd->callback([&ctx, o] {
    manager::MonitorOptions mo;
    mo.ready_fd = o->ready_fd;
    mo.notify_systemd = o->foreground;
    if (o->foreground) {
      // Under systemd: serialize with the CLI through the same start path's
      // checks by refusing a second monitor.
      if (manager::is_running(ctx.paths(), o->name)) {
        std::fprintf(stderr, "berth: monitor %s: already running\n", o->name.c_str());
        ctx.exit_code = 1;
        return;
      }
    }
    ctx.exit_code = manager::run_monitor(ctx.paths(), o->name, mo);
  });
}

}  // namespace berth::cli
