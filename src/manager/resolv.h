// The container's /etc/resolv.conf at each start (decl::ResolvConf, as
// systemd-nspawn --resolv-conf), and whether berth's DNS forwarder serves it.
#pragma once

#include <string>
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

}  // namespace berth::manager
