// `berth image import`: a tar from a file or an http(s) URL, checked,
// extracted into a temporary directory beside the store's images and
// renamed into place.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>

#include "base/files.h"
#include "image/internal.h"

namespace berth::image {

std::string now_utc() {
  std::time_t t = std::time(nullptr);
  struct tm tm;
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

// The URL's directory and file name, without a query or fragment.
std::pair<std::string, std::string> split_url(const std::string& url) {
  std::string u = url.substr(0, url.find_first_of("?#"));
  size_t slash = u.rfind('/');
  return {u.substr(0, slash + 1), u.substr(slash + 1)};
}

// The SHA-256 a URL must have: --checksum, else the SHA256SUMS beside it
// (none without verify).
Result<std::string> expected_for_url(const std::string& url, const ImportOptions& o) {
  if (!o.checksum.empty() || !o.verify) return lower(o.checksum);
  auto [dir, file] = split_url(url);
  if (file.empty()) return make_error("{}: the URL names no file", url);
  auto sums = fetch_text(dir + "SHA256SUMS", 1 << 20);
  if (!sums) {
    if (sums.error().code == ENOENT)
      return make_error("{}SHA256SUMS: not found (give --checksum SHA256, or --no-verify)", dir);
    return std::move(sums).error().wrap("SHA256SUMS");
  }
  return TRY_CTX(checksum_for(*sums, file), "{}SHA256SUMS", dir);
}

Error mismatch(const std::string& source, const std::string& got, const std::string& want) {
  return make_error("{}: checksum mismatch: its SHA-256 is {}, expected {}", source, got, want);
}

}  // namespace

// Moves the finished tree into place (exchanged with the old image under
// force, which the staging directory's removal then takes).
Result<bool> commit(Staging& staging, const std::string& dest, bool force) {
  if (force &&
      ::renameat2(AT_FDCWD, staging.path().c_str(), AT_FDCWD, dest.c_str(), RENAME_EXCHANGE) == 0)
    return true;
  if (::rename(staging.path().c_str(), dest.c_str()) < 0) {
    if (errno == EEXIST || errno == ENOTEMPTY)
      return make_error("an image of that name exists (--force replaces it)");
    return errno_error("rename {} to {}", staging.path(), dest);
  }
  staging.release();
  return false;
}

Result<ImportReport> import(const decl::Paths& p, const std::string& name,
                            const std::string& source, const ImportOptions& o) {
  TRY(check_name(name));
  if (!o.checksum.empty() && !is_sha256_hex(lower(o.checksum)))
    return make_error("--checksum {}: expected a SHA-256 (64 hex digits)", o.checksum);
  std::string images = images_dir(p), dest = image_dir(p, name);
  if (path_exists(dest) && !o.force)
    return make_error("an image of that name exists (--force replaces it)");
  bool url = is_url(source);
  if (url && !source.starts_with("http://") && !source.starts_with("https://"))
    return make_error("{}: only http:// and https:// URLs can be imported", source);
  std::string origin, want = lower(o.checksum);
  UniqueFd in;
  if (url) {
    origin = source;
    want = TRY(expected_for_url(source, o));
  } else {
    in.reset(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) return errno_error("{}", source);
    origin = std::filesystem::absolute(source).lexically_normal().string();
  }

  TRY(mkdir_p(images, 0755));
  clean_dead_staging(images);
  auto staging = TRY(Staging::make(images, name));
  if (url) {
    std::string file = staging.path() + "/download";
    in.reset(::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!in) return errno_error("create {}", file);
    ::unlink(file.c_str());  // the open file is enough
    std::string got = TRY(download(source, in.get(), o.limits.max_bytes, o.progress));
    if (!want.empty() && got != want) return mismatch(source, got, want);
    if (::lseek(in.get(), 0, SEEK_SET) < 0) return errno_error("seek {}", file);
  }
  struct stat st;
  if (::fstat(in.get(), &st) < 0) return errno_error("stat {}", source);
  if (S_ISDIR(st.st_mode)) return make_error("{}: a directory, not an archive", source);

  std::string rootfs = staging.path() + "/rootfs";
  if (::mkdir(rootfs.c_str(), 0755) < 0) return errno_error("mkdir {}", rootfs);
  UniqueFd root(::open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return errno_error("open {}", rootfs);
  ExtractOptions eo{.keep_setid = o.keep_setid,
                    .limits = o.limits,
                    .progress = o.progress,
                    .input_size = static_cast<uint64_t>(st.st_size)};
  auto x = TRY(extract(in.get(), root.get(), eo));
  if (!want.empty() && x.sha256 != want) return mismatch(source, x.sha256, want);

  ImportReport r;
  r.meta = {name, origin, x.sha256, x.read_bytes, now_utc(), x.format, x.entries, x.tree_bytes};
  r.skipped = std::move(x.skipped);
  TRY(write_file_atomic(staging.path() + "/metadata.json", to_json(r.meta), 0644));
  r.replaced = TRY(commit(staging, dest, o.force));
  return r;
}

Result<void> adopt(const decl::Paths& p, const std::string& tree, Metadata meta) {
  TRY(check_name(meta.name));
  std::string images = images_dir(p), dest = image_dir(p, meta.name);
  if (path_exists(dest)) return make_error("an image {} exists", meta.name);
  TRY(mkdir_p(images, 0755));
  clean_dead_staging(images);
  auto staging = TRY(Staging::make(images, meta.name));
  std::string rootfs = staging.path() + "/rootfs";
  if (::rename(tree.c_str(), rootfs.c_str()) < 0) return errno_error("rename {}", tree);
  meta.created = now_utc();
  TRY(write_file_atomic(staging.path() + "/metadata.json", to_json(meta), 0644));
  TRY(commit(staging, dest, false));
  return ok();
}

}  // namespace berth::image
