// The image store (ROOT/var/lib/berth/images/NAME: a read-only tree `rootfs/`
// and `metadata.json`) and the ways into and out of it: import from a tar
// (plain, gzip, xz, zstd) file or http(s) URL, export, list, remove.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "decl/paths.h"

namespace berth::image {

// What metadata.json says of an image.
struct Metadata {
  std::string name;
  std::string origin;       // the absolute file path or the URL imported
  std::string sha256;       // of the bytes imported (the archive as read)
  uint64_t size = 0;        // those bytes
  std::string created;      // UTC, RFC 3339 ("2026-12-06T23:59:01Z")
  std::string format;       // "tar", "tar.gz", "tar.xz", "tar.zst"
  uint64_t entries = 0;     // archive entries extracted
  uint64_t tree_bytes = 0;  // bytes of file data in rootfs/
};
std::string to_json(const Metadata& m);
// Every field checked (types, a 64-hex sha256, a known format, a valid name).
Result<Metadata> parse_metadata(std::string_view json);

std::string images_dir(const decl::Paths& p);                             // STATE/images
std::string image_dir(const decl::Paths& p, const std::string& name);     // STATE/images/NAME
std::string image_rootfs(const decl::Paths& p, const std::string& name);  // .../NAME/rootfs
// Image names follow container names: [a-z0-9-], not starting or ending in '-'.
Result<void> check_name(const std::string& name);

// Progress of a long step, as the command line shows it: `done` of `total`
// bytes (total 0: unknown).
using Progress = std::function<void(std::string_view step, uint64_t done, uint64_t total)>;

struct Limits {
  uint64_t max_entries = 2'000'000;
  uint64_t max_bytes = 64ULL << 30;  // of file data, as extracted
};

struct ImportOptions {
  std::string checksum;  // expected SHA-256 (hex); empty: none (a URL then needs SHA256SUMS)
  bool verify = true;    // a URL without --checksum needs a SHA256SUMS beside it
  bool keep_setid = false;
  bool force = false;  // replace an existing image of that name
  Limits limits;
  Progress progress;
};
struct ImportReport {
  Metadata meta;
  std::vector<std::string> skipped;  // what was left out, one line each ("device node ./dev/null")
  bool replaced = false;
};
// Imports FILE or URL as image NAME. Nothing is left behind on failure: the
// tree is extracted into a temporary directory beside the store's images,
// renamed into place once complete (temporaries of imports that died are
// removed first).
Result<ImportReport> import(const decl::Paths& p, const std::string& name,
                            const std::string& source, const ImportOptions& o);

// Every image, by name; a directory without readable metadata is listed with
// its error.
struct Listed {
  std::string name;
  std::optional<Metadata> meta;
  std::string error;
};
Result<std::vector<Listed>> list(const decl::Paths& p);
Result<Metadata> read_metadata(const decl::Paths& p, const std::string& name);

// Removes image NAME (renamed away first, so it is gone at once). `users`
// are the containers that use it: non-empty refuses, naming them.
Result<void> remove(const decl::Paths& p, const std::string& name,
                    const std::vector<std::string>& users);

// Asks the running import or export to stop (async-signal-safe: the command
// line calls it from its SIGINT, SIGTERM and SIGHUP handler); it then fails
// with "interrupted", leaving nothing behind.
void cancel();
bool cancelled();

// Writes image NAME's tree to FILE as a tar (pax), compressed as FILE's
// suffix says (.tar, .tar.gz/.tgz, .tar.xz, .tar.zst), through FILE.tmp-PID
// renamed into place.
Result<uint64_t> export_tar(const decl::Paths& p, const std::string& name, const std::string& file,
                            const Progress& progress = {});

}  // namespace berth::image
