// From a container declaration to what the engine runs: the OCI spec, the
// generated root of a share_host container, and the NAME.conf summary.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "decl/decl.h"
#include "decl/paths.h"
#include "oci/spec.h"

namespace berth::decl {

struct SpecContext {
  Paths paths;
  // The network namespace the manager made (and configured) for a
  // private_network container; empty means a new, loopback-only one.
  std::string netns_path;
  bool terminal = false;
  // The uid/gid base the manager chose for private_users = "pick".
  std::optional<uint32_t> picked_uid_base;
  // Where the host's /usr & co. are looked up (tests use a fake host).
  std::string host_root = "/";

  // The host's part of the spec that runs (manager::launch_spec fills it
  // from the host; left empty, the spec has none of it):
  // - the host directory of the container's notify socket: bound at
  //   /run/host/notify, NOTIFY_SOCKET names it inside (when the tree has
  //   /run; a /run tmpfs is added for it so nothing is made in the tree);
  std::string notify_dir;
  // - the capabilities the host can grant (its bounding set, bit N for
  //   capability N): the others are left out rather than fail the start;
  //   unset: every one;
  std::optional<uint64_t> grantable_capabilities;
  // - the profile a container with seccomp = true and no profile of its
  //   own gets.
  std::optional<oci::Seccomp> default_seccomp;
  // A rootless berth's maps (manager/rootless.h; they take the place of
  // picked_uid_base): root inside is the caller, 1.. its subordinate ids.
  // Nothing is idmapped (only the host's root can idmap a mount).
  struct UserMaps {
    std::vector<oci::IdMapping> uids, gids;
  };
  std::optional<UserMaps> rootless_maps;
};

// The directories a share_host container takes read-only from the host, when
// they exist there; a symlink (Debian 12's /bin -> usr/bin) is mirrored as a
// symlink instead.
std::vector<std::string> shared_host_dirs();
// systemd-nspawn's default capability set for a system container (booted
// ones; they run in a user namespace unless private_users = "no").
std::vector<std::string> default_capabilities();
// The OCI default set a command container gets (podman's: CHOWN,
// DAC_OVERRIDE, FOWNER, FSETID, KILL, NET_BIND_SERVICE, SETFCAP, SETGID,
// SETPCAP, SETUID, SYS_CHROOT), plus AUDIT_WRITE (login and sshd's PAM write
// audit records). No CAP_SYS_ADMIN: every read-only mount stays read-only.
std::vector<std::string> command_capabilities();
// What c's processes get: the set of its kind, NET_RAW for a command with a
// network namespace of its own (ping there, never raw packets on the host's
// links), NET_ADMIN for a booted system with a private network (it manages
// its own namespace) or a tun device, then additional_capabilities.
std::vector<std::string> capabilities_of(const Container& c);
// Why root in c can take over the host ("" when it cannot): a booted
// container without a user namespace, or a command container given
// CAP_SYS_ADMIN (or SYS_MODULE, SYS_RAWIO, DAC_READ_SEARCH) outside one.
std::string host_takeover_reason(const Container& c);
// The one warning line check, plan and start print for it ("" when none).
std::string host_takeover_warning(const Container& c);

// Its cgroup, in every hierarchy (linux.cgroupsPath): /berth/NAME.
std::string cgroup_path_of(const Container& c);

// Compiles the declaration and the host's part of ctx into the complete spec
// the container runs with: rootfs, args, env (container=berth), hostname,
// mounts, capabilities, namespaces, devices, resources, cgroupsPath
// /berth/NAME, the notify socket, the default seccomp profile. It only reads
// the host (device numbers, which shared dirs exist, the tree's /run).
Result<oci::Spec> to_spec(const Container& c, const SpecContext& ctx);

// Creates <state>/containers/NAME/rootfs for a share_host container: mount
// points and symlinks for the shared dirs, the usual top-level dirs, and a
// small /etc. passwd and group are written only when missing (the container
// may add users); hosts, hostname and nsswitch.conf are rewritten on every
// call (resolv.conf is the manager's, as resolv_conf says: manager/resolv.h).
Result<void> prepare_share_host_root(const Container& c, const Paths& paths,
                                     const std::string& host_root = "/");

// The NixOS-like KEY=VALUE summary of a container for scripts (sourceable by
// sh): HOST_ADDRESS=, LOCAL_ADDRESS=, PRIVATE_NETWORK=, HOST_PORT=tcp:8080:80,...
std::string summary_conf_text(const Container& c);
// Writes it atomically to paths.summary_conf(NAME) (creating the etc dir).
Result<void> write_summary_conf(const Container& c, const Paths& paths);

}  // namespace berth::decl
