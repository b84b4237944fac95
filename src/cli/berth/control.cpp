// berth kill NAME [--signal SIG] [--who init|all], enable NAME, disable NAME
// (as machinectl's): a signal to a running container, and its autostart.
#include <cstdio>
#include <memory>

#include "base/signal.h"
#include "cli/berth/commands.h"
#include "cli/berth/util.h"
#include "manager/created.h"
#include "manager/manager.h"

namespace berth::cli {

namespace {

int set_autostart(Context& ctx, const std::string& name, bool on) {
  const char* verb = on ? "enable" : "disable";
  auto r = manager::set_autostart(ctx.paths(), name, on);
  if (!r) {
    std::fprintf(stderr, "berth: %s %s: %s\n", verb, name.c_str(),
                 one_line(r.error().message).c_str());
    return 1;
  }
  const char* value = on ? "true" : "false";
  if (r->changed)
    std::printf("%sd %s: autostart = %s in %s\n", verb, name.c_str(), value, r->file.c_str());
  else
    std::printf("%s is already %sd (autostart = %s in %s)\n", name.c_str(), verb, value,
                r->file.c_str());
  return 0;
}

}  // namespace

void register_kill(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string name, signal = "SIGTERM", who = "init";
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "kill", "send a signal to a running container's init, or to every process in it");
  cmd->add_option("name", o->name, "container name")->required();
  cmd->add_option("-s,--signal", o->signal,
                  "a name (TERM, SIGTERM, RTMIN+4) or a number; default SIGTERM")
      ->type_name("SIG");
  cmd->add_option("--who", o->who,
                  "init (the default): its PID 1; all: every process in its cgroup")
      ->check(CLI::IsMember({"init", "all"}));
  cmd->callback([&ctx, o] {
    auto sig = parse_signal_name(o->signal);
    if (!sig) {
      std::fprintf(stderr, "berth: kill %s: invalid signal \"%s\"\n", o->name.c_str(),
                   o->signal.c_str());
      ctx.exit_code = 1;
      return;
    }
    auto who = o->who == "all" ? manager::KillWho::All : manager::KillWho::Init;
    auto r = manager::kill(ctx.paths(), o->name, *sig, who);
    if (!r)
      std::fprintf(stderr, "berth: kill %s: %s\n", o->name.c_str(),
                   one_line(r.error().message).c_str());
    ctx.exit_code = r ? 0 : 1;
  });
}

void register_enable(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "enable", "start a container made by `berth create` at `berth boot` (autostart = true)");
  cmd->add_option("name", *name, "container name")->required();
  cmd->callback([&ctx, name] { ctx.exit_code = set_autostart(ctx, *name, true); });
}

void register_disable(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "disable", "no longer start a container made by `berth create` at `berth boot`");
  cmd->add_option("name", *name, "container name")->required();
  cmd->callback([&ctx, name] { ctx.exit_code = set_autostart(ctx, *name, false); });
}

}  // namespace berth::cli
