#include "net/container_network.h"

#include <algorithm>
#include <functional>

#include "base/log.h"
#include "net/addr.h"
#include "net/hosts.h"
#include "net/link.h"
#include "net/names.h"
#include "net/netns.h"

namespace berth::net {

namespace {

// Undo actions run in reverse unless the setup got to the end.
class Rollback {
 public:
  ~Rollback() {
    if (!armed_) return;
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) (*it)();
  }
  void add(std::function<void()> f) { undo_.push_back(std::move(f)); }
  void commit() { armed_ = false; }

 private:
  std::vector<std::function<void()>> undo_;
  bool armed_ = true;
};

void log_undo_error(const Result<void>& r, std::string_view what) {
  if (!r) log::warn("rollback: {}: {}", what, r.error().message);
}

bool valid_name(const std::string& n) {
  if (n.empty()) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  return true;
}

Result<void> check_family(const std::optional<IpPrefix>& p, Family f, const char* field) {
  if (p && p->address.family != f)
    return make_error("{} {} is not an {} address", field, p->str(),
                      f == Family::V4 ? "ipv4" : "ipv6");
  return ok();
}

// Host side of a veth: up, then either enslaved or addressed and routed.
Result<void> configure_host_end(const NlSocket& host, const std::string& link,
                                const std::string& bridge, const std::optional<IpPrefix>& host4,
                                const std::optional<IpPrefix>& host6,
                                const std::optional<IpPrefix>& local4,
                                const std::optional<IpPrefix>& local6) {
  if (!bridge.empty()) {
    TRY(set_link_master(host, link, bridge));
    TRY(set_link_up(host, link));
    return ok();
  }
  TRY(set_link_up(host, link));
  if (host4) TRY(add_address(host, link, *host4));
  if (host6) TRY(add_address(host, link, *host6));
  if (local4) TRY(add_route(host, host_prefix(local4->address), link));
  if (local6) TRY(add_route(host, host_prefix(local6->address), link));
  return ok();
}

// The container's route to the host address and its default route via it.
Result<void> route_to_host(const NlSocket& ct, const std::string& link,
                           const std::optional<IpPrefix>& host,
                           const std::optional<IpPrefix>& local, bool default_route) {
  if (!host) return ok();
  // Inside the local subnet the kernel's prefix route already reaches it.
  bool on_link = local && !local->is_host() && local->contains(host->address);
  if (!on_link) TRY(add_route(ct, host_prefix(host->address), link));
  if (default_route) TRY(add_default_route(ct, host->address, link));
  return ok();
}

Result<void> configure_container_end(const NlSocket& ct, const std::string& link,
                                     const std::string& mac, const std::optional<IpPrefix>& host4,
                                     const std::optional<IpPrefix>& host6,
                                     const std::optional<IpPrefix>& local4,
                                     const std::optional<IpPrefix>& local6, bool default_routes) {
  if (!mac.empty()) TRY(set_link_mac(ct, link, mac));
  TRY(set_link_up(ct, link));
  if (local4) TRY(add_address(ct, link, *local4));
  if (local6) TRY(add_address(ct, link, *local6));
  TRY(route_to_host(ct, link, host4, local4, default_routes));
  TRY(route_to_host(ct, link, host6, local6, default_routes));
  return ok();
}

NatRules nat_rules(const ContainerNetwork& n) {
  NatRules r;
  r.container = n.name;
  if (n.local_address) r.local4 = n.local_address->address;
  if (n.local_address6) r.local6 = n.local_address6->address;
  if (n.host_address6 && n.host_bridge.empty()) r.host6 = n.host_address6->address;
  r.forwards = n.forward_ports;
  r.masquerade = n.nat;
  for (const auto& e : n.extra_veths) {
    if (e.forward_ports.empty()) continue;
    ForwardTarget t;
    if (e.local_address) t.local4 = e.local_address->address;
    if (e.local_address6) t.local6 = e.local_address6->address;
    if (e.host_address6 && e.host_bridge.empty()) t.host6 = e.host_address6->address;
    t.forwards = e.forward_ports;
    r.extra.push_back(std::move(t));
  }
  return r;
}

bool has_forwards(const ContainerNetwork& n) {
  if (!n.forward_ports.empty()) return true;
  for (const auto& e : n.extra_veths)
    if (!e.forward_ports.empty()) return true;
  return false;
}

// IPv6 forwarding is needed once any forwarded-to or NATed address is v6.
bool wants_ipv6_forwarding(const ContainerNetwork& n) {
  if (n.local_address6) return true;
  for (const auto& e : n.extra_veths)
    if (!e.forward_ports.empty() && e.local_address6) return true;
  return false;
}

bool has_v4_forwards(const ContainerNetwork& n) {
  if (!n.forward_ports.empty() && n.local_address) return true;
  for (const auto& e : n.extra_veths)
    if (!e.forward_ports.empty() && e.local_address) return true;
  return false;
}

// Forwarding, route_localnet, the ::1 routes and the nft rules of n's port
// forwards and NAT (the rules replace the container's earlier ones).
Result<void> set_forwards(const ContainerNetwork& n, int host_fd, const NlSocket& host) {
  TRY_CTX(enable_ip_forwarding(host_fd, wants_ipv6_forwarding(n)), "port forwarding");
  if (has_v4_forwards(n)) TRY_CTX(enable_route_localnet(host_fd), "port forwarding");
  NatRules rules = nat_rules(n);
  // Gone with their veths, so they need no undo of their own; one there
  // already (a live update) is the same route.
  auto lo6 = TRY(parse_prefix("::1"));
  auto local_route = [&](const std::string& dev) -> Result<void> {
    auto r = add_local_route(host, lo6, dev);
    if (!r && r.error().code != EEXIST) return r;
    return ok();
  };
  if (!rules.forwards.empty() && rules.local6 && rules.host6)
    TRY_CTX(local_route(n.host_link()), "port forwarding from ::1");
  for (const auto& e : n.extra_veths)
    if (!e.forward_ports.empty() && e.local_address6 && e.host_address6 && e.host_bridge.empty())
      TRY_CTX(local_route(e.name), "port forwarding from ::1 to extra veth {}", e.name);
  return add_nat_rules(host_fd, rules);
}

}  // namespace

bool ContainerNetwork::has_veth() const {
  return host_address || host_address6 || local_address || local_address6 || !host_bridge.empty() ||
         !local_mac_address.empty();
}

std::string ContainerNetwork::host_link() const {
  return host_link_name(host_bridge.empty() ? "ve-" : "vb-", name);
}

std::string macvlan_link_name(const std::string& host_if) {
  return host_link_name("mv-", host_if);
}

Result<void> validate_network(const ContainerNetwork& n) {
  if (!valid_name(n.name)) return make_error("invalid container name '{}'", n.name);
  TRY(check_family(n.host_address, Family::V4, "host_address"));
  TRY(check_family(n.local_address, Family::V4, "local_address"));
  TRY(check_family(n.host_address6, Family::V6, "host_address6"));
  TRY(check_family(n.local_address6, Family::V6, "local_address6"));
  if (!n.host_bridge.empty()) TRY_CTX(validate_link_name(n.host_bridge), "host_bridge");
  if (!n.forward_ports.empty() && !n.local_address && !n.local_address6)
    return make_error("forward_ports needs local_address or local_address6");
  if (n.nat && !n.local_address && !n.local_address6)
    return make_error("nat needs local_address or local_address6");
  for (const auto& m : n.macvlans) TRY_CTX(validate_link_name(m), "macvlans");
  for (const auto& i : n.interfaces) {
    TRY_CTX(validate_link_name(i), "interfaces");
    if (n.has_veth() && i == kContainerLink)
      return make_error("interfaces: {} would clash with the container's veth", i);
  }
  for (const auto& e : n.extra_veths) {
    TRY_CTX(validate_link_name(e.name), "extra_veths");
    if (e.name == kContainerLink)
      return make_error("extra_veths: {} clashes with the container's veth", e.name);
    TRY(check_family(e.host_address, Family::V4, "extra_veths host_address"));
    TRY(check_family(e.local_address, Family::V4, "extra_veths local_address"));
    TRY(check_family(e.host_address6, Family::V6, "extra_veths host_address6"));
    TRY(check_family(e.local_address6, Family::V6, "extra_veths local_address6"));
    if (!e.host_bridge.empty())
      TRY_CTX(validate_link_name(e.host_bridge), "extra_veths host_bridge");
    if (!e.forward_ports.empty() && !e.local_address && !e.local_address6)
      return make_error("extra_veths {}: forward_ports needs local_address or local_address6",
                        e.name);
  }
  return ok();
}

Result<void> setup_container_network(const ContainerNetwork& n, int host_fd, int ct_fd) {
  TRY_CTX(validate_network(n), "network of {}", n.name);
  if (ct_fd < 0) return make_error("network of {}: no container network namespace", n.name);
  NlSocket host = TRY_CTX(NlSocket::open(host_fd), "host namespace");
  NlSocket ct = TRY_CTX(NlSocket::open(ct_fd), "container namespace");

  // Leftovers of a crash: same-named links, rules and hosts lines.
  TRY_CTX(teardown_container_network(n, host_fd, kCurrentNetns), "remove stale network of {}",
          n.name);
  {
    std::vector<std::string> stale;
    if (n.has_veth()) stale.push_back(kContainerLink);
    for (const auto& m : n.macvlans) stale.push_back(macvlan_link_name(m));
    for (const auto& e : n.extra_veths) stale.push_back(e.name);
    for (const auto& s : stale)
      TRY_CTX(delete_link_if_exists(ct, s), "remove stale link in container");
  }

  Rollback rollback;
  TRY_CTX(loopback_up(ct), "container loopback");

  if (n.has_veth()) {
    std::string hl = n.host_link();
    TRY(create_veth(host, hl, kContainerLink, ct_fd));
    rollback.add([&host, hl] { log_undo_error(delete_link(host, hl), hl); });
    TRY_CTX(configure_host_end(host, hl, n.host_bridge, n.host_address, n.host_address6,
                               n.local_address, n.local_address6),
            "host side {}", hl);
    TRY_CTX(configure_container_end(ct, kContainerLink, n.local_mac_address, n.host_address,
                                    n.host_address6, n.local_address, n.local_address6, true),
            "container side {}", kContainerLink);
  }

  for (const auto& m : n.macvlans) {
    std::string name = macvlan_link_name(m);
    TRY(create_macvlan(host, m, name, ct_fd));
    rollback.add([&ct, name] { log_undo_error(delete_link(ct, name), name); });
    TRY_CTX(set_link_up(ct, name), "macvlan");
  }

  for (const auto& i : n.interfaces) {
    TRY(move_link(host, i, ct_fd));
    rollback.add([&ct, i, host_fd] {
      int fd = host_fd;
      UniqueFd own;
      if (fd < 0) {
        auto cur = open_current_netns();
        if (!cur) return log::warn("rollback: return {}: {}", i, cur.error().message);
        own = std::move(*cur);
        fd = own.get();
      }
      log_undo_error(move_link(ct, i, fd), "return " + i);
    });
    TRY_CTX(set_link_up(ct, i), "moved interface");
  }

  for (const auto& e : n.extra_veths) {
    TRY(create_veth(host, e.name, e.name, ct_fd));
    rollback.add([&host, name = e.name] { log_undo_error(delete_link(host, name), name); });
    TRY_CTX(configure_host_end(host, e.name, e.host_bridge, e.host_address, e.host_address6,
                               e.local_address, e.local_address6),
            "extra veth {} host side", e.name);
    TRY_CTX(configure_container_end(ct, e.name, e.local_mac_address, e.host_address,
                                    e.host_address6, e.local_address, e.local_address6, false),
            "extra veth {} container side", e.name);
  }

  if (has_forwards(n) || n.nat) {
    rollback.add([&] { log_undo_error(remove_nat_rules(host_fd, n.name), "nat rules"); });
    TRY(set_forwards(n, host_fd, host));
  }

  if (!n.hosts_file.empty()) {
    std::vector<IpAddress> addrs;
    if (n.local_address) addrs.push_back(n.local_address->address);
    if (n.local_address6) addrs.push_back(n.local_address6->address);
    if (!addrs.empty()) {
      rollback.add([&] { log_undo_error(hosts_remove(n.hosts_file, n.name), "hosts entries"); });
      TRY(hosts_add(n.hosts_file, n.name, addrs));
    }
  }

  rollback.commit();
  return ok();
}

Result<void> update_forwards(const ContainerNetwork& n, int host_fd) {
  if (!has_forwards(n) && !n.nat) return remove_nat_rules(host_fd, n.name);
  auto host = TRY(NlSocket::open(host_fd));
  return set_forwards(n, host_fd, host);
}

Result<void> update_links(const ContainerNetwork& before, const ContainerNetwork& now, int host_fd,
                          int ct_fd) {
  auto host = TRY(NlSocket::open(host_fd));
  auto ct = TRY(NlSocket::open(ct_fd));
  auto in = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  for (const auto& m : before.macvlans)
    if (!in(now.macvlans, m)) TRY(delete_link_if_exists(ct, macvlan_link_name(m)));
  for (const auto& i : before.interfaces)
    if (!in(now.interfaces, i)) {
      TRY(set_link_up(ct, i, false));
      UniqueFd own;
      int back = host_fd;
      if (back < 0) {
        own = TRY(open_current_netns());
        back = own.get();
      }
      TRY_CTX(move_link(ct, i, back), "return {} to the host", i);
    }
  for (const auto& m : now.macvlans)
    if (!in(before.macvlans, m)) {
      std::string name = macvlan_link_name(m);
      TRY(create_macvlan(host, m, name, ct_fd));
      TRY_CTX(set_link_up(ct, name), "macvlan");
    }
  for (const auto& i : now.interfaces)
    if (!in(before.interfaces, i)) {
      TRY(move_link(host, i, ct_fd));
      TRY_CTX(set_link_up(ct, i), "moved interface");
    }
  return ok();
}

Result<void> teardown_container_network(const ContainerNetwork& n, int host_fd, int ct_fd) {
  Result<void> first;
  auto note = [&](Result<void> r) {
    if (!r && first.ok())
      first = std::move(r).error().wrap(fmt::format("tear down network of {}", n.name));
  };
  auto note_bool = [&](Result<bool> r) {
    if (!r) note(std::move(r).error());
  };
  if (!n.hosts_file.empty()) note(hosts_remove(n.hosts_file, n.name));
  note(remove_nat_rules(host_fd, n.name));

  auto host = NlSocket::open(host_fd);
  if (!host) {
    note(std::move(host).error());
    return first;
  }
  if (ct_fd >= 0) {
    auto ct = NlSocket::open(ct_fd);
    if (!ct) {
      note(std::move(ct).error());
    } else {
      int back = host_fd;
      UniqueFd own;
      if (back < 0) {
        auto cur = open_current_netns();
        if (cur) {
          own = std::move(*cur);
          back = own.get();
        } else {
          note(std::move(cur).error());
        }
      }
      for (const auto& i : n.interfaces) {
        auto l = find_link(*ct, i);
        if (!l)
          note(std::move(l).error());
        else if (*l && back >= 0) {
          note(set_link_up(*ct, i, false));
          note(move_link(*ct, i, back));
        }
      }
      for (const auto& m : n.macvlans) note_bool(delete_link_if_exists(*ct, macvlan_link_name(m)));
    }
  }
  // Deleting one end of a veth deletes its peer in the container too.
  note_bool(delete_link_if_exists(*host, host_link_name("ve-", n.name)));
  note_bool(delete_link_if_exists(*host, host_link_name("vb-", n.name)));
  for (const auto& e : n.extra_veths) note_bool(delete_link_if_exists(*host, e.name));
  return first;
}

}  // namespace berth::net
