// The schema walker: one pass over a document tree (from TOML or JSON) that
// fills the model and reports every type or syntax problem with its line.
// The walk, the scalar readers and the table of container keys; the keys with
// a structure of their own are read in parse_keys.cpp.
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>

#include "decl/decl.h"
#include "decl/init.h"
#include "decl/tree.h"
#include "decl/util.h"
#include "decl/walker.h"

namespace berth::decl {
namespace internal {
namespace {

using Kind = Node::Kind;

const std::vector<std::string> kTopKeys = {"containers", "images", "settings"};
const std::vector<std::string> kSettingsKeys = {"nat", "private_users"};

}  // namespace

void Walker::document(const Node& root, Declarations& d) {
  if (root.kind != Kind::Table) {
    expected(root, "", "an object with \"containers\"");
    return;
  }
  for (auto& [k, v] : root.table) {
    if (k == "containers") {
      if (v.kind != Kind::Table) {
        expected(v, "containers", table_word());
        continue;
      }
      for (auto& [name, body] : v.table) container(name, body, d);
    } else if (k == "settings") {
      settings(v, d.settings);
    } else if (k == "images") {
      images(v, d);
    } else {
      unknown(v, "", k, kTopKeys);
    }
  }
}

// --- reporting -------------------------------------------------------------
void Walker::err(int line, const std::string& key, std::string msg) {
  errors_.push_back({file_, line, key, std::move(msg)});
}

std::string Walker::describe(const Node& n) const {
  switch (n.kind) {
    case Kind::String:
      return quote(n.text);
    case Kind::Integer:
      return std::to_string(n.integer);
    case Kind::Float:
      return fmt::format("{}", n.real);
    case Kind::Bool:
      return n.boolean ? "true" : "false";
    case Kind::Table:
      return table_word();
    case Kind::Array:
      return "an array";
    case Kind::Other:
      return n.text;
  }
  return "?";
}

void Walker::expected(const Node& n, const std::string& key, const std::string& what) {
  err(n.line, key, fmt::format("expected {}, got {}", what, describe(n)));
}

void Walker::unknown(const Node& n, const std::string& prefix, const std::string& k,
                     const std::vector<std::string>& candidates) {
  std::string key = join_key(prefix, k);
  auto s = suggest(k, candidates);
  err(n.line, key,
      s.empty() ? "unknown key" : fmt::format("unknown key (did you mean \"{}\"?)", s));
}

// --- scalar readers (false: reported) ---------------------------------------
bool Walker::get_bool(const Node& n, const std::string& key, bool& out) {
  if (n.kind != Kind::Bool) return expected(n, key, "true or false"), false;
  out = n.boolean;
  return true;
}

bool Walker::get_string(const Node& n, const std::string& key, std::string& out) {
  if (n.kind != Kind::String) return expected(n, key, "a string"), false;
  out = n.text;
  return true;
}

bool Walker::get_abs_path(const Node& n, const std::string& key, std::string& out) {
  if (n.kind != Kind::String || n.text.empty() || n.text[0] != '/')
    return expected(n, key, "an absolute path"), false;
  out = n.text;
  return true;
}

bool Walker::get_strings(const Node& n, const std::string& key, std::vector<std::string>& out) {
  if (n.kind != Kind::Array) return expected(n, key, "an array of strings"), false;
  bool ok = true;
  out.clear();
  for (size_t i = 0; i < n.array.size(); ++i) {
    auto& e = n.array[i];
    if (e.kind != Kind::String) {
      expected(e, fmt::format("{}[{}]", key, i), "a string");
      ok = false;
    } else {
      out.push_back(e.text);
    }
  }
  return ok;
}

bool Walker::get_cidr(const Node& n, const std::string& key, int family, std::optional<Cidr>& out) {
  if (n.kind != Kind::String)
    return expected(n, key, family == 6 ? "an IPv6 address" : "an IPv4 address"), false;
  auto r = parse_cidr(n.text, family);
  if (!r) return err(n.line, key, r.error().message), false;
  out = *r;
  return true;
}

bool Walker::get_link_name(const Node& n, const std::string& key, std::string& out) {
  if (n.kind != Kind::String || !valid_link_name(n.text))
    return expected(n, key, "a network interface name (1-15 characters, no '/', ':' or spaces)"),
           false;
  out = n.text;
  return true;
}

bool Walker::get_port(const Node& n, const std::string& key, uint16_t& out) {
  if (n.kind != Kind::Integer || n.integer < 1 || n.integer > 65535)
    return expected(n, key, "a port number (1-65535)"), false;
  out = static_cast<uint16_t>(n.integer);
  return true;
}

bool Walker::get_signal(const Node& n, const std::string& key, std::optional<int>& out) {
  std::optional<int> sig;
  if (n.kind == Kind::String) sig = parse_signal(n.text);
  if (n.kind == Kind::Integer && n.integer >= 1 && n.integer <= SIGRTMAX)
    sig = static_cast<int>(n.integer);
  if (!sig || *sig == SIGKILL || *sig == SIGSTOP)
    return expected(n, key,
                    "a signal name like \"SIGUSR1\" or \"SIGRTMIN+4\" (not SIGKILL or SIGSTOP)"),
           false;
  out = sig;
  return true;
}

bool Walker::get_duration(const Node& n, const std::string& key, std::chrono::milliseconds& out) {
  const char* what = "a positive duration like \"90s\", \"1min\" or a number of seconds";
  if (n.kind == Kind::Integer || n.kind == Kind::Float) {
    double secs = n.kind == Kind::Integer ? static_cast<double>(n.integer) : n.real;
    if (!(secs > 0) || secs > 1e12) return expected(n, key, what), false;
    out = std::chrono::milliseconds(static_cast<int64_t>(std::llround(secs * 1000)));
    return true;
  }
  if (n.kind != Kind::String) return expected(n, key, what), false;
  auto d = parse_duration(n.text);
  if (!d || d->count() <= 0) return expected(n, key, what), false;
  out = *d;
  return true;
}

// "no", "pick" or a base uid whose 65536 ids fit in 32 bits.
bool Walker::get_private_users(const Node& v, const std::string& key, PrivateUsers& out) {
  constexpr int64_t kMaxBase =
      int64_t{std::numeric_limits<uint32_t>::max()} - kPrivateUsersRange + 1;
  if (v.kind == Kind::String && v.text == "no")
    out = {};
  else if (v.kind == Kind::String && v.text == "pick")
    out = {PrivateUsers::Mode::Pick, 0};
  else if (v.kind == Kind::Integer && v.integer >= 0 && v.integer <= kMaxBase)
    out = {PrivateUsers::Mode::Base, static_cast<uint32_t>(v.integer)};
  else {
    expected(v, key, fmt::format("\"no\", \"pick\" or a base uid (0-{})", kMaxBase));
    return false;
  }
  return true;
}

// --- sections ----------------------------------------------------------------
void Walker::settings(const Node& n, Settings& s) {
  if (n.kind != Kind::Table) return expected(n, "settings", table_word());
  s.file = file_;
  s.line = n.line;
  for (auto& [k, v] : n.table) {
    if (k == "nat") {
      get_bool(v, "settings.nat", s.nat);
    } else if (k == "private_users") {
      PrivateUsers p;
      if (get_private_users(v, "settings.private_users", p)) s.private_users = p;
    } else
      unknown(v, "settings", k, kSettingsKeys);
  }
}

void Walker::container(const std::string& name, const Node& n, Declarations& d) {
  std::string base = join_key("containers", name);
  if (n.kind != Kind::Table) return expected(n, base, table_word());
  Container c;
  c.name = name;
  c.file = file_;
  c.line = n.line;
  for (auto& [k, v] : n.table) {
    std::string key = join_key(base, k);
    c.key_lines[k] = v.line;
    size_t before = errors_.size();
    field(c, k, key, v);
    if (errors_.size() != before) c.invalid_keys.insert(k);
  }
  auto [it, inserted] = d.containers.emplace(name, c);
  if (!inserted) {
    // Only across documents; the format itself rejects it within one.
    err(n.line, base, fmt::format("already declared at {}:{}", it->second.file, it->second.line));
  }
}

std::span<const Named<Walker::Handler>> Walker::handlers() {
  static constexpr Named<Handler>
      h[] =
          {
              {"path", [](Walker& w, Container& c, const std::string& k,
                          const Node& v) { w.get_abs_path(v, k, c.path); }},
              {"share_host", [](Walker& w, Container& c, const std::string& k,
                                const Node& v) { w.get_bool(v, k, c.share_host); }},
              {"image",
               [](Walker& w, Container& c, const std::string& k, const Node& v) {
                 if (w.get_string(v, k, c.image) && !valid_container_name(c.image))
                   w.expected(v, k,
                              "an image name (lower-case letters, digits and '-', not at either "
                              "end)");
               }},
              {"command",
               [](Walker& w, Container& c, const std::string& k, const Node& v) {
                 if (w.get_strings(v, k, c.command) && (c.command.empty() || c.command[0].empty()))
                   w.expected(v, k, "a non-empty array of strings (program and arguments)");
               }},
              {"boot", [](Walker& w, Container& c, const std::string& k,
                          const Node& v) { w.get_bool(v, k, c.boot); }},
              {"stub_init", [](Walker& w, Container& c, const std::string& k,
                               const Node& v) { w.get_bool(v, k, c.stub_init); }},
              {"environment", [](Walker& w, Container& c, const std::string& k,
                                 const Node& v) { w.environment(c, k, v); }},
              {"hostname",
               [](Walker& w, Container& c, const std::string& k, const Node& v) {
                 if (v.kind != Kind::String || !valid_hostname(v.text))
                   w.expected(v, k, "a host name (letters, digits, '-' and '.')");
                 else
                   c.hostname = v.text;
               }},
              {"extra_hosts", [](Walker& w, Container& c, const std::string& k,
                                 const Node& v) { w.extra_hosts(c, k, v); }},
              {"autostart", [](Walker& w, Container& c, const std::string& k,
                               const Node& v) { w.get_bool(v, k, c.autostart); }},
              {"restart_if_changed", [](Walker& w, Container& c, const std::string& k,
                                        const Node& v) { w.get_bool(v, k, c.restart_if_changed); }},
              {"reload",
               [](Walker& w, Container& c, const std::string& k, const Node& v) {
                 if (w.get_strings(v, k, c.reload) && (c.reload.empty() || c.reload[0].empty()))
                   w.expected(v, k, "a non-empty array of strings (program and arguments)");
               }},
              {"ephemeral", [](Walker& w, Container& c, const std::string& k,
                               const Node& v) { w.get_bool(v, k, c.ephemeral); }},
              {"timeout_start", [](Walker& w, Container& c, const std::string& k,
                                   const Node& v) { w.get_duration(v, k, c.timeout_start); }},
              {"timeout_stop", [](Walker& w, Container& c, const std::string& k,
                                  const Node& v) { w.get_duration(v, k, c.timeout_stop); }},
              {"restart",
               [](Walker& w, Container& c, const std::string& k, const Node& v) {
                 static constexpr Named<Restart> names[] = {
                     {"no", Restart::No},
                     {"on-failure", Restart::OnFailure},
                     {"always", Restart::Always}};
                 const Restart* r = v.kind == Kind::String ? lookup(names, v.text) : nullptr;
                 if (!r) return w.expected(v, k, "\"no\", \"on-failure\" or \"always\"");
                 c.restart = *r;
               }},
              {"ready",
               [](Walker& w, Container& c, const std::string& k, const Node& v) {
                 static constexpr Named<Ready> names[] = {
                     {"auto", Ready::Auto}, {"notify", Ready::Notify}, {"started", Ready::Started}};
                 const Ready* r = v.kind == Kind::String ? lookup(names, v.text) : nullptr;
                 if (!r) return w.expected(v, k, "\"auto\", \"notify\" or \"started\"");
                 c.ready = *r;
               }},
              {"resolv_conf",
               [](Walker& w, Container& c, const std::string& k, const Node& v) {
                 std::string all;
                 for (auto& [n, val] : resolv_conf_names()) {
                   if (v.kind == Kind::String && v.text == n) {
                     c.resolv_conf = val;
                     return;
                   }
                   all += (all.empty() ? "" : ", ") + quote(n);
                 }
                 w.expected(v, k, "one of " + all);
               }},
              {"halt_signal", [](Walker& w, Container& c, const std::string& k,
                                 const Node& v) { w.get_signal(v, k, c.halt_signal); }},
              {"reboot_signal", [](Walker& w, Container& c, const std::string& k,
                                   const Node& v) { w.get_signal(v, k, c.reboot_signal); }},
              {"after", [](Walker& w, Container& c, const std::string& k,
                           const Node& v) { w.get_strings(v, k, c.after); }},
              {"bind_mounts", [](Walker& w, Container& c, const std::string& k,
                                 const Node& v) { w.bind_mounts(c, k, v); }},
              {"tmpfs",
               [](Walker& w, Container& c, const std::string& k, const Node& v) {
                 if (v.kind != Kind::Array) return w.expected(v, k, "an array of absolute paths");
                 for (size_t i = 0; i < v.array.size(); ++i) {
                   std::string p;
                   if (w.get_abs_path(v.array[i], fmt::format("{}[{}]", k, i), p))
                     c.tmpfs.push_back(p);
                 }
               }},
              {"additional_capabilities", [](Walker& w, Container& c, const std::string& k,
                                             const Node& v) { w.capabilities(c, k, v); }},
              {"allowed_devices", [](Walker& w, Container& c, const std::string& k,
                                     const Node& v) { w.devices(c, k, v); }},
              {"nesting", [](Walker& w, Container& c, const std::string& k,
                             const Node& v) { w.get_bool(v, k, c.nesting); }},
              {"enable_tun",
               [](Walker& w, Container& c, const std::string& k,
                  const Node& v) { w.get_bool(v, k, c.enable_tun); }},
              {"seccomp", [](Walker& w, Container& c, const std::string& k,
                             const Node& v) { w.get_bool(v, k, c.seccomp); }},
              {"private_users", [](Walker& w, Container& c, const std::string& k,
                                   const Node& v) { w.get_private_users(v, k, c.private_users); }},
              {"resources", [](Walker& w, Container& c, const std::string& k,
                               const Node& v) { w.resources(c, k, v); }},
              {"private_network", [](Walker& w, Container& c, const std::string& k,
                                     const Node& v) { w.get_bool(v, k, c.private_network); }},
              {"host_address", [](Walker& w, Container& c, const std::string& k,
                                  const Node& v) { w.get_cidr(v, k, 4, c.host_address); }},
              {"local_address", [](Walker& w, Container& c, const std::string& k,
                                   const Node& v) { w.get_cidr(v, k, 4, c.local_address); }},
              {"host_address6", [](Walker& w, Container& c, const std::string& k,
                                   const Node& v) { w.get_cidr(v, k, 6, c.host_address6); }},
              {"local_address6", [](Walker& w, Container& c, const std::string& k,
                                    const Node& v) { w.get_cidr(v, k, 6, c.local_address6); }},
              {"host_bridge", [](
                                  Walker& w, Container& c, const std::string& k,
                                  const Node& v) { w.get_link_name(v, k, c.host_bridge); }},
              {"macvlans", [](Walker& w, Container& c, const std::string& k,
                              const Node& v) { w.link_names(k, v, c.macvlans); }},
              {"interfaces",
               [](Walker& w, Container& c, const std::string& k,
                  const Node& v) { w.link_names(k, v, c.interfaces); }},
              {"extra_veths", [](Walker& w, Container& c,
                                 const std::string& k, const Node& v) { w.extra_veths(c, k, v); }},
              {"network_namespace",
               [](Walker& w, Container& c, const std::string& k, const Node& v) {
                 w.get_abs_path(v, k, c.network_namespace);
               }},
              {"forward_ports",
               [](Walker& w, Container& c, const std::string& k,
                  const Node& v) { w.forward_ports(c, "forward_ports", k, v, c.forward_ports); }},
              {"local_mac_address",
               [](Walker& w, Container& c, const std::string& k, const Node& v) {
                 if (v.kind != Kind::String || !valid_mac(v.text))
                   return w.expected(v, k, "a MAC address like \"02:00:00:00:00:01\"");
                 c.local_mac_address = v.text;
                 for (auto& ch : c.local_mac_address)
                   ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
               }},
              {"nat", [](Walker& w, Container& c, const std::string& k,
                         const Node& v) { w.get_bool(v, k, c.nat); }},
          };
  return h;
}

std::vector<std::string> Walker::container_keys() {
  std::vector<std::string> k;
  for (auto& h : handlers()) k.emplace_back(h.name);
  std::sort(k.begin(), k.end());
  for (auto& r : kResourceKeys) k.push_back("resources." + r);
  return k;
}

void Walker::field(Container& c, const std::string& k, const std::string& key, const Node& v) {
  for (auto& h : handlers())
    if (h.name == k) return h.value(*this, c, key, v);
  c.key_lines.erase(k);
  unknown(v, join_key("containers", c.name), k, container_keys());
}

}  // namespace internal

void parse_text(std::string_view text, const std::string& file, Declarations& decls,
                std::vector<Diagnostic>& errors) {
  bool json = file.ends_with(".json");
  Node root;
  SyntaxError se;
  bool ok = json ? json_to_tree(text, root, se) : toml_to_tree(text, file, root, se);
  if (!ok) {
    errors.push_back({file, se.line, "", se.message});
    return;
  }
  internal::Walker(file, json, errors).document(root, decls);
}

}  // namespace berth::decl
