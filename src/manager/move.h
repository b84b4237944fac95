// Containers copied and moved: `clone` on this host, `export` to one
// archive and `import` from it on another berth root (as machinectl
// clone/export-tar/import-tar and incus copy/move).
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "decl/paths.h"
#include "manager/created.h"

namespace berth::manager {

// `clone SRC DST`: containers.d/DST.toml with SRC's settings, and a copy of
// SRC's writable part (snapshot.h: its layer over the same image, its
// share_host state, or its tree, copied to STATE/containers/DST/tree), with
// a new machine-id where SRC had one. Addresses SRC had on a private network
// (without a bridge) are allocated anew; forward_ports are not cloned (their
// host ports are SRC's). SRC must be stopped.
struct Cloned {
  Created created;
  std::vector<std::string> notes;  // what was left out, one line each
};
Result<Cloned> clone(const decl::Paths& paths, const std::string& src, const std::string& dst);

// `export NAME FILE` of a stopped container: one tar (FILE's suffix says how
// it is compressed; "-" is a plain tar on stdout) holding berth-export.json
// (format, name, kind, image name and SHA-256), declaration.toml (its
// settings), and its files: image/ (the image's tree) and layer/ (its own
// upper layer) for one on an image, tree/ for a `path` one, state/ for a
// share_host one. Returns the archive's size (0 for stdout).
Result<uint64_t> export_container(const decl::Paths& paths, const std::string& name,
                                  const std::string& file);

struct ImportRequest {
  std::string file;  // "-": stdin
  std::string name;  // empty: the exported one
  bool keep_setid = false;
};
struct Imported {
  std::string name;
  std::string image;  // the image it runs on here (empty: none)
  bool image_added = false;
  std::vector<std::string> notes;
};
// `import FILE [NAME]`: the exported container declared in
// containers.d/NAME.toml with its files in place: an image already here
// with the same SHA-256 is used, else the archive's is added (under
// IMAGE-<12 hex> when another image has that name); a `path` tree goes to
// STATE/containers/NAME/tree. Its addresses are kept (a move); a collision
// with another container's refuses it. Nothing is left on failure.
Result<Imported> import_container(const decl::Paths& paths, const ImportRequest& req);

}  // namespace berth::manager
