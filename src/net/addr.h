// IP addresses on links and routes through rtnetlink (libnl-route), in the
// namespace the NlSocket was opened in.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "net/ip.h"
#include "net/netns.h"

namespace berth::net {

// Adds ADDR/LEN to the link (a host prefix when parsed from a plain address).
// IPv6 addresses get IFA_F_NODAD so they are usable at once.
Result<void> add_address(const NlSocket& nl, std::string_view link, const IpPrefix& address);
Result<std::vector<IpPrefix>> list_addresses(const NlSocket& nl, std::string_view link);

// A route in the main table: `dst` via `dev`, through `gateway` when given
// (a host route with scope link otherwise).
Result<void> add_route(const NlSocket& nl, const IpPrefix& dst, std::string_view dev,
                       const std::optional<IpAddress>& gateway = std::nullopt);
// A local route (delivered to this host) in the main table, bound to dev.
// IPv6 port forwards from the host's ::1 need "local ::1 dev ve-NAME": the
// container's replies are un-NATed back to ::1 as they arrive on the veth, and
// the kernel's own ::1 route only accepts packets that arrive on lo. Such a
// route goes away with its link; its metric is 1024 + the link's index, so
// each link can carry one.
Result<void> add_local_route(const NlSocket& nl, const IpPrefix& dst, std::string_view dev);
// default (0.0.0.0/0 or ::/0 by the gateway's family) via gateway dev dev.
Result<void> add_default_route(const NlSocket& nl, const IpAddress& gateway, std::string_view dev);

struct RouteInfo {
  IpPrefix dst;
  std::optional<IpAddress> gateway;
  int oif = 0;
};
// Main-table unicast routes of a family.
Result<std::vector<RouteInfo>> list_routes(const NlSocket& nl, Family family);

}  // namespace berth::net
