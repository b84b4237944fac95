#include "net/link.h"

#include <net/if.h>

#include <netlink/cache.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/veth.h>

#include "net/names.h"

namespace berth::net {

namespace {

struct LinkPtr {
  rtnl_link* p = nullptr;
  explicit LinkPtr(rtnl_link* l = nullptr) : p(l) {}
  LinkPtr(LinkPtr&& o) noexcept : p(std::exchange(o.p, nullptr)) {}
  LinkPtr& operator=(LinkPtr&&) = delete;
  ~LinkPtr() {
    if (p) rtnl_link_put(p);
  }
  rtnl_link* get() const { return p; }
};

LinkInfo to_info(rtnl_link* l) {
  LinkInfo i;
  i.index = rtnl_link_get_ifindex(l);
  if (const char* n = rtnl_link_get_name(l)) i.name = n;
  if (const char* t = rtnl_link_get_type(l)) i.kind = t;
  i.flags = rtnl_link_get_flags(l);
  i.master = rtnl_link_get_master(l);
  if (nl_addr* a = rtnl_link_get_addr(l)) {
    char buf[64];
    i.mac = nl_addr2str(a, buf, sizeof buf);
  }
  return i;
}

Result<LinkPtr> fetch(const NlSocket& nl, std::string_view name) {
  TRY(validate_link_name(name));
  rtnl_link* l = nullptr;
  std::string n(name);
  int err = rtnl_link_get_kernel(nl.get(), 0, n.c_str(), &l);
  if (err < 0) {
    Error e = nl_error(err, fmt::format("link {}", name));
    if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) e.code = ENODEV;
    return e;
  }
  return LinkPtr(l);
}

LinkPtr alloc() {
  return LinkPtr(rtnl_link_alloc());
}

// Applies `change` to the named link.
Result<void> change(const NlSocket& nl, std::string_view name, rtnl_link* changes,
                    std::string_view what) {
  LinkPtr orig = TRY(fetch(nl, name));
  int err = rtnl_link_change(nl.get(), orig.get(), changes, 0);
  if (err < 0) return nl_error(err, fmt::format("{} {}", what, name));
  return ok();
}

}  // namespace

bool LinkInfo::up() const {
  return flags & IFF_UP;
}

Result<std::optional<LinkInfo>> find_link(const NlSocket& nl, std::string_view name) {
  auto l = fetch(nl, name);
  if (!l) {
    if (l.error().code == ENODEV) return std::optional<LinkInfo>();
    return std::move(l).error();
  }
  return std::optional<LinkInfo>(to_info(l->get()));
}

Result<LinkInfo> get_link(const NlSocket& nl, std::string_view name) {
  LinkPtr l = TRY(fetch(nl, name));
  return to_info(l.get());
}

Result<std::vector<LinkInfo>> list_links(const NlSocket& nl) {
  nl_cache* cache = nullptr;
  int err = rtnl_link_alloc_cache(nl.get(), AF_UNSPEC, &cache);
  if (err < 0) return nl_error(err, "list links");
  std::vector<LinkInfo> out;
  for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o))
    out.push_back(to_info(reinterpret_cast<rtnl_link*>(o)));
  nl_cache_free(cache);
  return out;
}

Result<void> create_veth(const NlSocket& nl, std::string_view name, std::string_view peer_name,
                         int peer_netns_fd) {
  TRY(validate_link_name(name));
  TRY(validate_link_name(peer_name));
  LinkPtr link(rtnl_link_veth_alloc());
  if (!link.get()) return make_error("allocate veth");
  rtnl_link* peer = rtnl_link_veth_get_peer(link.get());
  rtnl_link_set_name(link.get(), std::string(name).c_str());
  rtnl_link_set_name(peer, std::string(peer_name).c_str());
  // IFLA_NET_NS_FD inside the peer's info puts that end straight into the
  // target namespace: no window where both ends sit on the host.
  if (peer_netns_fd >= 0) rtnl_link_set_ns_fd(peer, peer_netns_fd);
  int err = rtnl_link_add(nl.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_put(peer);
  if (err < 0) return nl_error(err, fmt::format("create veth {} (peer {})", name, peer_name));
  return ok();
}

Result<void> create_bridge(const NlSocket& nl, std::string_view name) {
  TRY(validate_link_name(name));
  LinkPtr link(rtnl_link_bridge_alloc());
  if (!link.get()) return make_error("allocate bridge");
  rtnl_link_set_name(link.get(), std::string(name).c_str());
  int err = rtnl_link_add(nl.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err < 0) return nl_error(err, fmt::format("create bridge {}", name));
  return ok();
}

Result<void> create_macvlan(const NlSocket& nl, std::string_view parent, std::string_view name,
                            int netns_fd) {
  TRY(validate_link_name(name));
  LinkPtr lower = TRY_CTX(fetch(nl, parent), "macvlan {}", name);
  LinkPtr link(rtnl_link_macvlan_alloc());
  if (!link.get()) return make_error("allocate macvlan");
  rtnl_link_set_name(link.get(), std::string(name).c_str());
  rtnl_link_set_link(link.get(), rtnl_link_get_ifindex(lower.get()));
  int err = rtnl_link_macvlan_set_mode(link.get(), rtnl_link_macvlan_str2mode("bridge"));
  if (err < 0) return nl_error(err, "macvlan mode bridge");
  // The kernel resolves IFLA_LINK in this socket's namespace and creates the
  // device in the target one.
  if (netns_fd >= 0) rtnl_link_set_ns_fd(link.get(), netns_fd);
  err = rtnl_link_add(nl.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err < 0) return nl_error(err, fmt::format("create macvlan {} on {}", name, parent));
  return ok();
}

Result<void> move_link(const NlSocket& nl, std::string_view name, int netns_fd,
                       std::string_view new_name) {
  if (netns_fd < 0) return make_error("move link {}: no target namespace", name);
  LinkPtr c = alloc();
  rtnl_link_set_ns_fd(c.get(), netns_fd);
  if (!new_name.empty()) {
    TRY(validate_link_name(new_name));
    rtnl_link_set_name(c.get(), std::string(new_name).c_str());
  }
  return change(nl, name, c.get(), "move link");
}

Result<void> rename_link(const NlSocket& nl, std::string_view name, std::string_view new_name) {
  TRY(validate_link_name(new_name));
  LinkPtr c = alloc();
  rtnl_link_set_name(c.get(), std::string(new_name).c_str());
  return change(nl, name, c.get(), "rename link");
}

Result<void> set_link_up(const NlSocket& nl, std::string_view name, bool up) {
  LinkPtr c = alloc();
  if (up)
    rtnl_link_set_flags(c.get(), IFF_UP);
  else
    rtnl_link_unset_flags(c.get(), IFF_UP);
  return change(nl, name, c.get(), up ? "set up" : "set down");
}

Result<void> set_link_mac(const NlSocket& nl, std::string_view name, std::string_view mac) {
  nl_addr* a = nullptr;
  int err = nl_addr_parse(std::string(mac).c_str(), AF_LLC, &a);
  if (err < 0 || nl_addr_get_len(a) != 6) {
    if (a) nl_addr_put(a);
    return make_error("invalid mac address '{}'", mac);
  }
  LinkPtr c = alloc();
  rtnl_link_set_addr(c.get(), a);
  nl_addr_put(a);
  return change(nl, name, c.get(), "set mac address of");
}

Result<void> set_link_master(const NlSocket& nl, std::string_view name, std::string_view master) {
  int master_index = 0;
  if (!master.empty()) {
    LinkPtr m = TRY(fetch(nl, master));
    master_index = rtnl_link_get_ifindex(m.get());
  }
  LinkPtr c = alloc();
  rtnl_link_set_master(c.get(), master_index);
  return change(nl, name, c.get(), fmt::format("enslave to bridge {}: link", master));
}

Result<void> delete_link(const NlSocket& nl, std::string_view name) {
  LinkPtr l = TRY(fetch(nl, name));
  LinkPtr d = alloc();
  rtnl_link_set_ifindex(d.get(), rtnl_link_get_ifindex(l.get()));
  int err = rtnl_link_delete(nl.get(), d.get());
  if (err < 0) {
    Error e = nl_error(err, fmt::format("delete link {}", name));
    if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) e.code = ENODEV;
    return e;
  }
  return ok();
}

Result<bool> delete_link_if_exists(const NlSocket& nl, std::string_view name) {
  auto r = delete_link(nl, name);
  if (r) return true;
  // ENODEV also covers a link that vanished between lookup and delete, e.g.
  // the peer of a veth whose other end was deleted.
  if (r.error().code == ENODEV) return false;
  return std::move(r).error();
}

Result<void> loopback_up(const NlSocket& nl) {
  return set_link_up(nl, "lo");
}

}  // namespace berth::net
