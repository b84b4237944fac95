// The walker's readers of the container keys with a structure of their own:
// environment, bind_mounts, additional_capabilities, allowed_devices,
// resources, forward_ports, extra_veths, and the lists of interface names.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include "decl/decl.h"
#include "decl/tree.h"
#include "decl/util.h"
#include "decl/walker.h"

namespace berth::decl::internal {
namespace {

using Kind = Node::Kind;

const std::vector<std::string> kBindKeys = {"host_path", "read_only", "idmap"};
const std::vector<std::string> kDeviceKeys = {"node", "modifier"};
const std::vector<std::string> kPortKeys = {"protocol", "host_port", "container_port"};
const std::vector<std::string> kVethKeys = {"host_bridge",   "host_address",   "local_address",
                                            "host_address6", "local_address6", "forward_ports"};

}  // namespace

void Walker::link_names(const std::string& key, const Node& v, std::vector<std::string>& out) {
  if (v.kind != Kind::Array) return expected(v, key, "an array of network interface names");
  for (size_t i = 0; i < v.array.size(); ++i) {
    std::string l;
    if (get_link_name(v.array[i], fmt::format("{}[{}]", key, i), l)) out.push_back(l);
  }
}

void Walker::environment(Container& c, const std::string& key, const Node& v) {
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

void Walker::extra_hosts(Container& c, const std::string& key, const Node& v) {
  if (v.kind != Kind::Table) return expected(v, key, table_word() + " of host name = address");
  for (auto& [name, val] : v.table) {
    std::string k = join_key(key, name);
    if (!valid_hostname(name)) {
      err(val.line, k, "expected a host name (letters, digits, '-' and '.') as the key");
      continue;
    }
    unsigned char buf[16];
    if (val.kind != Kind::String || (::inet_pton(AF_INET, val.text.c_str(), buf) != 1 &&
                                     ::inet_pton(AF_INET6, val.text.c_str(), buf) != 1)) {
      expected(val, k, "an IPv4 or IPv6 address");
      continue;
    }
    c.extra_hosts[name] = val.text;
  }
}

void Walker::bind_mounts(Container& c, const std::string& key, const Node& v) {
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
        else if (bk == "idmap")
          ok &= get_bool(bv, kk, b.idmap);
        else {
          unknown(bv, k, bk, kBindKeys);
          ok = false;
        }
      }
      if (!ok) continue;
    } else {
      expected(val, k, "a host path or " + table_word() + " {host_path, read_only, idmap}");
      continue;
    }
    c.bind_mounts[mp] = b;
  }
}

void Walker::capabilities(Container& c, const std::string& key, const Node& v) {
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

void Walker::devices(Container& c, const std::string& key, const Node& v) {
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

void Walker::resources(Container& c, const std::string& key, const Node& v) {
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

void Walker::forward_ports(Container& c, const std::string& line_prefix, const std::string& key,
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

void Walker::extra_veths(Container& c, const std::string& key, const Node& v) {
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

}  // namespace berth::decl::internal
