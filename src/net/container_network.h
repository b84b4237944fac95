// A container's whole network (NixOS containers' networking options), built
// in the host namespace and the container's namespace before the container's
// init starts, and removed again after it stops.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/ip.h"
#include "net/nft.h"

namespace berth::net {

inline constexpr const char* kContainerLink = "eth0";

// An extra veth pair (NixOS extraVeths.NAME): NAME on both sides, bridged on
// the host or routed with addresses like the main veth (without a default
// route in the container).
struct ExtraVeth {
  std::string name;
  std::string host_bridge;
  std::optional<IpPrefix> host_address, host_address6, local_address, local_address6;
  std::string local_mac_address;
  // DNAT from the host to local_address(6), like the main veth's forwards:
  // from ::1 too when routed with host_address6, not when bridged.
  std::vector<PortForward> forward_ports;
};

struct ContainerNetwork {
  std::string name;  // the container's name
  // Host side of ve-NAME (unused with host_bridge) and the container's eth0.
  // Plain addresses are /32 and /128 with host routes both ways; with a bridge
  // the local address carries its prefix.
  std::optional<IpPrefix> host_address, host_address6, local_address, local_address6;
  std::string host_bridge;              // enslave vb-NAME to this bridge
  std::string local_mac_address;        // MAC of eth0
  std::vector<std::string> macvlans;    // host links; the container gets mv-LINK
  std::vector<std::string> interfaces;  // host links moved into the container
  std::vector<ExtraVeth> extra_veths;
  // DNAT from the host to local_address(6); also from ::1 when routed with
  // host_address6 (a bridged container's v6 forwards skip ::1)
  std::vector<PortForward> forward_ports;
  bool nat = false;        // masquerade the container's traffic out of the host
  std::string hosts_file;  // "NAME.containers" entries here; empty: none

  // A veth is made when any address, the bridge or the MAC is set.
  bool has_veth() const;
  // ve-NAME, or vb-NAME with a bridge (shortened to 15 bytes by host_link_name).
  std::string host_link() const;
};

// The name of the macvlan the container gets for host link `host_if`.
std::string macvlan_link_name(const std::string& host_if);

Result<void> validate_network(const ContainerNetwork& n);

// Builds it all: first removes what a crashed earlier run may have left
// (links of the same names, the container's nft rules and hosts entries),
// then the veth (created with its eth0 end directly in the container
// namespace), addresses, routes and default routes (v4 and v6), macvlans,
// moved interfaces, extra veths, port forwards (the extra veths' too) and NAT
// (these also turn on forwarding (IPv6 too when a local_address6 is set),
// route_localnet for IPv4 forwards and a local ::1 route on ve-NAME or the
// extra veth for IPv6 ones, so that both work from the host's loopback, in
// the host namespace),
// and the hosts entries. Any failure undoes what was built.
// host_netns_fd may be kCurrentNetns; container_netns_fd must be a namespace.
Result<void> setup_container_network(const ContainerNetwork& n, int host_netns_fd,
                                     int container_netns_fd);

// Replaces the port forwards and NAT of a running container by n's (a live
// update, no restart): forwarding, route_localnet and the ::1 routes as
// setup makes them, then the container's nft rules swapped in one batch;
// with none left, its rules are removed.
Result<void> update_forwards(const ContainerNetwork& n, int host_netns_fd);

// Attaches and detaches macvlans and moved interfaces live: those only in
// `before` are deleted (macvlans) or returned to the host (interfaces), those
// only in `now` are made or moved in and set up, as setup does.
Result<void> update_links(const ContainerNetwork& before, const ContainerNetwork& now,
                          int host_netns_fd, int container_netns_fd);

// Removes the host side: hosts entries, nft rules, host links (and with them
// their routes); with a live container_netns_fd, also deletes the macvlans
// and returns moved interfaces to the host namespace (with kCurrentNetns
// they are left to the kernel, which destroys or returns them when the
// namespace dies). Best effort: it carries on past failures and reports the
// first. Removing what is not there is not an error.
Result<void> teardown_container_network(const ContainerNetwork& n, int host_netns_fd,
                                        int container_netns_fd = kCurrentNetns);

}  // namespace berth::net
