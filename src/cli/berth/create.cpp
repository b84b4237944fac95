// berth create NAME, destroy NAME, reset-state NAME, generate systemd: the
// imperative containers of containers.d and the host-side helpers.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include <fmt/format.h>

#include "base/files.h"
#include "base/parse.h"
#include "base/unique_fd.h"
#include "cli/berth/commands.h"
#include "cli/berth/created.h"
#include "cli/berth/util.h"
#include "decl/tree.h"
#include "decl/util.h"
#include "manager/manager.h"
#include "net/alloc.h"
#include "net/ip.h"

namespace berth::cli {

namespace {

struct CreateOpts {
  std::string name, path, host_address, local_address, host_address6, local_address6, config_file;
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
  auto h = parse_int<int>(rest.substr(0, colon));
  auto c = colon == std::string::npos ? h : parse_int<int>(rest.substr(colon + 1));
  // The range is the declaration's to check (one message for both paths).
  if (!h || !c)
    return make_error("bad --port \"{}\": expected [tcp:|udp:]HOST_PORT[:CONTAINER_PORT]", spec);
  return fmt::format("{{ protocol = \"{}\", host_port = {}, container_port = {} }}", proto, *h, *c);
}

// A TOML basic string, control characters escaped.
std::string toml_string(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
      case '\\':
        o += '\\';
        o += static_cast<char>(c);
        break;
      case '\n':
        o += "\\n";
        break;
      case '\t':
        o += "\\t";
        break;
      case '\r':
        o += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f)
          o += fmt::format("\\u{:04x}", c);
        else
          o += static_cast<char>(c);
    }
  }
  return o + "\"";
}

std::string toml_key(const std::string& k) {
  bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  return bare ? k : toml_string(k);
}

// A value of the --config-file (TOML or JSON) as one line of TOML.
Result<std::string> toml_value(const decl::Node& n, const std::string& key) {
  using K = decl::Node::Kind;
  switch (n.kind) {
    case K::String:
      return toml_string(n.text);
    case K::Integer:
      return std::to_string(n.integer);
    case K::Float: {
      std::string f = fmt::format("{}", n.real);
      if (f.find_first_of(".eEn") == std::string::npos) f += ".0";
      return f;
    }
    case K::Bool:
      return std::string(n.boolean ? "true" : "false");
    case K::Array: {
      std::string o = "[";
      for (size_t i = 0; i < n.array.size(); ++i)
        o += (i ? ", " : "") + TRY(toml_value(n.array[i], fmt::format("{}[{}]", key, i)));
      return o + "]";
    }
    case K::Table: {
      std::string o = "{ ";
      for (size_t i = 0; i < n.table.size(); ++i)
        o += (i ? ", " : "") + toml_key(n.table[i].first) + " = " +
             TRY(toml_value(n.table[i].second, decl::join_key(key, n.table[i].first)));
      return o + " }";
    }
    case K::Other:
      break;
  }
  return make_error("line {}: {}: {} is not a value berth accepts", n.line, key,
                    n.text.empty() ? "this" : n.text);
}

// The settings of --config-file F, in file order, as (key, TOML value).
Result<std::vector<std::pair<std::string, std::string>>> config_file_settings(
    const std::string& file) {
  auto text = TRY_CTX(read_file(file), "--config-file");
  decl::Node root;
  decl::SyntaxError err;
  bool parsed = file.ends_with(".json") ? decl::json_to_tree(text, root, err)
                                        : decl::toml_to_tree(text, file, root, err);
  if (!parsed) return make_error("{}:{}: {}", file, err.line, err.message);
  if (root.kind != decl::Node::Kind::Table)
    return make_error("{}: expected a table of settings", file);
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [k, v] : root.table) {
    if (k == "containers")
      return make_error(
          "{}:{}: expected the settings of one container (command = ..., ...), not a "
          "[containers.NAME] table",
          file, v.line);
    auto val = toml_value(v, k);
    if (!val) return make_error("{}:{}", file, val.error().message);
    out.emplace_back(k, *val);
  }
  return out;
}

void set_key(std::vector<std::pair<std::string, std::string>>& kv, const std::string& key,
             std::string value) {
  for (auto& [k, v] : kv)
    if (k == key) {
      v = std::move(value);
      return;
    }
  kv.emplace_back(key, std::move(value));
}

bool has_key(const std::vector<std::pair<std::string, std::string>>& kv, const std::string& key) {
  return std::any_of(kv.begin(), kv.end(), [&](auto& p) { return p.first == key; });
}

std::string render(const std::string& name,
                   const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string t = fmt::format(
      "# Written by `berth create {}`; `berth destroy {}` removes it.\n[containers.{}]\n", name,
      name, toml_string(name));
  for (auto& [k, v] : kv) t += toml_key(k) + " = " + v + "\n";
  return t;
}

// Every address of a container, with the key it is declared under.
std::vector<std::pair<std::string, const decl::Cidr*>> addresses_of(const decl::Container& c) {
  std::vector<std::pair<std::string, const decl::Cidr*>> out;
  auto add = [&](const std::string& k, const std::optional<decl::Cidr>& a) {
    if (a) out.emplace_back(k, &*a);
  };
  add("host_address", c.host_address);
  add("local_address", c.local_address);
  add("host_address6", c.host_address6);
  add("local_address6", c.local_address6);
  for (auto& [n, v] : c.extra_veths) {
    add("extra_veths." + n + ".host_address", v.host_address);
    add("extra_veths." + n + ".local_address", v.local_address);
    add("extra_veths." + n + ".host_address6", v.host_address6);
    add("extra_veths." + n + ".local_address6", v.local_address6);
  }
  return out;
}

// A new container's addresses against every other one's. Host addresses may
// be shared (one host address for all routed veths is a common setup); any
// other equality would route one container's traffic to another.
Result<void> check_collisions(const decl::Container& mine,
                              const std::map<std::string, decl::Container>& others) {
  auto is_host = [](const std::string& k) { return k.find("host_address") != std::string::npos; };
  for (auto& [mk, ma] : addresses_of(mine))
    for (auto& [n, c] : others)
      for (auto& [ok, oa] : addresses_of(c))
        if (ma->address == oa->address && !(is_host(mk) && is_host(ok)))
          return make_error("{} {} is already used by container {} ({} in {}:{})", mk, ma->address,
                            n, ok, c.file, c.line_of(ok));
  return ok();
}

Result<void> do_create(Context& ctx, CreateOpts o) {
  auto paths = ctx.paths();
  std::vector<std::pair<std::string, std::string>> kv;
  if (!o.config_file.empty()) kv = TRY(config_file_settings(o.config_file));
  TRY(mkdir_p(paths.declarations_dir(), 0755));
  // Serializes address allocation and the check for a free name.
  UniqueFd lk(::open((paths.declarations_dir() + "/.create.lock").c_str(),
                     O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lk || ::flock(lk.get(), LOCK_EX) < 0)
    return errno_error("lock {}", paths.declarations_dir());
  auto loaded = ctx.load({}, false);
  if (!loaded.ok())
    return make_error("the existing declarations are invalid:\n{}", loaded.error_text());
  auto& decls = loaded.decls.containers;
  auto taken = [&](const std::string& n) {
    return decls.count(n) > 0 || manager::is_running(paths, n);
  };
  if (taken(o.name)) {
    if (!o.ensure_unique) return make_error("a container named {} is already declared", o.name);
    for (int i = 1;; ++i)
      if (!taken(fmt::format("{}-{}", o.name, i))) {
        o.name = fmt::format("{}-{}", o.name, i);
        break;
      }
  }

  // Options given on the command line win over the config file's.
  auto has = [&](const std::string& key) { return has_key(kv, key); };
  if (!o.path.empty()) {
    set_key(kv, "path", toml_string(o.path));
    std::erase_if(kv, [](auto& p) { return p.first == "share_host"; });
  } else if (o.share_host || (!has("path") && !has("share_host"))) {
    set_key(kv, "share_host", "true");
    std::erase_if(kv, [](auto& p) { return p.first == "path"; });
  }
  if (!o.command.empty()) {
    std::string a = "[";
    for (size_t i = 0; i < o.command.size(); ++i) a += (i ? ", " : "") + toml_string(o.command[i]);
    set_key(kv, "command", a + "]");
    std::erase_if(kv, [](auto& p) { return p.first == "boot"; });
  } else if (!has("command") && !has("boot")) {
    set_key(kv, "boot", "true");
  }
  if (o.autostart) set_key(kv, "autostart", "true");
  using Flag = std::pair<const std::string*, const char*>;
  for (auto [flag, key] :
       {Flag{&o.host_address, "host_address"}, Flag{&o.local_address, "local_address"},
        Flag{&o.host_address6, "host_address6"}, Flag{&o.local_address6, "local_address6"}})
    if (!flag->empty()) set_key(kv, key, toml_string(*flag));
  if (!o.bridge.empty()) set_key(kv, "host_bridge", toml_string(o.bridge));
  if (!o.ports.empty()) {
    std::string a = "[";
    for (size_t i = 0; i < o.ports.size(); ++i) a += (i ? ", " : "") + TRY(port_toml(o.ports[i]));
    set_key(kv, "forward_ports", a + "]");
  }
  if (o.private_network || !o.host_address.empty() || !o.local_address.empty() ||
      !o.host_address6.empty() || !o.local_address6.empty() || !o.ports.empty())
    set_key(kv, "private_network", "true");

  std::string file = paths.declarations_dir() + "/" + o.name + ".toml";
  auto parse = [&]() -> Result<decl::Container> {
    decl::Declarations d;
    std::vector<decl::Diagnostic> errors;
    decl::parse_text(render(o.name, kv), file, d, errors);
    if (!errors.empty()) {
      std::string msg;
      for (auto& e : errors) msg += (msg.empty() ? "" : "\n") + e.str();
      return make_error("{}", msg);
    }
    return d.containers.at(o.name);
  };
  decl::Container mine = TRY(parse());
  auto pair_given = [](const std::optional<decl::Cidr>& h, const std::optional<decl::Cidr>& l,
                       const char* what) -> Result<bool> {
    if (h.has_value() != l.has_value())
      return make_error(
          "give both the host and the local {} address, or neither to allocate a pair", what);
    return h.has_value();
  };
  bool v4 = TRY(pair_given(mine.host_address, mine.local_address, "IPv4"));
  bool v6 = TRY(pair_given(mine.host_address6, mine.local_address6, "IPv6"));
  TRY(check_collisions(mine, decls));
  if (mine.private_network && !v4 && !v6 && mine.host_bridge.empty()) {
    std::vector<net::IpPrefix> used;
    for (auto& [n, c] : decls)
      for (auto& [k, a] : addresses_of(c))
        if (auto p = net::parse_prefix(a->str())) used.push_back(*p);
    auto pair = TRY(net::allocate_address_pair(used));
    set_key(kv, "host_address", toml_string(pair.host4.str()));
    set_key(kv, "local_address", toml_string(pair.local4.str()));
    set_key(kv, "host_address6", toml_string(pair.host6.str()));
    set_key(kv, "local_address6", toml_string(pair.local6.str()));
    mine = TRY(parse());
  }
  TRY(write_file_atomic(file, render(o.name, kv)));
  // The whole set must still be valid (addresses unique, paths present).
  auto check = ctx.load();
  if (!check.ok()) {
    ::unlink(file.c_str());
    return make_error("{}", check.error_text());
  }
  if (mine.host_address && mine.local_address)
    std::fprintf(stderr, "host IP is %s, container IP is %s\n", mine.host_address->address.c_str(),
                 mine.local_address->address.c_str());
  if (mine.host_address6 && mine.local_address6)
    std::fprintf(stderr, "host IPv6 is %s, container IPv6 is %s\n",
                 mine.host_address6->address.c_str(), mine.local_address6->address.c_str());
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
    return make_error(
        "{} is declared in {}; remove it there (destroy only removes containers made by `berth "
        "create`)",
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

Result<void> replace_created_settings(Context& ctx, const std::string& name,
                                      const std::string& config_file) {
  auto paths = ctx.paths();
  auto kv = TRY(config_file_settings(config_file));
  UniqueFd lk(::open((paths.declarations_dir() + "/.create.lock").c_str(),
                     O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lk || ::flock(lk.get(), LOCK_EX) < 0)
    return errno_error("lock {}", paths.declarations_dir());
  auto loaded = ctx.load({}, false);
  if (!loaded.ok()) return make_error("the declarations are invalid:\n{}", loaded.error_text());
  auto it = loaded.decls.containers.find(name);
  if (it == loaded.decls.containers.end()) return make_error("no such container declared");
  std::string file = paths.declarations_dir() + "/" + name + ".toml";
  const decl::Container& old = it->second;
  if (old.file != file)
    return make_error(
        "{} is declared in {}; edit it there (--config-file only rewrites containers made by "
        "`berth create`)",
        name, old.file);
  // What `create` allocated or was told stays unless the file says otherwise.
  auto keep = [&](const char* key, const std::string& value) {
    if (!has_key(kv, key)) set_key(kv, key, value);
  };
  if (!has_key(kv, "path") && !has_key(kv, "share_host")) {
    if (old.share_host)
      keep("share_host", "true");
    else
      keep("path", toml_string(old.path));
  }
  if (!has_key(kv, "command") && !has_key(kv, "boot")) {
    if (old.boot) {
      keep("boot", "true");
    } else {
      std::string a = "[";
      for (size_t i = 0; i < old.command.size(); ++i)
        a += (i ? ", " : "") + toml_string(old.command[i]);
      keep("command", a + "]");
    }
  }
  if (old.autostart) keep("autostart", "true");
  if (old.private_network) keep("private_network", "true");
  for (auto& [key, a] : addresses_of(old))
    if (key.find('.') == std::string::npos) keep(key.c_str(), toml_string(a->str()));
  if (!old.host_bridge.empty()) keep("host_bridge", toml_string(old.host_bridge));
  if (!old.forward_ports.empty()) {
    std::string a = "[";
    for (size_t i = 0; i < old.forward_ports.size(); ++i) {
      auto& f = old.forward_ports[i];
      a += fmt::format("{}{{ protocol = \"{}\", host_port = {}, container_port = {} }}",
                       i ? ", " : "", f.protocol, f.host_port, f.container_port);
    }
    keep("forward_ports", a + "]");
  }
  auto before = TRY(read_file(file));
  TRY(write_file_atomic(file, render(name, kv)));
  auto check = ctx.load();
  if (!check.ok()) {
    (void)write_file_atomic(file, before);
    return make_error("{}", check.error_text());
  }
  return ok();
}

void register_create(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<CreateOpts>();
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
  p->excludes(s);
  cmd->add_flag("--private-network", o->private_network, "a veth pair with allocated addresses");
  cmd->add_option("--host-address", o->host_address, "host side of the veth");
  cmd->add_option("--local-address", o->local_address, "container side of the veth");
  cmd->add_option("--host-address6", o->host_address6, "host side, IPv6");
  cmd->add_option("--local-address6", o->local_address6, "container side, IPv6");
  cmd->add_option("--bridge", o->bridge, "host bridge to attach the veth to");
  cmd->add_option("--port", o->ports, "forward [tcp:|udp:]HOST_PORT[:CONTAINER_PORT]");
  cmd->add_flag("--autostart", o->autostart, "start it at `berth boot` and `berth apply`");
  cmd->add_flag("--ensure-unique-name", o->ensure_unique,
                "pick NAME-1, NAME-2... when NAME is taken");
  cmd->add_option("--config-file", o->config_file,
                  "the container's settings (TOML, or JSON when named *.json), as under "
                  "[containers.NAME]; the other options override them")
      ->type_name("FILE");
  cmd->callback([&ctx, o] {
    auto r = do_create(ctx, *o);
    if (!r)
      std::fprintf(stderr, "berth: create %s: %s\n", o->name.c_str(), r.error().message.c_str());
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
    if (!r)
      std::fprintf(stderr, "berth: destroy %s: %s\n", name->c_str(),
                   one_line(r.error().message).c_str());
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
    if (!r)
      std::fprintf(stderr, "berth: reset-state %s: %s\n", name->c_str(), r.error().message.c_str());
    ctx.exit_code = r ? 0 : 1;
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
