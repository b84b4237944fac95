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

namespace berth::decl {
struct ImageRecipe;
}

namespace berth::image {

// What an OCI image's config says a container runs (import-oci): the
// defaults of a command container on the image.
struct OciConfig {
  std::vector<std::string> env;         // "KEY=VALUE"
  std::vector<std::string> entrypoint;  // then cmd: the command
  std::vector<std::string> cmd;
  std::string working_dir;
  std::string user;  // "uid[:gid]" or names of the image's /etc/passwd and /etc/group
  bool operator==(const OciConfig&) const = default;
};

// What metadata.json says of an image.
struct Metadata {
  std::string name;
  std::string origin;               // the absolute file path or the URL imported
  std::string sha256;               // of the bytes imported (the archive as read)
  uint64_t size = 0;                // those bytes
  std::string created;              // UTC, RFC 3339 ("2026-12-06T23:59:01Z")
  std::string format;               // "tar", "tar.gz", "tar.xz", "tar.zst"
  uint64_t entries = 0;             // archive entries extracted
  uint64_t tree_bytes = 0;          // bytes of file data in rootfs/
  std::optional<OciConfig> config;  // an OCI image's (format "oci")
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

// Adds the tree at `tree` (moved, so on the store's filesystem) as image
// meta.name, with meta (its `created` set now); an existing image of that
// name refuses it.
Result<void> adopt(const decl::Paths& p, const std::string& tree, Metadata meta);

// Imports the OCI image at source, "PATH[:TAG]" (an image layout directory
// or an oci-archive tar): the manifest tagged TAG (or the only one), its
// layers applied in order with whiteouts, its config kept in metadata
// (format "oci", sha256 the manifest's digest). As import, nothing is left
// behind on failure. checksum and verify do not apply.
Result<ImportReport> import_oci(const decl::Paths& p, const std::string& name,
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

// A container export (manager: export/import): small files, then trees,
// each under its own name at the archive's root.
struct BundleFile {
  std::string name;  // "berth-export.json"
  std::string content;
};
struct BundlePart {
  std::string name;  // "image", "layer", "tree"
  std::string dir;   // the tree on disk
};
// berth-export.json of a container export: what it is and what it needs.
inline constexpr const char* kExportFormat = "berth-container/1";
struct ExportInfo {
  std::string name;
  std::string kind;   // "image", "path" or "share_host"
  std::string image;  // kind image: its name and the SHA-256 of its import
  std::string sha256;
};
// Every field checked (format, names, kind, a 64-hex sha256 for an image).
Result<ExportInfo> parse_export_info(std::string_view json);

// Writes them as one pax tar to FILE, compressed as its suffix says (as
// export_tar), through FILE.tmp-PID renamed into place; "-" writes a plain
// tar to stdout. Returns the file's size (0 for stdout).
Result<uint64_t> write_bundle(const std::string& file, const std::vector<BundleFile>& files,
                              const std::vector<BundlePart>& parts, const Progress& progress = {});
// Extracts the bundle FILE ("-": stdin) into dir, an empty directory, as
// safely as an image import (extract.cpp), keeping overlay whiteouts.
Result<void> read_bundle(const std::string& file, const std::string& dir, bool keep_setid,
                         const Limits& limits, const Progress& progress = {});

// --- images built from their declaration ([images.NAME], build.cpp) --------
// The SHA-256 of decl::recipe_text: what a built image's metadata keeps as
// its sha256, and how a build knows it is up to date.
Result<std::string> recipe_hash(const decl::ImageRecipe& r);
enum class BuildState {
  Missing,   // no image of that name
  Stale,     // built from another recipe
  UpToDate,  // built from this one
  Imported,  // an image of that name that was not built (build --force replaces it)
};
Result<BuildState> build_state(const decl::Paths& p, const decl::ImageRecipe& r);
struct BuildOptions {
  bool force = false;  // build even when up to date; replace an imported image
  // Each line mmdebstrap prints, as it prints it.
  std::function<void(const std::string& line)> log;
  std::string apt_dir = "/etc/apt";  // whose sources a recipe without a mirror uses
};
struct BuildReport {
  Metadata meta;
  bool built = false;     // false: it was up to date
  bool replaced = false;  // an older image of that name was replaced
  double seconds = 0;
};
// Builds image r.name with mmdebstrap (root mode) unless it is up to date:
// the suite's sources from o.apt_dir (every deb entry of SUITE and
// SUITE-*) or r.mirror, then the declared files, then the run commands in a
// chroot; the build's machine-id and host name removed. As import, nothing
// is left behind on failure or cancel().
Result<BuildReport> build(const decl::Paths& p, const decl::ImageRecipe& r, const BuildOptions& o);

// Removes the old trees of replaced images that no container runs on any
// longer, and what dead imports and builds left (an import or build does it
// first, too; apply does it after restarting the users of rebuilt images).
void remove_replaced(const decl::Paths& p);

// What copy_tree copied.
struct CopyReport {
  uint64_t files = 0, bytes = 0;
  uint64_t reflinked = 0;         // files that share their data with the source (FICLONE)
  uint64_t dirs = 0, others = 0;  // directories; links, devices, fifos, sockets
};
// Copies the tree at src to dst (which must not exist; its parent must):
// every file type, owners, modes, xattrs of all namespaces (user.overlay.*
// of a container's layer, security.capability), times and hard links; file
// data shared by reflink where the filesystem can, else copy_file_range.
// Nothing is left at dst on failure.
Result<CopyReport> copy_tree(const std::string& src, const std::string& dst);

}  // namespace berth::image
