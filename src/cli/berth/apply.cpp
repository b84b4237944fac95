// berth apply [--dry-run], berth plan, berth boot.
#include <cstdio>
#include <memory>

#include "cli/berth/commands.h"
#include "cli/berth/util.h"
#include "manager/manager.h"
#include "manager/rootless.h"

namespace berth::cli {

namespace {

int do_apply(Context& ctx, bool dry_run, int jobs = 0) {
  auto d = load_or_report(ctx);
  if (!d) return 1;
  auto paths = ctx.paths();
  warn_if_privileged(*d);
  auto actions = manager::plan(paths, *d);
  if (actions.empty()) {
    std::printf("nothing to do: the host matches the declarations\n");
    return 0;
  }
  if (dry_run) {
    for (auto& a : actions) std::printf("%s\n", a.text().c_str());
    return 0;
  }
  // Declared limits that will not hold (a rootless berth without a
  // delegated cgroup), as `start` says them.
  for (auto& a : actions)
    if (a.kind == manager::Action::Kind::Start || a.kind == manager::Action::Kind::Restart)
      if (auto it = d->containers.find(a.name); it != d->containers.end())
        if (auto w = manager::limits_warning(it->second); !w.empty())
          std::fprintf(stderr, "%s\n", w.c_str());
  auto r = manager::apply(paths, *d, actions, "/proc/self/exe", jobs);
  return r ? 0 : 1;
}

}  // namespace

void register_apply(CLI::App& app, Context& ctx) {
  struct Opts {
    bool dry = false;
    int jobs = 0;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "apply",
      "make the host match the declarations: start new autostart containers, stop removed ones, "
      "restart changed ones, update resources live");
  cmd->add_flag("-n,--dry-run", o->dry, "only print what would change and why (as `plan`)");
  cmd->add_option("-j,--jobs", o->jobs,
                  "start or stop at most this many containers at a time (default: twice the CPUs)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([&ctx, o] { ctx.exit_code = do_apply(ctx, o->dry, o->jobs); });
}

void register_plan(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("plan", "print what `apply` would change, and why");
  cmd->callback([&ctx] { ctx.exit_code = do_apply(ctx, true); });
}

void register_boot(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "boot", "start the autostart containers in `after` order, independent ones in parallel");
  auto jobs = std::make_shared<int>(0);
  cmd->add_option("-j,--jobs", *jobs,
                  "start at most this many containers at a time (default: twice the CPUs)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([&ctx, jobs] {
    auto d = load_or_report(ctx);
    if (!d) {
      ctx.exit_code = 1;
      return;
    }
    auto r = manager::boot(ctx.paths(), *d, "/proc/self/exe", *jobs);
    if (!r) std::fprintf(stderr, "berth: boot: %s\n", r.error().message.c_str());
    ctx.exit_code = r ? 0 : 1;
  });
}

}  // namespace berth::cli
