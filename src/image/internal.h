// What the image module's files share: extraction of an archive into a
// directory, downloads, and the store's temporary directories.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "image/image.h"
#include "image/libs.h"

namespace berth::image {

struct ExtractOptions {
  bool keep_setid = false;
  // Overlay whiteouts (character devices 0/0) are made, not skipped: a
  // container's layer in an export (bundle.cpp).
  bool keep_whiteouts = false;
  // An OCI image layer applied over the tree (oci.cpp): `.wh.NAME` removes
  // NAME, `.wh..wh..opq` empties its directory (of what lower layers put
  // there), and an entry replaces whatever a lower layer had at its name.
  bool oci_layer = false;
  Limits limits;
  Progress progress;
  uint64_t input_size = 0;  // for progress (0: unknown)
};
struct Extracted {
  std::string format;  // "tar", "tar.gz", ...
  std::string sha256;  // of the bytes read
  uint64_t read_bytes = 0, entries = 0, tree_bytes = 0;
  std::vector<std::string> skipped;
};
// Extracts the tar read from archive_fd into the directory root_fd, safely:
// see extract.cpp for what is refused and what is changed.
Result<Extracted> extract(int archive_fd, int root_fd, const ExtractOptions& o);

// Downloads url into out_fd (at most limit bytes) and returns the SHA-256 of
// what it wrote. An HTTP error is an Error with code ENOENT for 404.
Result<std::string> download(const std::string& url, int out_fd, uint64_t limit,
                             const Progress& progress);
// A small file (SHA256SUMS) into memory.
Result<std::string> fetch_text(const std::string& url, size_t limit);
// The SHA-256 that a SHA256SUMS text gives for `file`, or an error.
Result<std::string> checksum_for(std::string_view sums, std::string_view file);

bool is_url(std::string_view s);
bool is_sha256_hex(std::string_view s);
std::string lower(std::string s);

// "deb URI SUITE COMPONENTS" for each deb source of apt_dir (sources.list,
// sources.list.d/*.list and *.sources) whose suite is SUITE or SUITE-*.
std::vector<std::string> apt_sources_for(const std::string& apt_dir, const std::string& suite);

// A temporary directory STATE/images/.tmp-NAME-XXXXXX, flock'ed while it is
// in use (so the next import can tell a dead one from a running one) and
// removed on destruction unless released.
class Staging {
 public:
  static Result<Staging> make(const std::string& images, const std::string& name);
  Staging(Staging&&) = default;
  ~Staging();
  const std::string& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  Staging() = default;
  std::string path_;
  UniqueFd lock_;
};
// Removes the temporaries of imports that are no longer running.
void clean_dead_staging(const std::string& images);
// Moves the finished staging directory to dest (exchanged with the old
// image under force, which the staging directory's removal then takes);
// whether an image was replaced.
Result<bool> commit(Staging& staging, const std::string& dest, bool force);
// Now, UTC, RFC 3339 ("2026-12-06T23:59:01Z").
std::string now_utc();

}  // namespace berth::image
