// Containers made by `berth create` (see created.h).
#include "manager/created.h"
#include "manager/declarations_internal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>

#include <fmt/format.h>

#include "base/files.h"
#include "base/parse.h"
#include "base/unique_fd.h"
#include "decl/render.h"
#include "decl/util.h"
#include "image/image.h"
#include "manager/manager.h"
#include "manager/runtime.h"
#include "manager/snapshot.h"
#include "net/alloc.h"
#include "net/ip.h"

namespace berth::manager {

// Shared with move.cpp (declarations_internal.h).
namespace detail {

using decl::KeyValues;
using decl::toml_string;

decl::LoadResult load_declarations(const decl::Paths& paths, bool check_host) {
  decl::LoadOptions o;
  o.check_host = check_host;
  o.images_dir = paths.images();
  o.rootless = ::geteuid() != 0;
  return decl::load_files(decl::default_declaration_files(paths), o);
}

// Serializes address allocation, the check for a free name and rewrites of
// containers.d files. Held until the returned fd is closed.
Result<UniqueFd> lock_declarations(const decl::Paths& paths) {
  TRY(mkdir_p(paths.declarations_dir(), 0755));
  UniqueFd lk(::open((paths.declarations_dir() + "/.create.lock").c_str(),
                     O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lk || ::flock(lk.get(), LOCK_EX) < 0)
    return errno_error("lock {}", paths.declarations_dir());
  return lk;
}

// One forward_ports entry.
std::string port_entry(const std::string& proto, int host_port, int container_port) {
  return fmt::format("{{ protocol = \"{}\", host_port = {}, container_port = {} }}", proto,
                     host_port, container_port);
}

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
  return port_entry(proto, *h, *c);
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

// NAME, or with ensure_unique the first free NAME-N.
Result<std::string> free_name(const decl::Paths& paths, const decl::Declarations& decls,
                              const std::string& name, bool ensure_unique) {
  auto taken = [&](const std::string& n) {
    return decls.containers.count(n) > 0 || is_running(paths, n);
  };
  if (!taken(name)) return name;
  if (!ensure_unique) return make_error("a container named {} is already declared", name);
  for (int i = 1;; ++i)
    if (auto n = fmt::format("{}-{}", name, i); !taken(n)) return n;
}

// The request's options over the config file's settings.
Result<void> apply_request(const CreateRequest& o, KeyValues& kv) {
  auto has = [&](const std::string& key) { return decl::has_key(kv, key); };
  // One of path, image and share_host: the request's, else the file's, else share_host.
  auto root = [&](const char* key, const std::string& value) {
    for (const char* k : {"path", "image", "share_host"})
      if (std::string_view(k) != key) decl::erase_key(kv, k);
    decl::set_key(kv, key, value);
  };
  if (!o.path.empty())
    root("path", toml_string(o.path));
  else if (!o.image.empty())
    root("image", toml_string(o.image));
  else if (o.share_host || (!has("path") && !has("image") && !has("share_host")))
    root("share_host", "true");
  if (!o.command.empty()) {
    decl::set_key(kv, "command", decl::toml_string_array(o.command));
    decl::erase_key(kv, "boot");
  } else if (!has("command") && !has("boot")) {
    decl::set_key(kv, "boot", "true");
  }
  if (o.autostart) decl::set_key(kv, "autostart", "true");
  // User-namespaced unless told otherwise (README: "Unprivileged containers").
  if (o.private_users == "no" || o.private_users == "pick")
    decl::set_key(kv, "private_users", toml_string(o.private_users));
  else if (!o.private_users.empty())
    decl::set_key(kv, "private_users", o.private_users);  // a base uid, checked by the parser
  else if (!has("private_users"))
    decl::set_key(kv, "private_users", toml_string("pick"));
  using Flag = std::pair<const std::string*, const char*>;
  for (auto [flag, key] :
       {Flag{&o.host_address, "host_address"}, Flag{&o.local_address, "local_address"},
        Flag{&o.host_address6, "host_address6"}, Flag{&o.local_address6, "local_address6"}})
    if (!flag->empty()) decl::set_key(kv, key, toml_string(*flag));
  if (!o.bridge.empty()) decl::set_key(kv, "host_bridge", toml_string(o.bridge));
  if (!o.ports.empty()) {
    std::string a = "[";
    for (size_t i = 0; i < o.ports.size(); ++i) a += (i ? ", " : "") + TRY(port_toml(o.ports[i]));
    decl::set_key(kv, "forward_ports", a + "]");
  }
  if (o.private_network || !o.host_address.empty() || !o.local_address.empty() ||
      !o.host_address6.empty() || !o.local_address6.empty() || !o.ports.empty())
    decl::set_key(kv, "private_network", "true");
  return ok();
}

// The one container of kv, parsed as containers.d/NAME.toml would be.
Result<decl::Container> parse_one(const std::string& name, const KeyValues& kv,
                                  const std::string& file) {
  decl::Declarations d;
  std::vector<decl::Diagnostic> errors;
  decl::parse_text(decl::render_container(name, kv), file, d, errors);
  if (!errors.empty()) {
    std::string msg;
    for (auto& e : errors) msg += (msg.empty() ? "" : "\n") + e.str();
    return make_error("{}", msg);
  }
  return d.containers.at(name);
}

// Host and local address of one family: both, or neither (allocated).
Result<bool> pair_given(const std::optional<decl::Cidr>& h, const std::optional<decl::Cidr>& l,
                        const char* what) {
  if (h.has_value() != l.has_value())
    return make_error("give both the host and the local {} address, or neither to allocate a pair",
                      what);
  return h.has_value();
}

// The first free v4 and v6 pairs, into kv.
Result<void> allocate_addresses(const decl::Declarations& decls, KeyValues& kv) {
  std::vector<net::IpPrefix> used;
  for (auto& [n, c] : decls.containers)
    for (auto& [k, a] : addresses_of(c))
      if (auto p = net::parse_prefix(a->str())) used.push_back(*p);
  auto pair = TRY(net::allocate_address_pair(used));
  decl::set_key(kv, "host_address", toml_string(pair.host4.str()));
  decl::set_key(kv, "local_address", toml_string(pair.local4.str()));
  decl::set_key(kv, "host_address6", toml_string(pair.host6.str()));
  decl::set_key(kv, "local_address6", toml_string(pair.local6.str()));
  return ok();
}

// Writes file; removes it again (or puts `before` back) when the whole set
// of declarations is then invalid.
Result<void> write_checked(const decl::Paths& paths, const std::string& file,
                           const std::string& text, const std::optional<std::string>& before) {
  TRY(write_file_atomic(file, text));
  auto check = load_declarations(paths, true);
  if (check.ok()) return ok();
  if (before)
    (void)write_file_atomic(file, *before);
  else
    ::unlink(file.c_str());
  return make_error("{}", check.error_text());
}

// The containers.d file of a created container, or why name is not one.
Result<const decl::Container*> created_container(const decl::Paths& paths,
                                                 const decl::Declarations& decls,
                                                 const std::string& name, const char* refusal) {
  auto it = decls.containers.find(name);
  if (it == decls.containers.end()) return make_error("no such container declared");
  if (it->second.file != paths.declarations_dir() + "/" + name + ".toml")
    return make_error("{} is declared in {}; {}", name, it->second.file, refusal);
  return &it->second;
}

}  // namespace detail

using namespace detail;

Result<Created> create(const decl::Paths& paths, CreateRequest req) {
  KeyValues kv;
  if (!req.config_file.empty()) kv = TRY(decl::settings_file(req.config_file));
  auto lock = TRY(lock_declarations(paths));
  auto loaded = load_declarations(paths, false);
  if (!loaded.ok())
    return make_error("the existing declarations are invalid:\n{}", loaded.error_text());
  const auto& decls = loaded.decls;
  std::string name = TRY(free_name(paths, decls, req.name, req.ensure_unique));
  TRY(apply_request(req, kv));
  std::string file = paths.declarations_dir() + "/" + name + ".toml";
  decl::Container mine = TRY(parse_one(name, kv, file));
  bool v4 = TRY(pair_given(mine.host_address, mine.local_address, "IPv4"));
  bool v6 = TRY(pair_given(mine.host_address6, mine.local_address6, "IPv6"));
  TRY(check_collisions(mine, decls.containers));
  if (mine.private_network && !v4 && !v6 && mine.host_bridge.empty()) {
    TRY(allocate_addresses(decls, kv));
    mine = TRY(parse_one(name, kv, file));
  }
  // The whole set must still be valid (addresses unique, paths present).
  TRY(write_checked(paths, file, decl::render_container(name, kv), std::nullopt));
  return Created{name, std::move(mine)};
}

Result<void> destroy(const decl::Paths& paths, const std::string& name) {
  auto loaded = load_declarations(paths, false);
  if (!loaded.ok()) return make_error("the declarations are invalid:\n{}", loaded.error_text());
  auto it = loaded.decls.containers.find(name);
  if (it == loaded.decls.containers.end()) return make_error("no such container declared");
  const std::string& file = it->second.file;
  if (!file.starts_with(paths.declarations_dir() + "/"))
    return make_error(
        "{} is declared in {}; remove it there (destroy only removes containers made by `berth "
        "create`)",
        name, file);
  TRY(stop(paths, name, false));
  TRY(remove_tree(paths.container_state(name)));
  TRY(remove_tree(snapshots_dir(paths, name)));
  ::unlink(paths.summary_conf(name).c_str());
  ::unlink(paths.container_log(name).c_str());
  ::unlink((paths.container_log(name) + ".1").c_str());
  if (::unlink(file.c_str()) < 0 && errno != ENOENT) return errno_error("remove {}", file);
  return ok();
}

Result<void> replace_created_settings(const decl::Paths& paths, const std::string& name,
                                      const std::string& config_file) {
  auto kv = TRY(decl::settings_file(config_file));
  auto lock = TRY(lock_declarations(paths));
  auto loaded = load_declarations(paths, false);
  if (!loaded.ok()) return make_error("the declarations are invalid:\n{}", loaded.error_text());
  const decl::Container& old = *TRY(created_container(
      paths, loaded.decls, name,
      "edit it there (--config-file only rewrites containers made by `berth create`)"));
  // What `create` allocated or was told stays unless the file says otherwise.
  auto keep = [&](const std::string& key, const std::string& value) {
    if (!decl::has_key(kv, key)) decl::set_key(kv, key, value);
  };
  if (!decl::has_key(kv, "path") && !decl::has_key(kv, "image") && !decl::has_key(kv, "share_host"))
    keep(old.share_host       ? "share_host"
         : !old.image.empty() ? "image"
                              : "path",
         old.share_host       ? "true"
         : !old.image.empty() ? toml_string(old.image)
                              : toml_string(old.path));
  if (!decl::has_key(kv, "command") && !decl::has_key(kv, "boot") &&
      (old.boot || !old.command.empty()))
    keep(old.boot ? "boot" : "command", old.boot ? "true" : decl::toml_string_array(old.command));
  if (old.autostart) keep("autostart", "true");
  if (old.key_lines.count("private_users")) {
    auto& pu = old.private_users;
    keep("private_users",
         pu.mode == decl::PrivateUsers::Mode::Base ? pu.text() : toml_string(pu.text()));
  }
  if (old.private_network) keep("private_network", "true");
  for (auto& [key, a] : addresses_of(old))
    if (key.find('.') == std::string::npos) keep(key, toml_string(a->str()));
  if (!old.host_bridge.empty()) keep("host_bridge", toml_string(old.host_bridge));
  if (!old.forward_ports.empty()) {
    std::string a = "[";
    for (size_t i = 0; i < old.forward_ports.size(); ++i) {
      auto& f = old.forward_ports[i];
      a += (i ? ", " : "") + port_entry(f.protocol, f.host_port, f.container_port);
    }
    keep("forward_ports", a + "]");
  }
  auto before = TRY(read_file(old.file));
  return write_checked(paths, old.file, decl::render_container(name, kv), before);
}

Result<AutostartChange> set_autostart(const decl::Paths& paths, const std::string& name, bool on) {
  auto refusal =
      fmt::format("set autostart = {} there ({} only rewrites containers made by `berth create`)",
                  on, on ? "enable" : "disable");
  // What is not a created container is refused before anything is locked
  // (the lock file is made in containers.d); then again under the lock.
  auto find = [&](decl::LoadResult& loaded) -> Result<const decl::Container*> {
    loaded = load_declarations(paths, false);
    if (!loaded.ok()) return make_error("the declarations are invalid:\n{}", loaded.error_text());
    return created_container(paths, loaded.decls, name, refusal.c_str());
  };
  decl::LoadResult unlocked, loaded;
  TRY(find(unlocked));
  auto lock = TRY(lock_declarations(paths));
  const decl::Container& old = *TRY(find(loaded));
  if (old.autostart == on) return AutostartChange{old.file, false};
  auto kv = TRY(decl::container_settings(old.file, name));
  if (on)
    decl::set_key(kv, "autostart", "true");
  else
    decl::erase_key(kv, "autostart");
  // Written only when the new text declares what was asked.
  if (TRY(parse_one(name, kv, old.file)).autostart != on)
    return make_error("{} sets autostart in a way berth cannot rewrite; edit it there", old.file);
  TRY(write_file_atomic(old.file, decl::render_container(name, kv)));
  return AutostartChange{old.file, true};
}

std::vector<std::string> image_users(const decl::Paths& paths, const std::string& image) {
  std::set<std::string> users;
  // Parsed without the host checks: an invalid file elsewhere still names its users.
  auto loaded = load_declarations(paths, false);
  for (auto& [n, c] : loaded.decls.containers)
    if (c.image == image) users.insert(n);
  for (auto& n : runtime_names(paths))
    if (auto snap = load_snapshot(RunDir(paths, n), n);
        snap && snap->image == image && is_running(paths, n))
      users.insert(n);
  return {users.begin(), users.end()};
}

Result<void> reset_state(const decl::Paths& paths, const std::string& name) {
  if (is_running(paths, name)) return make_error("it is running; stop it first");
  return remove_tree(paths.container_state(name));
}

}  // namespace berth::manager
