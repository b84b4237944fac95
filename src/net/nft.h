// Port forwarding and NAT for containers through nftables (libnftables):
// berth's own `table ip berth` and `table ip6 berth`, holding DNAT rules in
// prerouting (traffic to the host's addresses) and output (traffic from the
// host itself, loopback included) and masquerade rules in postrouting. Each
// rule carries the comment "berth:NAME", so a container's rules come and go
// with it; the tables are deleted when their last rule goes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "net/ip.h"
#include "net/netns.h"

namespace berth::net {

inline constexpr const char* kNftTable = "berth";

struct PortForward {
  std::string protocol = "tcp";  // "tcp" or "udp"
  uint16_t host_port = 0;
  uint16_t container_port = 0;  // 0: same as host_port
};

// Forwards to one more of the container's addresses (an extra veth's), with
// the same rules and the same ::1 handling (host6) as the main ones.
struct ForwardTarget {
  std::optional<IpAddress> local4, local6, host6;
  std::vector<PortForward> forwards;
};

struct NatRules {
  std::string container;
  std::optional<IpAddress> local4, local6;  // the container's addresses
  // The host's address on the container's veth. With it, IPv6 forwards also
  // answer on the host's ::1: such connections are SNATed to it (the
  // container cannot answer ::1), and need add_local_route(::1, veth) too.
  std::optional<IpAddress> host6;
  std::vector<PortForward> forwards;  // to local4 and/or local6
  bool masquerade = false;            // NAT the container's own traffic out of the host
  std::vector<ForwardTarget> extra;   // forwards to the extra veths
};

// "berth:NAME", the comment on every rule of the container.
std::string nft_rule_comment(std::string_view container);
// The nft script add_nat_rules runs (pure; empty when there is nothing to do).
Result<std::string> nat_rules_script(const NatRules& rules);

// Runs an nft script (one atomic batch) in the namespace.
Result<void> nft_run(int netns_fd, std::string_view script);
// Runs a list command and returns nft's JSON output (handles included).
Result<std::string> nft_list_json(int netns_fd, std::string_view command);

// Replaces the container's rules by these. IPv4 forwards from the host's
// loopback need route_localnet (see enable_route_localnet); IPv6 ones need
// host6 and a local ::1 route on the veth (see add_local_route).
Result<void> add_nat_rules(int netns_fd, const NatRules& rules);
// Removes every rule of the container; missing tables or rules are fine.
Result<void> remove_nat_rules(int netns_fd, std::string_view container);

// net.ipv4.ip_forward=1 and, with ipv6, net.ipv6.conf.all.forwarding=1 in
// the namespace. (IPv6 forwarding makes interfaces with accept_ra=1 ignore
// router advertisements, hence the switch.)
Result<void> enable_ip_forwarding(int netns_fd, bool ipv6 = true);
// net.ipv4.conf.all.route_localnet=1: lets DNATed 127.0.0.0/8 traffic leave
// the loopback device, which forwarding from the host's loopback needs.
Result<void> enable_route_localnet(int netns_fd);

}  // namespace berth::net
