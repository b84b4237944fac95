// Safe extraction of a tar into a directory. Every name is taken relative
// to the tree: an absolute name or a '..' component is refused, and a name
// is resolved one component at a time with O_NOFOLLOW, so an entry under a
// symlink (a write through it) is refused too; what is replaced is unlinked
// first and created with O_EXCL. A hard link's target is resolved the same
// way, so it is a file of the tree. Device nodes and sockets are skipped (the
// runtime makes /dev); set-uid and set-gid bits of files and file
// capabilities are dropped unless keep_setid; ownership, modes, times and
// user/trusted/ACL xattrs are kept.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/files.h"
#include "image/internal.h"

namespace berth::image {

namespace {

// The components of an archive name below the tree's root ({} for the root).
Result<std::vector<std::string>> components(std::string_view name) {
  if (name.empty()) return make_error("an entry without a name");
  if (name.front() == '/')
    return make_error("entry {}: an absolute name (refused: names are relative to the tree)", name);
  std::vector<std::string> out;
  size_t p = 0;
  while (p <= name.size()) {
    size_t slash = name.find('/', p);
    if (slash == std::string_view::npos) slash = name.size();
    std::string_view c = name.substr(p, slash - p);
    if (c == "..")
      return make_error("entry {}: a '..' component (refused: it would leave the tree)", name);
    if (!c.empty() && c != ".") out.emplace_back(c);
    p = slash + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& c, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; i++) s += (i ? "/" : "") + c[i];
  return s;
}

struct Reader {
  int fd;
  std::optional<Sha256> hash;
  uint64_t done = 0, total = 0;
  int error = 0;
  const Progress* progress;
  std::vector<char> buf = std::vector<char>(1 << 20);
};

la_ssize_t read_cb(struct archive*, void* data, const void** out) {
  auto* r = static_cast<Reader*>(data);
  ssize_t n;
  do n = cancelled() ? (errno = EINTR, -1) : ::read(r->fd, r->buf.data(), r->buf.size());
  while (n < 0 && errno == EINTR && !cancelled());
  if (n < 0) {
    r->error = errno;
    return -1;
  }
  r->hash->update(r->buf.data(), static_cast<size_t>(n));
  r->done += static_cast<uint64_t>(n);
  if (*r->progress) (*r->progress)("extract", r->done, r->total);
  *out = r->buf.data();
  return n;
}

class Extractor {
 public:
  Extractor(const Libarchive& la, struct archive* a, int root, const ExtractOptions& o)
      : la_(la), a_(a), root_(root), o_(o) {}
  Result<void> entry(struct archive_entry* e, Extracted& x);
  Result<void> finish(Extracted& x);

 private:
  Result<int> parent_of(const std::vector<std::string>& c, std::string_view name);
  Result<int> chain_to(const std::vector<std::string>& c, size_t n, bool create,
                       std::string_view name);
  void forget_chain() {
    chain_names_.clear();
    chain_fds_.clear();
  }
  Result<UniqueFd> walk(const std::vector<std::string>& c, size_t n, bool create,
                        std::string_view name);
  Result<void> make_room(int dir, const std::string& leaf, std::string_view name);
  template <class Make>
  Result<void> replacing(int dir, const std::string& leaf, std::string_view name, const char* what,
                         Make make);
  Result<void> hard_link(int dir, const std::string& leaf, const char* target,
                         std::string_view name);
  Result<void> whiteout(int dir, const std::string& leaf, std::string_view name);
  Result<void> regular(int dir, const std::string& leaf, struct archive_entry* e,
                       std::string_view name, Extracted& x);
  Result<void> owner_and_times(int dir, const std::string& leaf, struct archive_entry* e,
                               bool times, std::string_view name);
  void xattrs(int fd, struct archive_entry* e);
  mode_t mode_of(struct archive_entry* e);

  const Libarchive& la_;
  struct archive* a_;
  int root_;
  const ExtractOptions& o_;
  bool root_user_ = ::geteuid() == 0;
  // The directories last walked to, each open: the next entry is most often
  // in the same one or near it, so only what differs is opened.
  std::vector<std::string> chain_names_;
  std::vector<UniqueFd> chain_fds_;
  struct DirFix {
    std::vector<std::string> comps;
    mode_t mode;
    struct timespec mtime;
  };
  std::vector<DirFix> dirs_;
  uint64_t setid_stripped_ = 0;
};

// The directory of c[0..n) below the root, each component opened with
// O_NOFOLLOW (a symlink or a non-directory on the way is refused); missing
// ones are made (0755) when create.
Result<UniqueFd> Extractor::walk(const std::vector<std::string>& c, size_t n, bool create,
                                 std::string_view name) {
  UniqueFd cur(::fcntl(root_, F_DUPFD_CLOEXEC, 3));
  if (!cur) return errno_error("dup");
  for (size_t i = 0; i < n; i++) {
    int fd = ::openat(cur.get(), c[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(cur.get(), c[i].c_str(), 0755) < 0 && errno != EEXIST)
        return errno_error("entry {}: make {}", name, join(c, i + 1));
      fd = ::openat(cur.get(), c[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      if (errno == ELOOP || errno == ENOTDIR)
        return make_error(
            "entry {}: {} is a symlink or not a directory (refused: no write "
            "through a symlink)",
            name, join(c, i + 1));
      return errno_error("entry {}: open {}", name, join(c, i + 1));
    }
    cur.reset(fd);
  }
  return cur;
}

// As walk, through the chain of directories kept open (the returned fd is
// valid until the next call).
Result<int> Extractor::chain_to(const std::vector<std::string>& c, size_t n, bool create,
                                std::string_view name) {
  size_t k = 0;
  while (k < n && k < chain_names_.size() && chain_names_[k] == c[k]) k++;
  chain_names_.resize(k);
  chain_fds_.resize(k);
  for (size_t i = k; i < n; i++) {
    int cur = i ? chain_fds_.back().get() : root_;
    int fd = ::openat(cur, c[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(cur, c[i].c_str(), 0755) < 0 && errno != EEXIST)
        return errno_error("entry {}: make {}", name, join(c, i + 1));
      fd = ::openat(cur, c[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      int e = errno;
      forget_chain();
      if (e == ELOOP || e == ENOTDIR)
        return make_error(
            "entry {}: {} is a symlink or not a directory (refused: no write "
            "through a symlink)",
            name, join(c, i + 1));
      return code_error(e, "entry {}: open {}", name, join(c, i + 1));
    }
    chain_names_.push_back(c[i]);
    chain_fds_.emplace_back(fd);
  }
  return n ? chain_fds_[n - 1].get() : root_;
}

Result<int> Extractor::parent_of(const std::vector<std::string>& c, std::string_view name) {
  return chain_to(c, c.size() - 1, true, name);
}

Result<void> empty_dir(int dir, std::string_view name);

// Removes leaf below dir and, when it is a directory, what is in it; never
// following a symlink.
Result<void> remove_below(int dir, const std::string& leaf, std::string_view name) {
  if (::unlinkat(dir, leaf.c_str(), 0) == 0 || errno == ENOENT) return ok();
  if (errno != EISDIR) return errno_error("entry {}: remove {}", name, leaf);
  UniqueFd d(::openat(dir, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!d) return errno_error("entry {}: open {}", name, leaf);
  TRY(empty_dir(d.get(), name));
  if (::unlinkat(dir, leaf.c_str(), AT_REMOVEDIR) < 0) return errno_error("entry {}: remove", name);
  return ok();
}

Result<void> empty_dir(int dir, std::string_view name) {
  auto names = TRY_CTX(dir_names(dir), "entry {}", name);
  for (auto& n : names) TRY(remove_below(dir, n, name));
  return ok();
}

// Removes what an entry replaces (never following it; an empty directory
// only, but anything of a lower layer under oci_layer).
Result<void> Extractor::make_room(int dir, const std::string& leaf, std::string_view name) {
  if (o_.oci_layer) {
    forget_chain();  // it may hold what goes
    return remove_below(dir, leaf, name);
  }
  if (::unlinkat(dir, leaf.c_str(), 0) == 0 || errno == ENOENT) return ok();
  // (The chain of open directories ends at dir: this one is not in it.)
  if (errno == EISDIR && ::unlinkat(dir, leaf.c_str(), AT_REMOVEDIR) == 0) return ok();
  return errno_error("entry {}: replace what is there", name);
}

// Runs make() (a *at call that fails with EEXIST when leaf is there) and,
// when something is in the way, removes it and runs it again.
template <class Make>
Result<void> Extractor::replacing(int dir, const std::string& leaf, std::string_view name,
                                  const char* what, Make make) {
  if (make() == 0) return ok();
  if (errno == EEXIST) {
    TRY(make_room(dir, leaf, name));
    if (make() == 0) return ok();
  }
  return errno_error("entry {}: {}", name, what);
}

// An OCI whiteout: what a lower layer had at the name goes (all of the
// directory's entries for the opaque marker); the marker itself is not made.
Result<void> Extractor::whiteout(int dir, const std::string& leaf, std::string_view name) {
  UniqueFd d(::fcntl(dir, F_DUPFD_CLOEXEC, 3));
  if (!d) return errno_error("dup");
  forget_chain();  // it may hold what goes
  if (leaf == ".wh..wh..opq") return empty_dir(d.get(), name);
  std::string gone = leaf.substr(4);
  if (gone.empty() || gone == "." || gone == "..")
    return make_error("entry {}: a whiteout of nothing", name);
  return remove_below(d.get(), gone, name);
}

Result<void> Extractor::hard_link(int dir, const std::string& leaf, const char* target,
                                  std::string_view name) {
  auto tc = TRY_CTX(components(target), "hard link {}", name);
  if (tc.empty()) return make_error("entry {}: a hard link to the tree's root", name);
  auto tdir = TRY(walk(tc, tc.size() - 1, false, target));
  auto r = replacing(dir, leaf, name, "hard link",
                     [&] { return ::linkat(tdir.get(), tc.back().c_str(), dir, leaf.c_str(), 0); });
  if (!r && r.error().code == ENOENT)
    return make_error("entry {}: a hard link to {}, which is not in the tree before it", name,
                      target);
  return r;
}

mode_t Extractor::mode_of(struct archive_entry* e) {
  mode_t m = la_.archive_entry_perm(e) & 07777;
  if (!o_.keep_setid && la_.archive_entry_filetype(e) != AE_IFDIR && (m & (S_ISUID | S_ISGID))) {
    m &= ~(S_ISUID | S_ISGID);
    setid_stripped_++;
  }
  return m;
}

void Extractor::xattrs(int fd, struct archive_entry* e) {
  if (la_.archive_entry_xattr_reset(e) == 0) return;
  const char* n;
  const void* v;
  size_t len;
  while (la_.archive_entry_xattr_next(e, &n, &v, &len) == ARCHIVE_OK) {
    std::string_view name = n;
    bool wanted = name.starts_with("user.") || name.starts_with("trusted.") ||
                  name == "system.posix_acl_access" || name == "system.posix_acl_default" ||
                  (o_.keep_setid && name == "security.capability");
    if (!wanted) continue;
    // A filesystem without xattrs of that kind takes the file without them.
    (void)::fsetxattr(fd, n, v, len, 0);
  }
}

Result<void> Extractor::owner_and_times(int dir, const std::string& leaf, struct archive_entry* e,
                                        bool times, std::string_view name) {
  if (root_user_ &&
      ::fchownat(dir, leaf.c_str(), static_cast<uid_t>(la_.archive_entry_uid(e)),
                 static_cast<gid_t>(la_.archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) < 0)
    return errno_error("entry {}: chown", name);
  if (!times) return ok();
  struct timespec ts[2] = {{0, UTIME_OMIT},
                           {la_.archive_entry_mtime(e), la_.archive_entry_mtime_nsec(e)}};
  ts[0] = ts[1];
  if (::utimensat(dir, leaf.c_str(), ts, AT_SYMLINK_NOFOLLOW) < 0)
    return errno_error("entry {}: set its times", name);
  return ok();
}

Result<void> Extractor::regular(int dir, const std::string& leaf, struct archive_entry* e,
                                std::string_view name, Extracted& x) {
  int64_t size = la_.archive_entry_size(e);
  if (size < 0 || x.tree_bytes + static_cast<uint64_t>(size) > o_.limits.max_bytes)
    return make_error("entry {}: more than {} bytes of files in the archive (--max-size)", name,
                      o_.limits.max_bytes);
  UniqueFd fd;
  TRY(replacing(dir, leaf, name, "create", [&] {
    fd.reset(
        ::openat(dir, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    return fd ? 0 : -1;
  }));
  const void* buf;
  size_t len;
  la_int64_t off;
  int rc;
  uint64_t written = 0, end = 0;
  while ((rc = la_.archive_read_data_block(a_, &buf, &len, &off)) == ARCHIVE_OK) {
    written += len;
    end = std::max<uint64_t>(end, static_cast<uint64_t>(off) + len);
    if (written > static_cast<uint64_t>(size))
      return make_error("entry {}: more data than its size", name);
    for (size_t done = 0; done < len;) {
      ssize_t n = ::pwrite(fd.get(), static_cast<const char*>(buf) + done, len - done,
                           off + static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("entry {}: write", name);
      done += static_cast<size_t>(n);
    }
  }
  if (rc != ARCHIVE_EOF && cancelled()) return make_error("interrupted");
  if (rc != ARCHIVE_EOF)
    return make_error("entry {}: {}", name, la_.archive_error_string(a_) ?: "read error");
  x.tree_bytes += static_cast<uint64_t>(size);
  // A sparse file's hole at its end.
  if (end < static_cast<uint64_t>(size) && ::ftruncate(fd.get(), size) < 0)
    return errno_error("entry {}: truncate", name);
  if (root_user_ && ::fchown(fd.get(), static_cast<uid_t>(la_.archive_entry_uid(e)),
                             static_cast<gid_t>(la_.archive_entry_gid(e))) < 0)
    return errno_error("entry {}: chown", name);
  if (::fchmod(fd.get(), mode_of(e)) < 0) return errno_error("entry {}: chmod", name);
  xattrs(fd.get(), e);
  struct timespec ts[2] = {{la_.archive_entry_mtime(e), la_.archive_entry_mtime_nsec(e)}};
  ts[1] = ts[0];
  if (::futimens(fd.get(), ts) < 0) return errno_error("entry {}: set its times", name);
  return ok();
}

Result<void> Extractor::entry(struct archive_entry* e, Extracted& x) {
  if (cancelled()) return make_error("interrupted");
  if (++x.entries > o_.limits.max_entries)
    return make_error("more than {} entries in the archive (--max-entries)", o_.limits.max_entries);
  const char* raw = la_.archive_entry_pathname(e);
  std::string_view name = raw ? raw : "";
  auto c = TRY(components(name));
  auto type = la_.archive_entry_filetype(e);
  const char* link = la_.archive_entry_hardlink(e);
  if (c.empty()) {
    if (type != AE_IFDIR || link)
      return make_error("entry {}: the tree's root, not a directory", name);
    dirs_.push_back({{},
                     la_.archive_entry_perm(e) & 07777,
                     {la_.archive_entry_mtime(e), la_.archive_entry_mtime_nsec(e)}});
    return owner_and_times(root_, ".", e, false, name);
  }
  int dir = TRY(parent_of(c, name));
  const std::string& leaf = c.back();
  if (o_.oci_layer && leaf.starts_with(".wh.")) return whiteout(dir, leaf, name);
  if (link) return hard_link(dir, leaf, link, name);
  switch (type) {
    case AE_IFREG:
      return regular(dir, leaf, e, name, x);
    case AE_IFDIR: {
      if (::mkdirat(dir, leaf.c_str(), 0700) < 0) {
        struct stat st;
        if (errno != EEXIST || ::fstatat(dir, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
          return errno_error("entry {}: mkdir", name);
        if (!S_ISDIR(st.st_mode)) {
          TRY(make_room(dir, leaf, name));
          if (::mkdirat(dir, leaf.c_str(), 0700) < 0) return errno_error("entry {}: mkdir", name);
        }
      }
      UniqueFd d(::openat(dir, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!d) return errno_error("entry {}: open", name);
      xattrs(d.get(), e);
      dirs_.push_back(
          {c, mode_of(e), {la_.archive_entry_mtime(e), la_.archive_entry_mtime_nsec(e)}});
      return owner_and_times(dir, leaf, e, false, name);
    }
    case AE_IFLNK: {
      const char* target = la_.archive_entry_symlink(e);
      if (!target || !*target) return make_error("entry {}: a symlink without a target", name);
      TRY(replacing(dir, leaf, name, "symlink",
                    [&] { return ::symlinkat(target, dir, leaf.c_str()); }));
      return owner_and_times(dir, leaf, e, true, name);
    }
    case AE_IFIFO:
      TRY(replacing(dir, leaf, name, "mkfifo",
                    [&] { return ::mknodat(dir, leaf.c_str(), S_IFIFO | 0600, 0); }));
      TRY(owner_and_times(dir, leaf, e, false, name));
      if (::fchmodat(dir, leaf.c_str(), mode_of(e), 0) < 0)
        return errno_error("entry {}: chmod", name);
      return owner_and_times(dir, leaf, e, true, name);
    case AE_IFCHR:
      if (o_.keep_whiteouts && la_.archive_entry_rdev(e) == 0) {
        TRY(replacing(dir, leaf, name, "mknod",
                      [&] { return ::mknodat(dir, leaf.c_str(), S_IFCHR, 0); }));
        return owner_and_times(dir, leaf, e, true, name);
      }
      [[fallthrough]];
    case AE_IFBLK:
      x.skipped.push_back(fmt::format("device node {} (the runtime makes /dev)", name));
      return ok();
    case AE_IFSOCK:
      x.skipped.push_back(fmt::format("socket {}", name));
      return ok();
    default:
      return make_error("entry {}: an unknown file type", name);
  }
}

// Directories get their modes and times last: what was made in them changed
// their times.
Result<void> Extractor::finish(Extracted& x) {
  for (auto& d : dirs_) {
    std::string name = d.comps.empty() ? "./" : join(d.comps, d.comps.size());
    auto opened = chain_to(d.comps, d.comps.size(), false, name);
    if (!opened) continue;  // replaced by a later entry (a symlink is not followed)
    int fd = *opened;
    if (::fchmod(fd, d.mode) < 0) return errno_error("entry {}: chmod", name);
    struct timespec ts[2] = {d.mtime, d.mtime};
    if (::futimens(fd, ts) < 0) return errno_error("entry {}: set its times", name);
  }
  if (setid_stripped_)
    x.skipped.push_back(fmt::format("set-uid/set-gid bits of {} file(s) (--keep-setid keeps them)",
                                    setid_stripped_));
  return ok();
}

std::string format_name(int filter) {
  switch (filter) {
    case ARCHIVE_FILTER_GZIP:
      return "tar.gz";
    case ARCHIVE_FILTER_XZ:
      return "tar.xz";
    case ARCHIVE_FILTER_ZSTD:
      return "tar.zst";
    default:
      return "tar";
  }
}

}  // namespace

Result<Extracted> extract(int archive_fd, int root_fd, const ExtractOptions& o) {
  const Libarchive& la = *TRY(libarchive());
  Reader reader{archive_fd, TRY(Sha256::make()), 0, o.input_size, 0, &o.progress};
  struct archive* a = la.archive_read_new();
  if (!a) return make_error("archive_read_new failed");
  struct Free {
    const Libarchive& la;
    struct archive* a;
    ~Free() { la.archive_read_free(a); }
  } free_it{la, a};
  la.archive_read_support_format_tar(a);
  la.archive_read_support_filter_gzip(a);
  la.archive_read_support_filter_xz(a);
  la.archive_read_support_filter_zstd(a);
  auto archive_error = [&](const char* what) -> Error {
    if (cancelled()) return make_error("interrupted");
    if (reader.error) return code_error(reader.error, "read the archive");
    const char* e = la.archive_error_string(a);
    return make_error("{}: {}", what, e ? e : "unknown error");
  };
  if (la.archive_read_open(a, &reader, nullptr, read_cb, nullptr) != ARCHIVE_OK)
    return archive_error("not a tar archive (plain, gzip, xz or zstd)");
  Extracted x;
  Extractor ex(la, a, root_fd, o);
  for (;;) {
    struct archive_entry* e;
    int rc = la.archive_read_next_header(a, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN)
      return archive_error(x.entries ? "a damaged archive"
                                     : "not a tar archive (plain, gzip, xz or zstd)");
    if (x.entries == 0) x.format = format_name(la.archive_filter_code(a, 0));
    TRY(ex.entry(e, x));
  }
  if (x.entries == 0) return make_error("the archive has no entries");
  TRY(ex.finish(x));
  // The checksum is of the whole file, whatever follows the tar's end.
  for (;;) {
    const void* unused;
    la_ssize_t n = read_cb(a, &reader, &unused);
    if (n < 0)
      return cancelled() ? make_error("interrupted") : code_error(reader.error, "read the archive");
    if (n == 0) break;
  }
  x.read_bytes = reader.done;
  x.sha256 = reader.hash->hex();
  return x;
}

}  // namespace berth::image
