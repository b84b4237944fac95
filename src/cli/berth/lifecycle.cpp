// berth start/stop/restart/terminate NAME..., and `berth monitor NAME` (the
// per-container monitor that `start` daemonizes, or systemd runs in the
// foreground).
#include <cstdio>
#include <memory>
#include <vector>

#include "cli/berth/commands.h"
#include "cli/berth/util.h"
#include "manager/manager.h"
#include "manager/parallel.h"
#include "manager/rootless.h"

namespace berth::cli {

namespace {

using Names = std::vector<std::string>;

// Starts names (all declared, or nothing is started), each after those of
// them it comes after, independent ones in parallel.
int do_start(Context& ctx, const Names& names, int jobs) {
  auto d = load_or_report(ctx);
  if (!d) return 1;
  std::vector<manager::Job> list;
  for (auto& name : names) {
    const decl::Container* c = find_or_report(*d, "start", name);
    if (!c) return 1;
    warn_if_privileged(*c);
    if (auto w = manager::limits_warning(*c); !w.empty()) std::fprintf(stderr, "%s\n", w.c_str());
    list.push_back({name, c->after, [&ctx, c, name]() -> Result<void> {
                      auto r = manager::start(ctx.paths(), *c);
                      if (!r) return std::move(r).error();
                      if (r->already_running) {
                        std::printf("%s is already running\n", name.c_str());
                        std::fflush(stdout);
                      }
                      return ok();
                    }});
  }
  int code = 0;
  manager::run_jobs(list, jobs, [&](size_t i, const Result<void>& r) {
    if (r) return;
    std::fprintf(stderr, "berth: start %s: %s\n", list[i].name.c_str(),
                 one_line(r.error().message).c_str());
    code = 1;
  });
  return code;
}

// Stops (or terminates) names in parallel, a container before those it comes
// after (when the declarations load; stop works without them too).
int do_stop(Context& ctx, const Names& names, bool terminate, int jobs) {
  std::vector<manager::Job> list;
  for (auto& name : names)
    list.push_back({name, {}, [&ctx, name, terminate]() -> Result<void> {
                      return manager::stop(ctx.paths(), name, terminate);
                    }});
  auto d = ctx.load();
  if (d.ok())
    for (auto& j : list)
      for (auto& other : names)
        if (auto it = d.decls.containers.find(other); it != d.decls.containers.end())
          for (auto& dep : it->second.after)
            if (dep == j.name) j.after.push_back(other);  // `other` stops first
  int code = 0;
  manager::run_jobs(list, jobs, [&](size_t i, const Result<void>& r) {
    if (r) return;
    std::fprintf(stderr, "berth: %s %s: %s\n", terminate ? "terminate" : "stop",
                 list[i].name.c_str(), one_line(r.error().message).c_str());
    code = 1;
  });
  return code;
}

struct Verb {
  Names names;
  int jobs = 0;
};

std::shared_ptr<Verb> add_names(CLI::App* cmd) {
  auto v = std::make_shared<Verb>();
  cmd->add_option("names", v->names, "container names (several: in parallel, in `after` order)")
      ->required();
  cmd->add_option("-j,--jobs", v->jobs, "at most this many at a time (default: twice the CPUs)")
      ->check(CLI::NonNegativeNumber);
  return v;
}

}  // namespace

void register_start(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "start", "start declared containers; returns once they are ready (or prints why not)");
  auto v = add_names(cmd);
  cmd->callback([&ctx, v] { ctx.exit_code = do_start(ctx, v->names, v->jobs); });
}

void register_stop(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "stop", "ask each container's init to power off; kill everything after timeout_stop");
  auto v = add_names(cmd);
  cmd->callback([&ctx, v] { ctx.exit_code = do_stop(ctx, v->names, false, v->jobs); });
}

void register_terminate(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("terminate", "kill the containers at once");
  auto v = add_names(cmd);
  cmd->callback([&ctx, v] { ctx.exit_code = do_stop(ctx, v->names, true, v->jobs); });
}

void register_restart(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("restart", "stop, then start the containers");
  auto v = add_names(cmd);
  cmd->callback([&ctx, v] {
    ctx.exit_code = do_stop(ctx, v->names, false, v->jobs);
    if (ctx.exit_code == 0) ctx.exit_code = do_start(ctx, v->names, v->jobs);
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
    // Run once the command line is freed (main.cpp).
    ctx.run_after_parse = [paths = ctx.paths(), name = o->name, mo] {
      return manager::run_monitor(paths, name, mo);
    };
  });
}

}  // namespace berth::cli
