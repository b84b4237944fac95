// `berth image export`: an image's tree as a pax tar, compressed as the file
// name's suffix says, written beside it and renamed into place.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "image/internal.h"

namespace berth::image {

namespace {

class Writer {
 public:
  Writer(const Libarchive& la, struct archive* a, const Progress& progress, uint64_t total)
      : la_(la), a_(a), progress_(progress), total_(total), e_(la.archive_entry_new()) {}
  ~Writer() { la_.archive_entry_free(e_); }
  Result<void> tree(int dir, const std::string& prefix);
  Result<void> one(int dir, const char* name, const std::string& path, const struct stat& st);

 private:
  Result<void> data(int fd, const std::string& path);
  void xattrs(int fd);
  Error error(const std::string& path) {
    const char* e = la_.archive_error_string(a_);
    return make_error("{}: {}", path, e ? e : "cannot write it to the archive");
  }

  const Libarchive& la_;
  struct archive* a_;
  const Progress& progress_;
  uint64_t total_, done_ = 0;
  struct archive_entry* e_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

void Writer::xattrs(int fd) {
  char names[65536];
  ssize_t n = ::flistxattr(fd, names, sizeof names);
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(names + i)) + 1) {
    char value[65536];
    ssize_t len = ::fgetxattr(fd, names + i, value, sizeof value);
    if (len >= 0) la_.archive_entry_xattr_add_entry(e_, names + i, value, static_cast<size_t>(len));
  }
}

Result<void> Writer::data(int fd, const std::string& path) {
  std::vector<char> buf(1 << 20);
  for (;;) {
    if (cancelled()) return make_error("interrupted");
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read {}", path);
    if (n == 0) return ok();
    if (la_.archive_write_data(a_, buf.data(), static_cast<size_t>(n)) < 0) return error(path);
    done_ += static_cast<uint64_t>(n);
    if (progress_) progress_("export", done_, total_);
  }
}

Result<void> Writer::one(int dir, const char* name, const std::string& path,
                         const struct stat& st) {
  if (cancelled()) return make_error("interrupted");
  la_.archive_entry_clear(e_);
  la_.archive_entry_copy_pathname(e_, path.c_str());
  la_.archive_entry_copy_stat(e_, &st);
  UniqueFd fd;
  if (S_ISLNK(st.st_mode)) {
    char target[4097];
    ssize_t n = ::readlinkat(dir, name, target, sizeof target - 1);
    if (n < 0) return errno_error("readlink {}", path);
    target[n] = 0;
    la_.archive_entry_copy_symlink(e_, target);
  } else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
    auto key = std::make_pair(st.st_dev, st.st_ino);
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
      auto [it, fresh] = links_.emplace(key, path);
      if (!fresh) {
        la_.archive_entry_copy_hardlink(e_, it->second.c_str());
        la_.archive_entry_set_size(e_, 0);
        if (la_.archive_write_header(a_, e_) < ARCHIVE_WARN) return error(path);
        return ok();
      }
    }
    fd.reset(::openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
    if (!fd) return errno_error("open {}", path);
    xattrs(fd.get());
  }
  if (la_.archive_write_header(a_, e_) < ARCHIVE_WARN) return error(path);
  if (S_ISREG(st.st_mode)) TRY(data(fd.get(), path));
  if (S_ISDIR(st.st_mode)) TRY(tree(fd.get(), path + "/"));
  return ok();
}

// Everything below dir, in name order (the same tree gives the same archive).
Result<void> Writer::tree(int dir, const std::string& prefix) {
  int dup = ::fcntl(dir, F_DUPFD_CLOEXEC, 3);
  DIR* d = dup < 0 ? nullptr : ::fdopendir(dup);
  if (!d) {
    if (dup >= 0) ::close(dup);
    return errno_error("read {}", prefix);
  }
  std::vector<std::string> names;
  while (auto* ent = ::readdir(d))
    if (std::strcmp(ent->d_name, ".") && std::strcmp(ent->d_name, ".."))
      names.push_back(ent->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (auto& n : names) {
    struct stat st;
    if (::fstatat(dir, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
      return errno_error("stat {}{}", prefix, n);
    TRY(one(dir, n.c_str(), prefix + n, st));
  }
  return ok();
}

}  // namespace

Result<uint64_t> export_tar(const decl::Paths& p, const std::string& name, const std::string& file,
                            const Progress& progress) {
  auto meta = TRY(read_metadata(p, name));
  const Libarchive& la = *TRY(libarchive());
  auto ends = [&](const char* s) { return file.ends_with(s); };
  int (*filter)(struct archive*) = nullptr;
  if (ends(".tar.gz") || ends(".tgz"))
    filter = la.archive_write_add_filter_gzip;
  else if (ends(".tar.xz") || ends(".txz"))
    filter = la.archive_write_add_filter_xz;
  else if (ends(".tar.zst") || ends(".tzst"))
    filter = la.archive_write_add_filter_zstd;
  else if (!ends(".tar"))
    return make_error("{}: expected a name ending in .tar, .tar.gz, .tar.xz or .tar.zst", file);

  std::string rootfs = image_rootfs(p, name);
  UniqueFd root(::open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return errno_error("open {}", rootfs);
  struct stat st;
  if (::fstat(root.get(), &st) < 0) return errno_error("stat {}", rootfs);
  std::string tmp = fmt::format("{}.tmp-{}", file, ::getpid());
  UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!out) return errno_error("create {}", tmp);
  struct Done {
    const Libarchive& la;
    struct archive* a;
    std::string tmp;
    bool keep = false;
    ~Done() {
      if (a) la.archive_write_free(a);
      if (!keep) ::unlink(tmp.c_str());
    }
  } done{la, la.archive_write_new(), tmp};
  struct archive* a = done.a;
  if (!a) return make_error("archive_write_new failed");
  if (la.archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
      (filter && filter(a) != ARCHIVE_OK) || la.archive_write_open_fd(a, out.get()) != ARCHIVE_OK)
    return make_error("{}: {}", file, la.archive_error_string(a) ?: "cannot write an archive");
  Writer w(la, a, progress, meta.tree_bytes);
  TRY(w.one(AT_FDCWD, rootfs.c_str(), ".", st));
  if (la.archive_write_close(a) != ARCHIVE_OK)
    return make_error("{}: {}", file, la.archive_error_string(a) ?: "cannot finish the archive");
  if (::fsync(out.get()) < 0) return errno_error("fsync {}", tmp);
  if (::fstat(out.get(), &st) < 0) return errno_error("stat {}", tmp);
  if (::rename(tmp.c_str(), file.c_str()) < 0) return errno_error("rename {} to {}", tmp, file);
  done.keep = true;
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace berth::image
