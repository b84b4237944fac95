// berth create NAME, destroy NAME, reset-state NAME, generate systemd: the
// imperative containers of containers.d and the host-side helpers. Parsing
// and printing only; manager/created.h decides.
#include <cstdio>

#include "cli/berth/commands.h"
#include "cli/berth/util.h"
#include "manager/created.h"
#include "manager/manager.h"

namespace berth::cli {

namespace {

// One line on stderr for a failed verb; the exit code.
int report(const char* verb, const std::string& name, const Result<void>& r) {
  if (!r)
    std::fprintf(stderr, "berth: %s %s: %s\n", verb, name.c_str(),
                 one_line(r.error().message).c_str());
  return r ? 0 : 1;
}

// What create says: the addresses it picked (stderr, as nixos-container
// does) and the name (stdout, for --ensure-unique-name).
void print_created(const manager::Created& made) {
  const decl::Container& c = made.declared;
  if (c.host_address && c.local_address)
    std::fprintf(stderr, "host IP is %s, container IP is %s\n", c.host_address->address.c_str(),
                 c.local_address->address.c_str());
  if (c.host_address6 && c.local_address6)
    std::fprintf(stderr, "host IPv6 is %s, container IPv6 is %s\n",
                 c.host_address6->address.c_str(), c.local_address6->address.c_str());
  std::printf("%s\n", made.name.c_str());
}

}  // namespace

void register_create(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<manager::CreateRequest>();
  auto* cmd = app.add_subcommand(
      "create",
      "declare a new container in containers.d/NAME.toml (allocating the first free 10.233.N.1/.2 "
      "and fd62:6572:7468:N::1/::2 pairs when a private network is asked for without addresses)");
  cmd->add_option("name", o->name, "container name")->required();
  cmd->add_option("command", o->command,
                  "the command it runs (after --); default: boot its /sbin/init");
  auto* p = cmd->add_option("--path", o->path, "a system tree to run")->type_name("TREE");
  auto* s = cmd->add_flag("--share-host", o->share_host,
                          "share the host's read-only /usr & co. (the default)");
  auto* i = cmd->add_option("--image", o->image, "an image of the store (berth image list)")
                ->type_name("IMAGE");
  p->excludes(s);
  i->excludes(p);
  i->excludes(s);
  cmd->add_flag("--private-network", o->private_network, "a veth pair with allocated addresses");
  cmd->add_option("--host-address", o->host_address, "host side of the veth");
  cmd->add_option("--local-address", o->local_address, "container side of the veth");
  cmd->add_option("--host-address6", o->host_address6, "host side, IPv6");
  cmd->add_option("--local-address6", o->local_address6, "container side, IPv6");
  cmd->add_option("--bridge", o->bridge, "host bridge to attach the veth to");
  cmd->add_option("--port", o->ports, "forward [tcp:|udp:]HOST_PORT[:CONTAINER_PORT]");
  cmd->add_flag("--autostart", o->autostart, "start it at `berth boot` and `berth apply`");
  cmd->add_option("--private-users", o->private_users,
                  "its user namespace: pick (a free 65536-id range, the default), no (root "
                  "in it is the host's), or a base uid")
      ->type_name("pick|no|BASE")
      ->check(CLI::IsMember({"pick", "no"}) | CLI::NonNegativeNumber);
  cmd->add_flag("--ensure-unique-name", o->ensure_unique,
                "pick NAME-1, NAME-2... when NAME is taken");
  cmd->add_option("--config-file", o->config_file,
                  "the container's settings (TOML, or JSON when named *.json), as under "
                  "[containers.NAME]; the other options override them")
      ->type_name("FILE");
  cmd->callback([&ctx, o] {
    auto made = manager::create(ctx.paths(), *o);
    if (made) print_created(*made);
    // Several lines when the declarations it would make are invalid.
    if (!made)
      std::fprintf(stderr, "berth: create %s: %s\n", o->name.c_str(), made.error().message.c_str());
    ctx.exit_code = made ? 0 : 1;
  });
}

void register_destroy(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "destroy", "stop a container made by `berth create` and remove its state and declaration");
  cmd->add_option("name", *name, "container name")->required();
  cmd->callback([&ctx, name] {
    ctx.exit_code = report("destroy", *name, manager::destroy(ctx.paths(), *name));
  });
}

void register_reset_state(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("reset-state", "wipe a stopped container's state directory");
  cmd->add_option("name", *name, "container name")->required();
  cmd->callback([&ctx, name] {
    ctx.exit_code = report("reset-state", *name, manager::reset_state(ctx.paths(), *name));
  });
}

void register_generate(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string what, dir;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "generate",
      "write host integration files: `generate systemd` writes berth-container@.service");
  cmd->add_option("what", o->what, "systemd")->required()->check(CLI::IsMember({"systemd"}));
  cmd->add_option("--dir", o->dir, "where to write it (default ROOT/etc/systemd/system)");
  cmd->callback([&ctx, o] {
    auto file = manager::write_systemd_unit(decl::resolve_root(ctx.root_option), o->dir);
    if (file) std::printf("%s\n", file->c_str());
    ctx.exit_code = report("generate", o->what, file ? ok() : Result<void>(file.error()));
  });
}

}  // namespace berth::cli
