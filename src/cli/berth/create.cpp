// berth create NAME, destroy NAME, reset-state NAME, generate systemd: the
// imperative containers of containers.d and the host-side helpers.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "base/files.h"
#include "base/unique_fd.h"
#include "cli/berth/commands.h"
#include "cli/berth/util.h"
#include "manager/manager.h"
#include "net/alloc.h"
#include "net/ip.h"

namespace berth::cli {

namespace {

std::string toml_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

struct CreateOpts {
  std::string name, path, host_address, local_address, host_address6, local_address6;
  bool share_host = false, autostart = false, private_network = false, ensure_unique = false;
  std::vector<std::string> ports;  // [tcp:]HOST[:CONTAINER]
  std::string bridge;
  std::vector<std::string> command;
};

Result<std::string> port_toml(const std::string& spec) {
  std::string proto = "tcp", rest = spec;
  if (rest.starts_with("tcp:") || rest.starts_with("udp:")) {
    proto = rest.substr(0, 3);
    rest = rest.substr(4);
  }
  auto colon = rest.find(':');
  try {
    int h = std::stoi(rest.substr(0, colon));
    int c = colon == std::string::npos ? h : std::stoi(rest.substr(colon + 1));
    return fmt::format("{{ protocol = \"{}\", host_port = {}, container_port = {} }}", proto, h, c);
  } catch (const std::exception&) {
    return make_error("bad --port \"{}\": expected [tcp:|udp:]HOST_PORT[:CONTAINER_PORT]", spec);
  }
}

Result<void> do_create(Context& ctx, CreateOpts o) {
  auto paths = ctx.paths();
  TRY(mkdir_p(paths.declarations_dir(), 0755));
  // Serializes address allocation and the check for a free name.
  UniqueFd lk(::open((paths.declarations_dir() + "/.create.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lk || ::flock(lk.get(), LOCK_EX) < 0) return errno_error("lock {}", paths.declarations_dir());
  auto loaded = ctx.load({}, false);
  if (!loaded.ok()) return make_error("the existing declarations are invalid:\n{}", loaded.error_text());
  auto& decls = loaded.decls.containers;
  if (decls.count(o.name)) {
    if (!o.ensure_unique) return make_error("a container named {} is already declared", o.name);
    for (int i = 1;; ++i)
      if (!decls.count(fmt::format("{}-{}", o.name, i))) {
        o.name = fmt::format("{}-{}", o.name, i);
        break;
      }
  }
  if (o.path.empty() && !o.share_host) o.share_host = true;
  bool want_net = o.private_network || !o.host_address.empty() || !o.local_address.empty() || !o.ports.empty();
  if (want_net && o.host_address.empty() && o.local_address.empty()) {
    std::vector<net::IpPrefix> used;
    for (auto& [n, c] : decls)
      for (auto* a : {&c.host_address, &c.local_address, &c.host_address6, &c.local_address6})
        if (*a)
          if (auto p = net::parse_prefix((*a)->str())) used.push_back(*p);
    auto pair = TRY(net::allocate_address_pair(used));
    o.host_address = pair.host4.str();
    o.local_address = pair.local4.str();
  }
  std::string t = fmt::format("# Written by `berth create {}`; `berth destroy {}` removes it.\n[containers.{}]\n",
                              o.name, o.name, toml_str(o.name));
  if (o.share_host) t += "share_host = true\n";
  else t += fmt::format("path = {}\n", toml_str(o.path));
  if (!o.command.empty()) {
    t += "command = [";
    for (size_t i = 0; i < o.command.size(); ++i) t += (i ? ", " : "") + toml_str(o.command[i]);
    t += "]\n";
  } else {
    t += "boot = true\n";
  }
  if (o.autostart) t += "autostart = true\n";
  if (want_net) {
    t += "private_network = true\n";
    if (!o.host_address.empty()) t += fmt::format("host_address = {}\n", toml_str(o.host_address));
    if (!o.local_address.empty()) t += fmt::format("local_address = {}\n", toml_str(o.local_address));
  }
  if (!o.host_address6.empty()) t += fmt::format("host_address6 = {}\n", toml_str(o.host_address6));
  if (!o.local_address6.empty()) t += fmt::format("local_address6 = {}\n", toml_str(o.local_address6));
  if (!o.bridge.empty()) t += fmt::format("host_bridge = {}\n", toml_str(o.bridge));
  if (!o.ports.empty()) {
    t += "forward_ports = [";
    for (size_t i = 0; i < o.ports.size(); ++i) t += (i ? ", " : "") + TRY(port_toml(o.ports[i]));
    t += "]\n";
  }
  std::string file = paths.declarations_dir() + "/" + o.name + ".toml";
  TRY(write_file_atomic(file, t));
  // The whole set must still be valid (addresses unique, paths present).
  auto check = ctx.load();
  if (!check.ok()) {
    ::unlink(file.c_str());
    return make_error("{}", check.error_text());
  }
  std::printf("%s\n", o.name.c_str());
  return ok();
}

Result<void> do_destroy(Context& ctx, const std::string& name) {
  auto paths = ctx.paths();
  auto loaded = ctx.load({}, false);
  if (!loaded.ok()) return make_error("the declarations are invalid:\n{}", loaded.error_text());
  auto it = loaded.decls.containers.find(name);
  if (it == loaded.decls.containers.end()) return make_error("no such container declared");
  const std::string& file = it->second.file;
  if (!file.starts_with(paths.declarations_dir() + "/"))
    return make_error("{} is declared in {}; remove it there (destroy only removes containers made by `berth create`)",
                      name, file);
  TRY(manager::stop(paths, name, false));
  TRY(remove_tree(paths.container_state(name)));
  ::unlink(paths.summary_conf(name).c_str());
  ::unlink(paths.container_log(name).c_str());
  ::unlink((paths.container_log(name) + ".1").c_str());
  if (::unlink(file.c_str()) < 0 && errno != ENOENT) return errno_error("remove {}", file);
  return ok();
}

}  // namespace

void register_create(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<CreateOpts>();
  auto* cmd = app.add_subcommand(
      "create",
      "declare a new container in containers.d/NAME.toml (allocating a free 10.233.N.1/.2 pair "
      "when a private network is asked for without addresses)");
  cmd->add_option("name", o->name, "container name")->required();
  cmd->add_option("command", o->command, "the command it runs (after --); default: boot its /sbin/init");
  auto* p = cmd->add_option("--path", o->path, "a system tree to run")->type_name("TREE");
  auto* s = cmd->add_flag("--share-host", o->share_host, "share the host's read-only /usr & co. (the default)");
  p->excludes(s);
  cmd->add_flag("--private-network", o->private_network, "a veth pair with allocated addresses");
  cmd->add_option("--host-address", o->host_address, "host side of the veth");
  cmd->add_option("--local-address", o->local_address, "container side of the veth");
  cmd->add_option("--host-address6", o->host_address6, "host side, IPv6");
  cmd->add_option("--local-address6", o->local_address6, "container side, IPv6");
  cmd->add_option("--bridge", o->bridge, "host bridge to attach the veth to");
  cmd->add_option("--port", o->ports, "forward [tcp:|udp:]HOST_PORT[:CONTAINER_PORT]");
  cmd->add_flag("--autostart", o->autostart, "start it at `berth boot` and `berth apply`");
  cmd->add_flag("--ensure-unique-name", o->ensure_unique, "pick NAME-1, NAME-2... when NAME is taken");
  cmd->callback([&ctx, o] {
    auto r = do_create(ctx, *o);
    if (!r) std::fprintf(stderr, "berth: create %s: %s\n", o->name.c_str(), r.error().message.c_str());
    ctx.exit_code = r ? 0 : 1;
  });
}

void register_destroy(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "destroy", "stop a container made by `berth create` and remove its state and declaration");
  cmd->add_option("name", *name, "container name")->required();
  cmd->callback([&ctx, name] {
    auto r = do_destroy(ctx, *name);
    if (!r) std::fprintf(stderr, "berth: destroy %s: %s\n", name->c_str(), one_line(r.error().message).c_str());
    ctx.exit_code = r ? 0 : 1;
  });
}

void register_reset_state(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("reset-state", "wipe a stopped container's state directory");
  cmd->add_option("name", *name, "container name")->required();
  cmd->callback([&ctx, name] {
    auto paths = ctx.paths();
    if (manager::is_running(paths, *name)) {
      std::fprintf(stderr, "berth: reset-state %s: it is running; stop it first\n", name->c_str());
      ctx.exit_code = 1;
      return;
    }
    auto r = remove_tree(paths.container_state(*name));
    if (!r) std::fprintf(stderr, "berth: reset-state %s: %s\n", name->c_str(), r.error().message.c_str());
    ctx.exit_code = r ? 0 : 1;
  });
}

void register_generate(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string what, dir;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "generate", "write host integration files: `generate systemd` writes berth-container@.service");
  cmd->add_option("what", o->what, "systemd")->required()->check(CLI::IsMember({"systemd"}));
  cmd->add_option("--dir", o->dir, "where to write it (default ROOT/etc/systemd/system)");
  cmd->callback([&ctx, o] {
    auto paths = ctx.paths();
    std::string dir = o->dir;
    if (dir.empty()) {
      std::string r = paths.root;
      while (r.size() > 1 && r.back() == '/') r.pop_back();
      dir = (r == "/" ? "" : r) + "/etc/systemd/system";
    }
    char exe[4096];
    ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    std::string self = n > 0 ? std::string(exe, static_cast<size_t>(n)) : "/usr/bin/berth";
    std::string root = decl::resolve_root(ctx.root_option);
    std::string file = dir + "/berth-container@.service";
    auto r = mkdir_p(dir, 0755);
    if (r) r = write_file_atomic(file, manager::systemd_unit_text(self, root));
    if (!r) {
      std::fprintf(stderr, "berth: generate systemd: %s\n", r.error().message.c_str());
      ctx.exit_code = 1;
      return;
    }
    std::printf("%s\n", file.c_str());
    ctx.exit_code = 0;
  });
}

}  // namespace berth::cli
