// The container's root as the monitor hands it to the engine: a throwaway
// overlay for `ephemeral`, an idmapped view for `private_users`, and the
// picked uid range of private_users = "pick".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "base/result.h"
#include "base/unique_fd.h"
#include "decl/decl.h"
#include "decl/paths.h"
#include "manager/runtime.h"
#include "oci/spec.h"

namespace berth::manager {

// As systemd-nspawn --private-users=pick: bases are multiples of 0x10000 in
// [kPickMin, kPickMax).
inline constexpr uint32_t kPickMin = 0x00080000;
inline constexpr uint32_t kPickMax = 0x6FFF0000;

// Where a picked range is recorded: <state>/containers/NAME/private-users.
std::string uid_range_file(const decl::Paths& paths, const std::string& name);
// The range recorded for NAME, if any.
std::optional<uint32_t> recorded_uid_base(const decl::Paths& paths, const std::string& name);

// The uid/gid base of a private_users = "pick" container: the recorded one
// when it still collides with no other container, else a base derived from
// the name (re-derived on a collision with another container's recorded or
// fixed range, or with a host user or group), recorded so that it stays the
// same across restarts. Serialized by a lock under <state>. record = false
// only says which base it would be (`berth spec`), writing nothing.
Result<uint32_t> pick_uid_base(const decl::Paths& paths, const decl::Container& c,
                               const decl::Declarations& decls, bool record = true);

// The base of c's user namespace: its fixed base, the picked one, or none.
Result<std::optional<uint32_t>> uid_base_of(const decl::Paths& paths, const decl::Container& c,
                                            const decl::Declarations& decls, bool record = true);

// Hands the container's cgroup (cgroupsPath `relative`) to its root, host
// uid `uid`, as systemd-nspawn --private-users does for a booted system: in
// the v2 tree the directory, cgroup.procs, cgroup.threads and
// cgroup.subtree_control (its own limits stay the host's); the name=systemd
// v1 hierarchy wholly; no v1 controller hierarchy.
Result<void> delegate_cgroup(const std::string& relative, uint32_t uid);

// The network namespace berth makes for a container in a user namespace is
// the host's user namespace's (it is built before the container exists), so
// its root's CAP_NET_BIND_SERVICE and CAP_NET_RAW do not reach it: in that
// namespace only, any uid may bind ports below 1024 and open ICMP sockets
// (what Docker sets in every container's network namespace).
Result<void> open_netns_to_userns(int netns);

// Makes spec.root.path what the container should see, in the calling
// process's own mount namespace (unshared on first use, so that nothing is
// ever mounted on the host and everything goes when the monitor and the
// container are gone, even after a SIGKILL):
//  - ephemeral: an overlay with the tree as its lower layer and a fresh tmpfs
//    for upper/work, so changes vanish at stop (and at each restart);
//  - uid_base: the tree idmapped to the container's range (a file owned by
//    uid N on disk appears owned by N inside), and the share_host binds of
//    the host's /usr & co. marked "ridmap". Where the kernel or filesystem
//    cannot idmap, the tree is used as it is and the returned note says why.
// Returns a note for the log ("" when there is nothing to say).
//  - image: an overlay of the image's tree (idmapped as above) under the
//    container's own layer (ensure_layer), kept across starts; while it runs
//    the monitor holds a shared lock on the image (hold_image).
struct EarlyRoot;  // below
// early: what start_image_root began, if anything.
Result<std::string> prepare_root(const decl::Paths& paths, const RunDir& rd,
                                 const decl::Container& c, oci::Spec& spec,
                                 std::optional<uint32_t> uid_base, EarlyRoot* early = nullptr);
// Whether prepare_root has anything to do for c.
bool needs_private_root(const decl::Container& c);
// Removes the (unmounted) mount point dirs prepare_root made under the run dir.
void remove_root_dirs(const RunDir& rd);

// STATE/images/IMAGE opened and share-locked: an `image import --force` or
// `image remove` then leaves the replaced tree in place until the lock goes.
Result<UniqueFd> hold_image(const decl::Paths& paths, const std::string& image);
// The container's writable layer (upper/ and work/ under
// paths.container_layer), made on first use with an upper dir owned and
// moded as the image's root; returns its path.
Result<std::string> ensure_layer(const decl::Paths& paths, const decl::Container& c);
// The overlay of lower and layer's upper/work (user.overlay xattrs) on its
// way to root: begin_layered_root mounts it at once when userns < 0;
// otherwise a child mounts it from inside that user namespace as its root
// (for a layer seen through a mount idmapped to it) while the caller goes
// on, and finish_layered_root attaches what the child made (the child
// itself is left to the caller's reaping of any child, the monitor's
// loop). Dropped unfinished, the child is killed.
struct PendingOverlay {
  pid_t pid = -1;
  UniqueFd sock;
  std::string root;
  PendingOverlay() = default;
  PendingOverlay(PendingOverlay&& o) noexcept
      : pid(std::exchange(o.pid, -1)), sock(std::move(o.sock)), root(std::move(o.root)) {}
  PendingOverlay& operator=(PendingOverlay&& o) noexcept {
    std::swap(pid, o.pid);
    std::swap(sock, o.sock);
    std::swap(root, o.root);
    return *this;
  }
  ~PendingOverlay();
};
Result<PendingOverlay> begin_layered_root(const std::string& lower, const std::string& layer,
                                          const std::string& root, int userns);
Result<void> finish_layered_root(PendingOverlay& p);

// The first half of prepare_root, for a container on an image (not
// ephemeral): the image held, the user namespace made, the image and the
// layer idmapped and the overlay begun. The monitor starts it before it
// compiles and writes the spec, which the overlay's mount (~1 ms of work in
// the layer's filesystem) then overlaps; prepare_root finishes it.
struct EarlyRoot {
  bool started = false;
  std::string note, lower;
  UniqueFd userns;
  bool idmapped = false;
  PendingOverlay overlay;
};
// Does nothing (leaves early.started false) unless c is on an image and
// not ephemeral.
Result<void> start_image_root(const decl::Paths& paths, const RunDir& rd, const decl::Container& c,
                              std::optional<uint32_t> uid_base, EarlyRoot& early);

}  // namespace berth::manager
