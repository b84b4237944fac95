// berth run NAME -- CMD..., berth logs NAME [-f] [--journal [-n N]].
#include <cstdio>

#include "cli/berth/commands.h"
#include "cli/berth/util.h"
#include "manager/journal.h"
#include "manager/manager.h"

namespace berth::cli {

void register_run(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string name;
    std::vector<std::string> argv;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "run", "run a command inside the running container (stdio and exit status passed through)");
  cmd->add_option("name", o->name, "container name")->required();
  cmd->add_option("command", o->argv, "the command and its arguments (after --)")->required();
  cmd->callback([&ctx, o] {
    auto r = manager::run_in(ctx.paths(), o->name, o->argv);
    if (!r) {
      std::fprintf(stderr, "berth: run %s: %s\n", o->name.c_str(),
                   one_line(r.error().message).c_str());
      ctx.exit_code = 125;
      return;
    }
    ctx.exit_code = *r;
  });
}

void register_logs(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string name;
    bool follow = false, journal = false;
    int lines = 0;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "logs",
      "print the container's log (its console output and berth's notes), or a booted guest's "
      "journal (--journal)");
  cmd->add_option("name", o->name, "container name")->required();
  cmd->add_flag("-f,--follow", o->follow, "keep printing new lines while the container runs");
  auto* journal = cmd->add_flag(
      "--journal", o->journal,
      "the guest's persistent journal (boot = true; its /var/log/journal), with the host's "
      "journalctl");
  cmd->add_option("-n,--lines", o->lines, "with --journal: only the last N entries")
      ->needs(journal)
      ->check(CLI::NonNegativeNumber);
  cmd->callback([&ctx, o, cmd] {
    Result<void> r = ok();
    if (o->journal) {
      manager::JournalOptions jo;
      jo.follow = o->follow;
      if (cmd->count("--lines")) jo.lines = o->lines;
      auto loaded = ctx.load();
      const decl::Container* d = nullptr;
      if (loaded.ok())
        if (auto it = loaded.decls.containers.find(o->name); it != loaded.decls.containers.end())
          d = &it->second;
      r = manager::exec_journal(ctx.paths(), o->name, d, jo);
    } else {
      r = manager::print_logs(ctx.paths(), o->name, o->follow);
    }
    if (!r) {
      std::fprintf(stderr, "berth: logs %s: %s\n", o->name.c_str(),
                   one_line(r.error().message).c_str());
      ctx.exit_code = 1;
      return;
    }
    ctx.exit_code = 0;
  });
}

}  // namespace berth::cli
