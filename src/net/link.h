// Network links through rtnetlink (libnl-route): veth pairs, bridges,
// macvlans, moving links between namespaces, renaming, up/down, MAC, delete.
// Every function works in the namespace its NlSocket was opened in.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "net/netns.h"

namespace berth::net {

struct LinkInfo {
  int index = 0;
  std::string name;
  std::string kind;    // "veth", "bridge", "macvlan", ... ("" for plain devices)
  unsigned flags = 0;  // IFF_*
  std::string mac;     // "aa:bb:cc:dd:ee:ff"
  int master = 0;      // ifindex of the bridge it is enslaved to, 0 if none
  bool up() const;
};

Result<std::optional<LinkInfo>> find_link(const NlSocket& nl, std::string_view name);
// As find_link, but a missing link is an error (code ENODEV).
Result<LinkInfo> get_link(const NlSocket& nl, std::string_view name);
Result<std::vector<LinkInfo>> list_links(const NlSocket& nl);

// A veth pair: `name` here, `peer_name` in the namespace peer_netns_fd
// (created there directly; kCurrentNetns keeps both ends here).
Result<void> create_veth(const NlSocket& nl, std::string_view name, std::string_view peer_name,
                         int peer_netns_fd = kCurrentNetns);
Result<void> create_bridge(const NlSocket& nl, std::string_view name);
// A macvlan in bridge mode on `parent` (a link here), created directly in
// netns_fd under `name`.
Result<void> create_macvlan(const NlSocket& nl, std::string_view parent, std::string_view name,
                            int netns_fd = kCurrentNetns);

// Moves the link into netns_fd, renamed to new_name there when given.
Result<void> move_link(const NlSocket& nl, std::string_view name, int netns_fd,
                       std::string_view new_name = {});
Result<void> rename_link(const NlSocket& nl, std::string_view name, std::string_view new_name);
Result<void> set_link_up(const NlSocket& nl, std::string_view name, bool up = true);
// mac: "aa:bb:cc:dd:ee:ff"
Result<void> set_link_mac(const NlSocket& nl, std::string_view name, std::string_view mac);
// Enslaves the link to a bridge (master empty: releases it).
Result<void> set_link_master(const NlSocket& nl, std::string_view name, std::string_view master);
Result<void> delete_link(const NlSocket& nl, std::string_view name);
// true when a link was deleted, false when there was none of that name.
Result<bool> delete_link_if_exists(const NlSocket& nl, std::string_view name);
Result<void> loopback_up(const NlSocket& nl);

}  // namespace berth::net
