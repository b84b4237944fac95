// The libraries an image import needs, loaded with dlopen on first use (as
// net/nft.cpp loads libnftables): libarchive (tar and its compressions),
// libcurl (http and https) and libcrypto (SHA-256). `berth` starts without
// any of them; only `berth image` loads them.
#pragma once

// The headers give the signatures only; the type-checking macros curl wraps
// curl_easy_setopt in would catch calls through the table.
#define CURL_DISABLE_TYPECHECK 1
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>

#include <cstddef>
#include <string>

#include "base/result.h"

namespace berth::image {

#define BERTH_ARCHIVE_FUNCTIONS(X)           \
  X(archive_read_new)                        \
  X(archive_read_support_format_tar)         \
  X(archive_read_support_filter_gzip)        \
  X(archive_read_support_filter_xz)          \
  X(archive_read_support_filter_zstd)        \
  X(archive_read_open)                       \
  X(archive_read_next_header)                \
  X(archive_read_data_block)                 \
  X(archive_read_free)                       \
  X(archive_error_string)                    \
  X(archive_filter_code)                     \
  X(archive_entry_pathname)                  \
  X(archive_entry_hardlink)                  \
  X(archive_entry_symlink)                   \
  X(archive_entry_filetype)                  \
  X(archive_entry_perm)                      \
  X(archive_entry_uid)                       \
  X(archive_entry_gid)                       \
  X(archive_entry_mtime)                     \
  X(archive_entry_mtime_nsec)                \
  X(archive_entry_size)                      \
  X(archive_entry_rdev)                      \
  X(archive_entry_xattr_reset)               \
  X(archive_entry_xattr_next)                \
  X(archive_write_new)                       \
  X(archive_write_set_format_pax_restricted) \
  X(archive_write_add_filter_gzip)           \
  X(archive_write_add_filter_xz)             \
  X(archive_write_add_filter_zstd)           \
  X(archive_write_open_fd)                   \
  X(archive_write_header)                    \
  X(archive_write_data)                      \
  X(archive_write_close)                     \
  X(archive_write_free)                      \
  X(archive_entry_new)                       \
  X(archive_entry_free)                      \
  X(archive_entry_clear)                     \
  X(archive_entry_copy_pathname)             \
  X(archive_entry_copy_stat)                 \
  X(archive_entry_copy_symlink)              \
  X(archive_entry_copy_hardlink)             \
  X(archive_entry_set_size)                  \
  X(archive_entry_xattr_add_entry)

#define BERTH_CURL_FUNCTIONS(X) \
  X(curl_global_init)           \
  X(curl_easy_init)             \
  X(curl_easy_setopt)           \
  X(curl_easy_perform)          \
  X(curl_easy_getinfo)          \
  X(curl_easy_strerror)         \
  X(curl_easy_cleanup)

#define BERTH_DECLARE_FN(f) decltype(&::f) f = nullptr;

struct Libarchive {
  BERTH_ARCHIVE_FUNCTIONS(BERTH_DECLARE_FN)
};
struct Libcurl {
  BERTH_CURL_FUNCTIONS(BERTH_DECLARE_FN)
};

// The loaded library, or why it cannot be loaded (naming the Debian package).
Result<const Libarchive*> libarchive();
Result<const Libcurl*> libcurl();

// SHA-256 of a stream (libcrypto's, which uses the CPU's SHA instructions).
class Sha256 {
 public:
  static Result<Sha256> make();
  Sha256(Sha256&& o) noexcept : ctx_(o.ctx_) { o.ctx_ = nullptr; }
  Sha256& operator=(Sha256&&) = delete;
  ~Sha256();
  void update(const void* data, size_t n);
  std::string hex();  // the digest in lower-case hex; ends the stream

 private:
  explicit Sha256(void* ctx) : ctx_(ctx) {}
  void* ctx_;
};

}  // namespace berth::image
