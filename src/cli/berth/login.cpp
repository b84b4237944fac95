// berth login NAME, berth root-login NAME, berth shell NAME [USER],
// berth show-host-key NAME.
#include <cstdio>

#include "cli/berth/commands.h"
#include "cli/berth/util.h"
#include "manager/console.h"
#include "manager/shell.h"

namespace berth::cli {

void register_login(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "login",
      "attach to the console of a running boot container (its getty's login prompt); "
      "^] three times within 1s detaches and leaves it running");
  cmd->add_option("name", *name, "container name")->required();
  cmd->callback([&ctx, name] {
    auto r = manager::login(ctx.paths(), *name);
    if (!r) {
      std::fprintf(stderr, "berth: login %s: %s\n", name->c_str(),
                   one_line(r.error().message).c_str());
      ctx.exit_code = 1;
      return;
    }
    ctx.exit_code = *r;
  });
}

namespace {

void run_shell(Context& ctx, const char* verb, const std::string& name, const std::string& user) {
  auto r = manager::shell(ctx.paths(), name, user);
  if (!r) {
    std::fprintf(stderr, "berth: %s %s: %s\n", verb, name.c_str(),
                 one_line(r.error().message).c_str());
    ctx.exit_code = 125;  // as `run`: berth's own failure, not the shell's
    return;
  }
  ctx.exit_code = *r;
}

}  // namespace

void register_root_login(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "root-login",
      "a root login shell inside the running container, on a terminal of its own (no password)");
  cmd->add_option("name", *name, "container name")->required();
  cmd->callback([&ctx, name] { run_shell(ctx, "root-login", *name, ""); });
}

void register_shell(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string name, user;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "shell",
      "a login shell of USER (default root, from the container's /etc/passwd) inside the running "
      "container, on a terminal of its own; its exit status is passed back");
  cmd->add_option("name", o->name, "container name")->required();
  cmd->add_option("user", o->user, "user name in the container (default root)");
  cmd->callback([&ctx, o] { run_shell(ctx, "shell", o->name, o->user); });
}

void register_show_host_key(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "show-host-key", "print the container's SSH host public key (ed25519, else ecdsa, else rsa)");
  cmd->add_option("name", *name, "container name")->required();
  cmd->callback([&ctx, name] {
    auto loaded = ctx.load();
    const decl::Container* d = nullptr;
    if (auto it = loaded.decls.containers.find(*name); it != loaded.decls.containers.end())
      d = &it->second;
    auto r = manager::host_key(ctx.paths(), *name, d);
    if (!r) {
      std::fprintf(stderr, "berth: show-host-key %s: %s\n", name->c_str(),
                   one_line(r.error().message).c_str());
      ctx.exit_code = 1;
      return;
    }
    std::fwrite(r->data(), 1, r->size(), stdout);
    ctx.exit_code = 0;
  });
}

}  // namespace berth::cli
