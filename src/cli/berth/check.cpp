// berth check [FILE...]: validate the declarations and touch nothing.
#include <cstdio>

#include <fmt/format.h>

#include "cli/berth/commands.h"
#include "cli/berth/util.h"
#include "decl/decl.h"

namespace berth::cli {

void register_check(CLI::App& app, Context& ctx) {
  struct Opts {
    std::vector<std::string> files;
    bool no_host = false;
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "check",
      "validate the declarations (ROOT/etc/berth/containers.toml and containers.d/*, or the "
      "FILEs given) without changing anything; prints every error as FILE:LINE: KEY: problem");
  cmd->add_option("files", opts->files, "declaration files (.toml, or .json)")->type_name("FILE");
  cmd->add_flag(
      "--no-host-checks", opts->no_host,
      "check syntax and consistency only, not that paths, bind mount sources and devices exist");
  cmd->callback([&ctx, opts] {
    auto paths = ctx.paths();
    auto r = ctx.load(opts->files, !opts->no_host);
    if (!r.ok()) {
      for (auto& e : r.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
      ctx.exit_code = 1;
      return;
    }
    warn_if_privileged(r.decls);
    size_t n = r.decls.containers.size();
    std::string msg = fmt::format("ok: {} container{} declared", n, n == 1 ? "" : "s");
    if (opts->files.empty() && decl::default_declaration_files(paths).empty())
      msg += fmt::format(" (no declaration files in {})", paths.etc);
    std::printf("%s\n", msg.c_str());
    ctx.exit_code = 0;
  });
}

}  // namespace berth::cli
