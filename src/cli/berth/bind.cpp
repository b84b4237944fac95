// berth bind NAME HOST_PATH [PATH] [--read-only] [--mkdir], berth unbind NAME
// PATH (as machinectl's): a transient bind into a running container.
// manager/bind.h does the mounting.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/berth/commands.h"
#include "cli/berth/util.h"
#include "manager/bind.h"

namespace berth::cli {

namespace {

int report(const char* verb, const std::string& name, const Result<void>& r) {
  if (r) return 0;
  std::fprintf(stderr, "berth: %s %s: %s\n", verb, name.c_str(),
               one_line(r.error().message).c_str());
  return 1;
}

}  // namespace

void register_bind(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string name, host_path, path;
    manager::BindOptions o;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "bind",
      "bind-mount a host file or directory into a running container (nosuid, nodev; transient: "
      "gone at stop or restart; bind_mounts declares lasting ones)");
  cmd->add_option("name", o->name, "container name")->required();
  cmd->add_option("host_path", o->host_path, "the file or directory on the host")->required();
  cmd->add_option("path", o->path, "where in the container (default: HOST_PATH)");
  cmd->add_flag("--read-only", o->o.read_only, "bind it read-only");
  cmd->add_flag("!--no-idmap", o->o.idmap,
                "in a user-namespaced container, bind it as it is: not idmapped to its range "
                "(files appear owned by their on-disk ids mapped through it)");
  cmd->add_flag("--mkdir", o->o.mkdir,
                "create PATH when missing (a directory, or an empty file for a file)");
  cmd->callback([&ctx, o] {
    std::string to = o->path.empty()
                         ? std::filesystem::absolute(o->host_path).lexically_normal().string()
                         : o->path;
    ctx.exit_code =
        report("bind", o->name, manager::bind(ctx.paths(), o->name, o->host_path, to, o->o));
  });
}

void register_unbind(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string name, path;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd =
      app.add_subcommand("unbind", "remove a bind that `berth bind` made from a running container");
  cmd->add_option("name", o->name, "container name")->required();
  cmd->add_option("path", o->path, "the bind's path in the container")->required();
  cmd->callback([&ctx, o] {
    ctx.exit_code = report("unbind", o->name, manager::unbind(ctx.paths(), o->name, o->path));
  });
}

}  // namespace berth::cli
