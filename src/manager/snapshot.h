// Snapshots of a stopped container's writable part (machinectl's and
// Incus's snapshots): its own layer when it runs on an image, the state dir
// root of a share_host one, the tree of a `path` one. Kept under
// STATE/snapshots/NAME/SNAP/{tree,info.json}, copied with image::copy_tree
// (reflinked where the filesystem can); `destroy` removes them,
// `reset-state` does not. Also `clone`, which copies that part into a new
// container.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "decl/decl.h"
#include "decl/paths.h"

namespace berth::manager {

struct SnapshotInfo {
  std::string name;
  std::string created;  // UTC, RFC 3339
  uint64_t files = 0, bytes = 0;
  std::string image;  // "NAME@sha256:HEX" it was taken over, for one on an image
};

// The writable part of c on disk (see above); for an image, its layer's
// upper dir, made empty when the container never ran.
Result<std::string> writable_tree(const decl::Paths& paths, const decl::Container& c);

std::string snapshots_dir(const decl::Paths& paths, const std::string& name);

// Takes snapshot snap (empty: the UTC time, YYYYMMDD-HHMMSS) of stopped c.
Result<SnapshotInfo> snapshot(const decl::Paths& paths, const decl::Container& c,
                              const std::string& snap);
// c's snapshots, oldest first.
Result<std::vector<SnapshotInfo>> snapshots(const decl::Paths& paths, const std::string& name);
// Puts stopped c's writable part back as snapshot snap has it (the snapshot stays).
Result<void> restore(const decl::Paths& paths, const decl::Container& c, const std::string& snap);
Result<void> remove_snapshot(const decl::Paths& paths, const std::string& name,
                             const std::string& snap);

}  // namespace berth::manager
