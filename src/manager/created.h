// Containers made by `berth create` (ROOT/etc/berth/containers.d/NAME.toml):
// creating one (name, addresses, the file), changing its settings, and
// destroying it. The command line parses and prints; this decides.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "decl/decl.h"
#include "decl/paths.h"

namespace berth::manager {

// What `berth create` was asked for. Options given here win over the
// settings of config_file (TOML, or JSON when named *.json).
struct CreateRequest {
  std::string name;
  std::string path;  // a system tree; empty: share_host unless the file says otherwise
  bool share_host = false;
  std::string image;                 // or an image of the store
  std::vector<std::string> command;  // empty: boot its /sbin/init unless the file says otherwise
  bool private_network = false;
  std::string host_address, local_address, host_address6, local_address6;
  std::string bridge;
  std::vector<std::string> ports;  // [tcp:|udp:]HOST_PORT[:CONTAINER_PORT]
  bool autostart = false;
  // "no", "pick" or a base uid; empty: "pick" unless the config file says.
  std::string private_users;
  bool ensure_unique = false;  // NAME taken: NAME-1, NAME-2...
  std::string config_file;
};

struct Created {
  std::string name;          // NAME, or the unique name picked
  decl::Container declared;  // as written (addresses allocated)
};

// Writes containers.d/NAME.toml. Serialized with other creates by a lock;
// refuses a taken name (unless ensure_unique), an address another container
// has (host addresses may be shared), and anything that would make the whole
// set of declarations invalid (nothing is left written then). A private
// network without addresses gets the first free 10.233.N.1/.2 and
// fd62:6572:7468:N::1/::2 pairs.
Result<Created> create(const decl::Paths& paths, CreateRequest req);

// Stops NAME, removes its state, log and declaration. Refuses containers
// declared anywhere but containers.d.
Result<void> destroy(const decl::Paths& paths, const std::string& name);

// `update NAME --config-file F`: F's settings replace NAME's in
// containers.d/NAME.toml; its tree, command, addresses, ports and autostart
// stay unless F sets them. Refuses containers declared elsewhere; leaves the
// file as it was when the result is invalid.
Result<void> replace_created_settings(const decl::Paths& paths, const std::string& name,
                                      const std::string& config_file);

// `enable NAME` / `disable NAME`: sets (or removes) `autostart = true` in
// containers.d/NAME.toml. Refuses containers declared elsewhere (naming the
// file to edit); changes nothing when autostart is already as asked.
struct AutostartChange {
  std::string file;
  bool changed = false;
};
Result<AutostartChange> set_autostart(const decl::Paths& paths, const std::string& name, bool on);

// Wipes a stopped container's state directory (for one on an image: back to
// the image, its layer gone).
Result<void> reset_state(const decl::Paths& paths, const std::string& name);

// The containers that use image NAME: declared on it, or running on it.
std::vector<std::string> image_users(const decl::Paths& paths, const std::string& image);

}  // namespace berth::manager
