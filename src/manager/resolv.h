// The container's /etc/resolv.conf at each start (decl::ResolvConf, as
// systemd-nspawn --resolv-conf), whether berth's DNS forwarder serves it,
// and the extra_hosts block of its /etc/hosts.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "decl/decl.h"
#include "decl/paths.h"
#include "net/ip.h"

namespace berth::manager {

// The host's resolv.conf and the "uplink" one behind a local stub
// (systemd-resolved's), both under the berth root (tests move them).
std::string host_resolv_conf(const decl::Paths& paths);
std::string uplink_resolv_conf(const decl::Paths& paths);

// Where c's DNS forwarder listens (resolv_conf = "auto" with a private
// network and a host address on its own veth): the host addresses; empty
// when it has none. Reads nothing.
std::vector<net::IpAddress> dns_forwarder_addresses(const decl::Container& c);

struct ResolvSetup {
  enum class Action { None, Write, Bind, Delete } action = Action::None;
  bool replace_symlink = false;  // replace-*: a symlink in the tree is replaced too
  std::string content;           // Write: the file
  std::string bind_source;       // Bind: the host file, bound read-only
  // The forwarder (auto with a private network and a host address): it
  // listens on port 53 of these addresses on the host side and forwards what
  // is not NAME.containers to the nameservers of upstream_file.
  std::vector<net::IpAddress> forwarder_listen;
  std::string upstream_file;
  std::string note;  // for the log: what was chosen and why, when not plain
};

// What c's resolv_conf means on this host now (reads the host's files).
ResolvSetup resolv_setup(const decl::Paths& paths, const decl::Container& c);

// Writes, replaces or removes ROOT/etc/resolv.conf as s says, resolving etc
// inside the tree (a symlink never leads out of it). A symlink is kept by a
// copy- mode (as nspawn's), and the returned note says so ("" when there is
// nothing to say).
Result<std::string> place_resolv_conf(const std::string& root, const ResolvSetup& s);

// The container's /etc/hosts with `extra` as a block of berth's ("# BEGIN
// berth extra_hosts" ... "# END berth extra_hosts", an "ADDR\tNAME" line
// each) in place of an earlier one, at the end; no block when extra is empty.
std::string hosts_with_extra(std::string_view content,
                             const std::map<std::string, std::string>& extra);

// Puts that into ROOT/etc/hosts, resolved inside the tree, written in place
// when the file is there (its owner stays: a user-namespaced tree is written
// through its idmapped view). A symlink is left alone; the note says so.
Result<std::string> place_extra_hosts(const std::string& root,
                                      const std::map<std::string, std::string>& extra);

}  // namespace berth::manager
