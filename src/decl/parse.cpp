// The schema walker: one pass over a document tree (from TOML or JSON) that
// fills the model and reports every type or syntax problem with its line.
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

namespace berth::decl {
namespace {

using Kind = Node::Kind;

const std::vector<std::string> kResourceKeys = {"memory", "cpu", "pids", "io_weight"};
const std::vector<std::string> kBindKeys = {"host_path", "read_only"};
const std::vector<std::string> kDeviceKeys = {"node", "modifier"};
const std::vector<std::string> kPortKeys = {"protocol", "host_port", "container_port"};
const std::vector<std::string> kVethKeys = {"host_bridge",   "host_address",   "local_address",
                                            "host_address6", "local_address6", "forward_ports"};
const std::vector<std::string> kTopKeys = {"containers", "settings"};
const std::vector<std::string> kSettingsKeys = {"nat", "private_users"};

class Walker {
 public:
  Walker(const std::string& file, bool json, std::vector<Diagnostic>& errors)
      : file_(file), json_(json), errors_(errors) {}

  void document(const Node& root, Declarations& d) {
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
      } else {
        unknown(v, "", k, kTopKeys);
      }
    }
  }

 private:
  // --- reporting -----------------------------------------------------------
  void err(int line, const std::string& key, std::string msg) {
    errors_.push_back({file_, line, key, std::move(msg)});
  }
  std::string table_word() const { return json_ ? "an object" : "a table"; }
  std::string describe(const Node& n) const {
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
  void expected(const Node& n, const std::string& key, const std::string& what) {
    err(n.line, key, fmt::format("expected {}, got {}", what, describe(n)));
  }
  void unknown(const Node& n, const std::string& prefix, const std::string& k,
               const std::vector<std::string>& candidates) {
    std::string key = join_key(prefix, k);
    auto s = suggest(k, candidates);
    err(n.line, key,
        s.empty() ? "unknown key" : fmt::format("unknown key (did you mean \"{}\"?)", s));
  }

  // --- scalar readers (false: reported) -----------------------------------
  bool get_bool(const Node& n, const std::string& key, bool& out) {
    if (n.kind != Kind::Bool) return expected(n, key, "true or false"), false;
    out = n.boolean;
    return true;
  }
  bool get_string(const Node& n, const std::string& key, std::string& out) {
    if (n.kind != Kind::String) return expected(n, key, "a string"), false;
    out = n.text;
    return true;
  }
  bool get_abs_path(const Node& n, const std::string& key, std::string& out) {
    if (n.kind != Kind::String || n.text.empty() || n.text[0] != '/')
      return expected(n, key, "an absolute path"), false;
    out = n.text;
    return true;
  }
  bool get_strings(const Node& n, const std::string& key, std::vector<std::string>& out) {
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
  bool get_cidr(const Node& n, const std::string& key, int family, std::optional<Cidr>& out) {
    if (n.kind != Kind::String)
      return expected(n, key, family == 6 ? "an IPv6 address" : "an IPv4 address"), false;
    auto r = parse_cidr(n.text, family);
    if (!r) return err(n.line, key, r.error().message), false;
    out = *r;
    return true;
  }
  bool get_link_name(const Node& n, const std::string& key, std::string& out) {
    if (n.kind != Kind::String || !valid_link_name(n.text))
      return expected(n, key, "a network interface name (1-15 characters, no '/', ':' or spaces)"),
             false;
    out = n.text;
    return true;
  }
  bool get_port(const Node& n, const std::string& key, uint16_t& out) {
    if (n.kind != Kind::Integer || n.integer < 1 || n.integer > 65535)
      return expected(n, key, "a port number (1-65535)"), false;
    out = static_cast<uint16_t>(n.integer);
    return true;
  }
  bool get_signal(const Node& n, const std::string& key, std::optional<int>& out) {
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
  bool get_duration(const Node& n, const std::string& key, std::chrono::milliseconds& out) {
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

  // --- sections ------------------------------------------------------------
  void settings(const Node& n, Settings& s) {
    if (n.kind != Kind::Table) return expected(n, "settings", table_word());
    s.file = file_;
    s.line = n.line;
    for (auto& [k, v] : n.table) {
      if (k == "nat") {
        get_bool(v, "settings.nat", s.nat);
      } else if (k == "private_users") {
        if (v.kind == Kind::String && v.text == "no")
          s.private_users = PrivateUsers{};
        else if (v.kind == Kind::String && v.text == "pick")
          s.private_users = PrivateUsers{PrivateUsers::Mode::Pick, 0};
        else
          expected(v, "settings.private_users", "\"no\" or \"pick\"");
      } else
        unknown(v, "settings", k, kSettingsKeys);
    }
  }

  void container(const std::string& name, const Node& n, Declarations& d) {
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

  // One handler per container key: the schema of a container.
  using Handler = void (*)(Walker&, Container&, const std::string& key, const Node&);
  static const std::map<std::string, Handler>& handlers() {
    static const std::
        map<std::string, Handler>
            h =
                {
                    {"path", [](Walker& w, Container& c, const std::string& k,
                                const Node& v) { w.get_abs_path(v, k, c.path); }},
                    {"share_host", [](Walker& w, Container& c, const std::string& k,
                                      const Node& v) { w.get_bool(v, k, c.share_host); }},
                    {"command",
                     [](Walker& w, Container& c, const std::string& k, const Node& v) {
                       if (w.get_strings(v, k, c.command) &&
                           (c.command.empty() || c.command[0].empty()))
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
                    {"autostart", [](Walker& w, Container& c, const std::string& k,
                                     const Node& v) { w.get_bool(v, k, c.autostart); }},
                    {"ephemeral", [](Walker& w, Container& c, const std::string& k,
                                     const Node& v) { w.get_bool(v, k, c.ephemeral); }},
                    {"timeout_start", [](Walker& w, Container& c, const std::string& k,
                                         const Node& v) { w.get_duration(v, k, c.timeout_start); }},
                    {"timeout_stop", [](Walker& w, Container& c, const std::string& k,
                                        const Node& v) { w.get_duration(v, k, c.timeout_stop); }},
                    {"restart",
                     [](Walker& w, Container& c, const std::string& k, const Node& v) {
                       static const std::map<std::string, Restart> names = {
                           {"no", Restart::No},
                           {"on-failure", Restart::OnFailure},
                           {"always", Restart::Always}};
                       auto it = v.kind == Kind::String ? names.find(v.text) : names.end();
                       if (it == names.end())
                         return w.expected(v, k, "\"no\", \"on-failure\" or \"always\"");
                       c.restart = it->second;
                     }},
                    {"ready",
                     [](Walker& w, Container& c, const std::string& k, const Node& v) {
                       static const std::map<std::string, Ready> names = {
                           {"auto", Ready::Auto},
                           {"notify", Ready::Notify},
                           {"started", Ready::Started}};
                       auto it = v.kind == Kind::String ? names.find(v.text) : names.end();
                       if (it == names.end())
                         return w.expected(v, k, "\"auto\", \"notify\" or \"started\"");
                       c.ready = it->second;
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
                       if (v.kind != Kind::Array)
                         return w.expected(v, k, "an array of absolute paths");
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
                    {"enable_tun", [](Walker& w, Container& c, const std::string& k,
                                      const Node& v) { w.get_bool(v, k, c.enable_tun); }},
                    {"seccomp", [](
                                    Walker& w, Container& c, const std::string& k,
                                    const Node& v) { w.get_bool(v, k, c.seccomp); }},
                    {"private_users",
                     [](Walker& w, Container& c, const std::string& k, const Node& v) {
                       constexpr int64_t kMaxBase =
                           int64_t{std::numeric_limits<uint32_t>::max()} - kPrivateUsersRange + 1;
                       if (v.kind == Kind::String && v.text == "no")
                         c.private_users = {};
                       else if (v.kind == Kind::String && v.text == "pick")
                         c.private_users.mode = PrivateUsers::Mode::Pick;
                       else if (v.kind == Kind::Integer && v.integer >= 0 && v.integer <= kMaxBase)
                         c.private_users = {PrivateUsers::Mode::Base,
                                            static_cast<uint32_t>(v.integer)};
                       else
                         w.expected(v, k,
                                    fmt::format("\"no\", \"pick\" or a base uid (0-{})", kMaxBase));
                     }},
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
                    {"local_address6",
                     [](Walker& w, Container& c, const std::string& k, const Node& v) {
                       w.get_cidr(v, k, 6, c.local_address6);
                     }},
                    {"host_bridge", [](Walker& w, Container& c, const std::string& k,
                                       const Node& v) { w.get_link_name(v, k, c.host_bridge); }},
                    {"macvlans", [](Walker& w, Container& c, const std::string& k,
                                    const Node& v) { w.link_names(k, v, c.macvlans); }},
                    {"interfaces", [](Walker& w, Container& c, const std::string& k,
                                      const Node& v) { w.link_names(k, v, c.interfaces); }},
                    {"extra_veths", [](Walker& w, Container& c, const std::string& k,
                                       const Node& v) { w.extra_veths(c, k, v); }},
                    {"network_namespace",
                     [](Walker& w, Container& c, const std::string& k, const Node& v) {
                       w.get_abs_path(v, k, c.network_namespace);
                     }},
                    {"forward_ports",
                     [](Walker& w, Container& c, const std::string& k, const Node& v) {
                       w.forward_ports(c, "forward_ports", k, v, c.forward_ports);
                     }},
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

  // What an unknown key is compared with: every key, and the nested ones by
  // their full name so that a misplaced one ("memory") finds its home.
  static const std::vector<std::string>& container_keys() {
    static const std::vector<std::string> keys = [] {
      std::vector<std::string> k;
      for (auto& [name, fn] : handlers()) k.push_back(name);
      for (auto& r : kResourceKeys) k.push_back("resources." + r);
      return k;
    }();
    return keys;
  }

  void field(Container& c, const std::string& k, const std::string& key, const Node& v) {
    auto& h = handlers();
    if (auto it = h.find(k); it != h.end()) return it->second(*this, c, key, v);
    c.key_lines.erase(k);
    unknown(v, join_key("containers", c.name), k, container_keys());
  }

  void link_names(const std::string& key, const Node& v, std::vector<std::string>& out) {
    if (v.kind != Kind::Array) return expected(v, key, "an array of network interface names");
    for (size_t i = 0; i < v.array.size(); ++i) {
      std::string l;
      if (get_link_name(v.array[i], fmt::format("{}[{}]", key, i), l)) out.push_back(l);
    }
  }

  void environment(Container& c, const std::string& key, const Node& v) {
    if (v.kind != Kind::Table) return expected(v, key, table_word() + " of strings");
    for (auto& [name, val] : v.table) {
      std::string k = join_key(key, name);
      if (name.empty() || name.find('=') != std::string::npos ||
          name.find('\0') != std::string::npos) {
        err(val.line, k, "expected a variable name without '='");
        continue;
      }
      std::string s;
      if (get_string(val, k, s)) c.environment[name] = s;
    }
  }

  void bind_mounts(Container& c, const std::string& key, const Node& v) {
    if (v.kind != Kind::Table) return expected(v, key, table_word() + " keyed by mount point");
    for (auto& [mp, val] : v.table) {
      std::string k = join_key(key, mp);
      c.key_lines["bind_mounts." + mp] = val.line;
      if (mp.empty() || mp[0] != '/') {
        err(val.line, k, "expected the mount point (the key) to be an absolute path");
        continue;
      }
      BindMount b;
      b.host_path = mp;
      if (val.kind == Kind::String) {
        if (!get_abs_path(val, k, b.host_path)) continue;
      } else if (val.kind == Kind::Table) {
        bool ok = true;
        for (auto& [bk, bv] : val.table) {
          std::string kk = join_key(k, bk);
          if (bk == "host_path")
            ok &= get_abs_path(bv, kk, b.host_path);
          else if (bk == "read_only")
            ok &= get_bool(bv, kk, b.read_only);
          else {
            unknown(bv, k, bk, kBindKeys);
            ok = false;
          }
        }
        if (!ok) continue;
      } else {
        expected(val, k, "a host path or " + table_word() + " {host_path, read_only}");
        continue;
      }
      c.bind_mounts[mp] = b;
    }
  }

  void capabilities(Container& c, const std::string& key, const Node& v) {
    std::vector<std::string> caps;
    if (!get_strings(v, key, caps)) return;
    const auto& known = known_capabilities();
    for (size_t i = 0; i < caps.size(); ++i) {
      if (std::find(known.begin(), known.end(), caps[i]) != known.end()) {
        c.additional_capabilities.push_back(caps[i]);
        continue;
      }
      std::string up = caps[i];
      for (auto& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (!up.starts_with("CAP_")) up = "CAP_" + up;
      std::string msg =
          fmt::format("expected a capability name like \"CAP_NET_ADMIN\", got {}", quote(caps[i]));
      if (std::find(known.begin(), known.end(), up) != known.end())
        msg += fmt::format(" (did you mean \"{}\"?)", up);
      err(v.array[i].line, fmt::format("{}[{}]", key, i), msg);
    }
  }

  void devices(Container& c, const std::string& key, const Node& v) {
    if (v.kind != Kind::Array) return expected(v, key, "an array of {node, modifier}");
    for (size_t i = 0; i < v.array.size(); ++i) {
      auto& e = v.array[i];
      std::string k = fmt::format("{}[{}]", key, i);
      if (e.kind != Kind::Table) {
        expected(e, k, table_word() + " {node, modifier}");
        continue;
      }
      AllowedDevice dev;
      bool ok = true, has_node = false;
      for (auto& [dk, dv] : e.table) {
        std::string kk = join_key(k, dk);
        if (dk == "node") {
          has_node = true;
          if (dv.kind != Kind::String || !dv.text.starts_with("/dev/")) {
            expected(dv, kk, "a device node path under /dev");
            ok = false;
          } else {
            dev.node = dv.text;
          }
        } else if (dk == "modifier") {
          if (dv.kind != Kind::String || dv.text.empty() ||
              dv.text.find_first_not_of("rwm") != std::string::npos) {
            expected(dv, kk, "a combination of \"r\", \"w\" and \"m\"");
            ok = false;
          } else {
            dev.modifier = dv.text;
          }
        } else {
          unknown(dv, k, dk, kDeviceKeys);
          ok = false;
        }
      }
      if (!has_node) {
        err(e.line, k, "missing \"node\"");
        ok = false;
      }
      if (ok) c.allowed_devices.push_back(dev);
    }
  }

  void resources(Container& c, const std::string& key, const Node& v) {
    if (v.kind != Kind::Table)
      return expected(v, key, table_word() + " {memory, cpu, pids, io_weight}");
    for (auto& [rk, rv] : v.table) {
      std::string kk = join_key(key, rk);
      c.key_lines["resources." + rk] = rv.line;
      if (rk == "memory") {
        std::optional<uint64_t> sz;
        if (rv.kind == Kind::Integer && rv.integer > 0)
          sz = static_cast<uint64_t>(rv.integer);
        else if (rv.kind == Kind::String)
          sz = parse_size(rv.text);
        if (!sz || *sz == 0 || *sz > uint64_t{std::numeric_limits<int64_t>::max()})
          expected(rv, kk, "a size like \"256M\", \"1G\" or a number of bytes");
        else
          c.resources.memory = sz;
      } else if (rk == "cpu") {
        double cpu = rv.kind == Kind::Integer ? static_cast<double>(rv.integer)
                     : rv.kind == Kind::Float ? rv.real
                                              : -1;
        if (!(cpu > 0) || cpu > 1e6 || (rv.kind != Kind::Integer && rv.kind != Kind::Float))
          expected(rv, kk, "a positive number of CPUs like 0.5");
        else
          c.resources.cpu = cpu;
      } else if (rk == "pids") {
        if (rv.kind != Kind::Integer || rv.integer < 1)
          expected(rv, kk, "a positive integer");
        else
          c.resources.pids = rv.integer;
      } else if (rk == "io_weight") {
        if (rv.kind != Kind::Integer || rv.integer < 10 || rv.integer > 1000)
          expected(rv, kk, "an integer from 10 to 1000");
        else
          c.resources.io_weight = static_cast<uint16_t>(rv.integer);
      } else {
        c.key_lines.erase("resources." + rk);
        unknown(rv, key, rk, kResourceKeys);
      }
    }
  }

  void forward_ports(Container& c, const std::string& line_prefix, const std::string& key,
                     const Node& v, std::vector<PortForward>& out) {
    if (v.kind != Kind::Array)
      return expected(v, key, "an array of {protocol, host_port, container_port}");
    for (size_t i = 0; i < v.array.size(); ++i) {
      auto& e = v.array[i];
      std::string k = fmt::format("{}[{}]", key, i);
      c.key_lines[fmt::format("{}[{}]", line_prefix, i)] = e.line;
      if (e.kind != Kind::Table) {
        expected(e, k, table_word() + " {protocol, host_port, container_port}");
        continue;
      }
      PortForward p;
      bool ok = true, has_host = false, has_cont = false;
      for (auto& [pk, pv] : e.table) {
        std::string kk = join_key(k, pk);
        if (pk == "protocol") {
          if (pv.kind != Kind::String || (pv.text != "tcp" && pv.text != "udp")) {
            expected(pv, kk, "\"tcp\" or \"udp\"");
            ok = false;
          } else {
            p.protocol = pv.text;
          }
        } else if (pk == "host_port") {
          ok &= get_port(pv, kk, p.host_port);
          has_host = true;
        } else if (pk == "container_port") {
          ok &= get_port(pv, kk, p.container_port);
          has_cont = true;
        } else {
          unknown(pv, k, pk, kPortKeys);
          ok = false;
        }
      }
      if (!has_host) {
        err(e.line, k, "missing \"host_port\"");
        ok = false;
      }
      if (!has_cont) p.container_port = p.host_port;
      if (ok) out.push_back(p);
    }
  }

  void extra_veths(Container& c, const std::string& key, const Node& v) {
    if (v.kind != Kind::Table) return expected(v, key, table_word() + " keyed by interface name");
    for (auto& [name, val] : v.table) {
      std::string k = join_key(key, name);
      std::string lk = "extra_veths." + name;
      c.key_lines[lk] = val.line;
      if (!valid_link_name(name)) {
        err(val.line, k,
            "expected the interface name (the key) to have 1-15 characters, no '/', ':' or spaces");
        continue;
      }
      if (val.kind != Kind::Table) {
        expected(val, k, table_word());
        continue;
      }
      ExtraVeth x;
      for (auto& [xk, xv] : val.table) {
        std::string kk = join_key(k, xk);
        c.key_lines[lk + "." + xk] = xv.line;
        if (xk == "host_bridge")
          get_link_name(xv, kk, x.host_bridge);
        else if (xk == "host_address")
          get_cidr(xv, kk, 4, x.host_address);
        else if (xk == "local_address")
          get_cidr(xv, kk, 4, x.local_address);
        else if (xk == "host_address6")
          get_cidr(xv, kk, 6, x.host_address6);
        else if (xk == "local_address6")
          get_cidr(xv, kk, 6, x.local_address6);
        else if (xk == "forward_ports")
          forward_ports(c, lk + ".forward_ports", kk, xv, x.forward_ports);
        else
          unknown(xv, k, xk, kVethKeys);
      }
      c.extra_veths[name] = x;
    }
  }

  const std::string& file_;
  bool json_;
  std::vector<Diagnostic>& errors_;
};

}  // namespace

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
  Walker(file, json, errors).document(root, decls);
}

}  // namespace berth::decl
