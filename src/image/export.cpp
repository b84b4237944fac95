// `berth image export`: an image's tree as a pax tar, compressed as the file
// name's suffix says, written beside it and renamed into place.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>

#include "base/files.h"
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
  auto names = TRY_CTX(dir_names(dir), "{}", prefix);
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

namespace {

// An archive being written to FILE (through FILE.tmp-PID, renamed into
// place by finish) or to stdout ("-": a plain tar, nothing renamed).
class Output {
 public:
  static Result<std::unique_ptr<Output>> open(const Libarchive& la, const std::string& file) {
    auto ends = [&](const char* s) { return file.ends_with(s); };
    int (*filter)(struct archive*) = nullptr;
    if (ends(".tar.gz") || ends(".tgz"))
      filter = la.archive_write_add_filter_gzip;
    else if (ends(".tar.xz") || ends(".txz"))
      filter = la.archive_write_add_filter_xz;
    else if (ends(".tar.zst") || ends(".tzst"))
      filter = la.archive_write_add_filter_zstd;
    else if (!ends(".tar") && file != "-")
      return make_error("{}: expected a name ending in .tar, .tar.gz, .tar.xz or .tar.zst, or -",
                        file);
    std::unique_ptr<Output> o(new Output(la, file));
    if (file == "-") {
      o->fd_.reset(::fcntl(1, F_DUPFD_CLOEXEC, 3));
      if (!o->fd_) return errno_error("stdout");
    } else {
      o->tmp_ = fmt::format("{}.tmp-{}", file, ::getpid());
      o->fd_.reset(::open(o->tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      if (!o->fd_) return errno_error("create {}", o->tmp_);
    }
    o->a_ = la.archive_write_new();
    if (!o->a_) return make_error("archive_write_new failed");
    if (la.archive_write_set_format_pax_restricted(o->a_) != ARCHIVE_OK ||
        (filter && filter(o->a_) != ARCHIVE_OK) ||
        la.archive_write_open_fd(o->a_, o->fd_.get()) != ARCHIVE_OK)
      return make_error("{}: {}", file,
                        la.archive_error_string(o->a_) ?: "cannot write an archive");
    return o;
  }
  ~Output() {
    if (a_) la_.archive_write_free(a_);
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
  }
  struct archive* archive() {
    return a_;
  }

  // Closes the archive, syncs the file and renames it into place; its size.
  Result<uint64_t> finish() {
    if (la_.archive_write_close(a_) != ARCHIVE_OK)
      return make_error("{}: {}", file_,
                        la_.archive_error_string(a_) ?: "cannot finish the archive");
    struct stat st;
    if (tmp_.empty()) return uint64_t{0};
    if (::fsync(fd_.get()) < 0) return errno_error("fsync {}", tmp_);
    if (::fstat(fd_.get(), &st) < 0) return errno_error("stat {}", tmp_);
    if (::rename(tmp_.c_str(), file_.c_str()) < 0)
      return errno_error("rename {} to {}", tmp_, file_);
    tmp_.clear();
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  Output(const Libarchive& la, std::string file) : la_(la), file_(std::move(file)) {}
  const Libarchive& la_;
  std::string file_, tmp_;
  UniqueFd fd_;
  struct archive* a_ = nullptr;
};

}  // namespace

Result<uint64_t> export_tar(const decl::Paths& p, const std::string& name, const std::string& file,
                            const Progress& progress) {
  auto meta = TRY(read_metadata(p, name));
  const Libarchive& la = *TRY(libarchive());
  if (file == "-") return make_error("-: expected a file name");
  std::string rootfs = image_rootfs(p, name);
  UniqueFd root(::open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return errno_error("open {}", rootfs);
  struct stat st;
  if (::fstat(root.get(), &st) < 0) return errno_error("stat {}", rootfs);
  auto out = TRY(Output::open(la, file));
  Writer w(la, out->archive(), progress, meta.tree_bytes);
  TRY(w.one(AT_FDCWD, rootfs.c_str(), ".", st));
  return out->finish();
}

Result<uint64_t> write_bundle(const std::string& file, const std::vector<BundleFile>& files,
                              const std::vector<BundlePart>& parts, const Progress& progress) {
  const Libarchive& la = *TRY(libarchive());
  auto out = TRY(Output::open(la, file));
  struct archive* a = out->archive();
  // The root, then the small files, then each tree under its name.
  struct stat st = {};
  st.st_mode = S_IFDIR | 0700;
  st.st_mtime = ::time(nullptr);
  struct archive_entry* e = la.archive_entry_new();
  struct FreeEntry {
    const Libarchive& la;
    struct archive_entry* e;
    ~FreeEntry() { la.archive_entry_free(e); }
  } free_entry{la, e};
  auto header = [&](const std::string& path, const struct stat& s) -> Result<void> {
    la.archive_entry_clear(e);
    la.archive_entry_copy_pathname(e, path.c_str());
    la.archive_entry_copy_stat(e, &s);
    if (la.archive_write_header(a, e) < ARCHIVE_WARN)
      return make_error("{}: {}", path, la.archive_error_string(a) ?: "cannot write it");
    return ok();
  };
  TRY(header(".", st));
  for (auto& f : files) {
    st.st_mode = S_IFREG | 0600;
    st.st_size = static_cast<off_t>(f.content.size());
    TRY(header("./" + f.name, st));
    if (la.archive_write_data(a, f.content.data(), f.content.size()) < 0)
      return make_error("{}: {}", f.name, la.archive_error_string(a) ?: "cannot write it");
  }
  uint64_t total = 0;
  Writer w(la, a, progress, total);
  for (auto& part : parts) {
    struct stat ps;
    if (::lstat(part.dir.c_str(), &ps) < 0) return errno_error("stat {}", part.dir);
    TRY(w.one(AT_FDCWD, part.dir.c_str(), "./" + part.name, ps));
  }
  return out->finish();
}

Result<void> read_bundle(const std::string& file, const std::string& dir, bool keep_setid,
                         const Limits& limits, const Progress& progress) {
  UniqueFd in;
  if (file == "-")
    in.reset(::fcntl(0, F_DUPFD_CLOEXEC, 3));
  else
    in.reset(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return errno_error("{}", file);
  struct stat st;
  if (::fstat(in.get(), &st) < 0) return errno_error("stat {}", file);
  if (S_ISDIR(st.st_mode)) return make_error("{}: a directory, not an archive", file);
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return errno_error("open {}", dir);
  ExtractOptions eo{.keep_setid = keep_setid,
                    .keep_whiteouts = true,
                    .limits = limits,
                    .progress = progress,
                    .input_size = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0};
  TRY(extract(in.get(), root.get(), eo));
  return ok();
}

}  // namespace berth::image
