#include "net/addr.h"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <cstring>

#include <netlink/cache.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "net/link.h"

namespace berth::net {

namespace {

struct NlAddr {
  nl_addr* p = nullptr;
  NlAddr(const IpAddress& a, int prefix) {
    p = nl_addr_build(a.af(), a.bytes.data(), a.size());
    if (p) nl_addr_set_prefixlen(p, prefix);
  }
  NlAddr(const NlAddr&) = delete;
  NlAddr& operator=(const NlAddr&) = delete;
  ~NlAddr() {
    if (p) nl_addr_put(p);
  }
};

std::optional<IpAddress> from_nl(nl_addr* a) {
  if (!a) return std::nullopt;
  IpAddress out;
  int fam = nl_addr_get_family(a);
  if (fam == AF_INET && nl_addr_get_len(a) == 4)
    out.family = Family::V4;
  else if (fam == AF_INET6 && nl_addr_get_len(a) == 16)
    out.family = Family::V6;
  else if ((fam == AF_INET || fam == AF_INET6) && nl_addr_get_len(a) == 0) {
    out.family = fam == AF_INET ? Family::V4 : Family::V6;  // the default route's 0/0
    return out;
  } else
    return std::nullopt;
  std::memcpy(out.bytes.data(), nl_addr_get_binary_addr(a), out.size());
  return out;
}

}  // namespace

Result<void> add_address(const NlSocket& nl, std::string_view link, const IpPrefix& address) {
  LinkInfo l = TRY_CTX(get_link(nl, link), "add address {}", address.str());
  NlAddr local(address.address, address.length);
  if (!local.p) return make_error("add address {}: out of memory", address.str());
  rtnl_addr* a = rtnl_addr_alloc();
  rtnl_addr_set_ifindex(a, l.index);
  rtnl_addr_set_family(a, address.address.af());
  rtnl_addr_set_local(a, local.p);
  rtnl_addr_set_prefixlen(a, address.length);
  if (address.address.family == Family::V6) rtnl_addr_set_flags(a, IFA_F_NODAD);
  int err = rtnl_addr_add(nl.get(), a, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_addr_put(a);
  if (err < 0) return nl_error(err, fmt::format("add address {} to {}", address.str(), link));
  return ok();
}

Result<std::vector<IpPrefix>> list_addresses(const NlSocket& nl, std::string_view link) {
  LinkInfo l = TRY(get_link(nl, link));
  nl_cache* cache = nullptr;
  int err = rtnl_addr_alloc_cache(nl.get(), &cache);
  if (err < 0) return nl_error(err, "list addresses");
  std::vector<IpPrefix> out;
  for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_ifindex(a) != l.index) continue;
    if (auto ip = from_nl(rtnl_addr_get_local(a))) out.push_back({*ip, rtnl_addr_get_prefixlen(a)});
  }
  nl_cache_free(cache);
  return out;
}

namespace {
Result<void> add_route_of_type(const NlSocket& nl, const IpPrefix& dst, std::string_view dev,
                               const std::optional<IpAddress>& gateway, int type) {
  std::string what =
      fmt::format("add {}route {} dev {}{}", type == RTN_LOCAL ? "local " : "", dst.str(), dev,
                  gateway ? " via " + gateway->str() : std::string());
  if (gateway && gateway->family != dst.address.family)
    return make_error("{}: mixed address families", what);
  LinkInfo l = TRY_CTX(get_link(nl, dev), "{}", what);
  IpPrefix net = dst.network();
  NlAddr d(net.address, net.length);
  rtnl_route* r = rtnl_route_alloc();
  rtnl_route_set_family(r, dst.address.af());
  rtnl_route_set_table(r, RT_TABLE_MAIN);
  rtnl_route_set_protocol(r, RTPROT_STATIC);
  rtnl_route_set_type(r, type);
  rtnl_route_set_scope(r, type == RTN_LOCAL ? RT_SCOPE_HOST
                          : gateway         ? RT_SCOPE_UNIVERSE
                                            : RT_SCOPE_LINK);
  // One metric per link, so that several links can each carry the same
  // local route (IPv6 refuses a second route of equal metric).
  if (type == RTN_LOCAL) rtnl_route_set_priority(r, 1024 + static_cast<uint32_t>(l.index));
  rtnl_route_set_dst(r, d.p);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nh, l.index);
  if (gateway) {
    NlAddr gw(*gateway, max_prefix_length(gateway->family));
    rtnl_route_nh_set_gateway(nh, gw.p);
  }
  rtnl_route_add_nexthop(r, nh);  // the route owns nh now
  int err = rtnl_route_add(nl.get(), r, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_route_put(r);
  if (err < 0) return nl_error(err, what);
  return ok();
}
}  // namespace

Result<void> add_route(const NlSocket& nl, const IpPrefix& dst, std::string_view dev,
                       const std::optional<IpAddress>& gateway) {
  return add_route_of_type(nl, dst, dev, gateway, RTN_UNICAST);
}

Result<void> add_local_route(const NlSocket& nl, const IpPrefix& dst, std::string_view dev) {
  return add_route_of_type(nl, dst, dev, std::nullopt, RTN_LOCAL);
}

Result<void> add_default_route(const NlSocket& nl, const IpAddress& gateway, std::string_view dev) {
  IpPrefix any{gateway, 0};
  any.address.bytes.fill(0);
  return add_route(nl, any, dev, gateway);
}

Result<std::vector<RouteInfo>> list_routes(const NlSocket& nl, Family family) {
  nl_cache* cache = nullptr;
  int err = rtnl_route_alloc_cache(nl.get(), family == Family::V4 ? AF_INET : AF_INET6, 0, &cache);
  if (err < 0) return nl_error(err, "list routes");
  std::vector<RouteInfo> out;
  for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    if (rtnl_route_get_table(r) != RT_TABLE_MAIN || rtnl_route_get_type(r) != RTN_UNICAST) continue;
    nl_addr* dst = rtnl_route_get_dst(r);
    auto d = from_nl(dst);
    if (!d) continue;
    RouteInfo ri;
    ri.dst = {*d, static_cast<int>(nl_addr_get_prefixlen(dst))};
    if (rtnl_route_get_nnexthops(r) > 0) {
      rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
      ri.oif = rtnl_route_nh_get_ifindex(nh);
      ri.gateway = from_nl(rtnl_route_nh_get_gateway(nh));
    }
    out.push_back(ri);
  }
  nl_cache_free(cache);
  return out;
}

}  // namespace berth::net
