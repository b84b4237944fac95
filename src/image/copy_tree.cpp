// An exact copy of a tree (image/image.h: copy_tree): what snapshots,
// clones and restores of a container's writable layer are made with.
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "base/files.h"
#include "base/unique_fd.h"
#include "image/image.h"

namespace berth::image {

namespace {

class TreeCopier {
 public:
  // dst_root: the directory the copy's relative paths start from.
  TreeCopier(CopyReport& r, int dst_root) : report_(r), dst_root_(dst_root) {}

  // Copies the directory src_dir (an open fd) into dst_dir's new entry name
  // (rel: that entry's path from dst_root).
  Result<void> dir(int src_dir, int dst_parent, const std::string& name, const struct stat& st,
                   const std::string& shown, const std::string& rel) {
    if (::mkdirat(dst_parent, name.c_str(), 0700) < 0) return errno_error("mkdir {}", shown);
    UniqueFd dst(
        ::openat(dst_parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dst) return errno_error("open {}", shown);
    TRY(entries(src_dir, dst.get(), shown, rel));
    // Owner, mode, xattrs and times once its entries are in (their creation
    // changes its mtime, and a read-only mode would refuse them).
    TRY(attributes(src_dir, dst.get(), st, shown));
    report_.dirs++;
    return ok();
  }

 private:
  Result<void> entries(int src_dir, int dst_dir, const std::string& shown, const std::string& rel) {
    auto names = TRY_CTX(dir_names(src_dir), "{}", shown);
    // fmt rather than operator+: g++ 12 warns (-Wrestrict) on the latter here.
    for (auto& n : names)
      TRY(entry(src_dir, dst_dir, n, fmt::format("{}/{}", shown, n), fmt::format("{}/{}", rel, n)));
    return ok();
  }

  Result<void> entry(int src_dir, int dst_dir, const std::string& n, const std::string& shown,
                     const std::string& rel) {
    if (cancelled()) return make_error("interrupted");
    struct stat st;
    if (::fstatat(src_dir, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
      return errno_error("stat {}", shown);
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(::openat(src_dir, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) return errno_error("open {}", shown);
      return dir(sub.get(), dst_dir, n, st, shown, rel);
    }
    // A hard link to a file copied already: the same link here.
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto it = links_.find({st.st_dev, st.st_ino});
      if (it != links_.end()) {
        if (::linkat(dst_root_, it->second.c_str(), dst_dir, n.c_str(), 0) < 0)
          return errno_error("link {}", shown);
        return ok();
      }
    }
    if (S_ISREG(st.st_mode)) {
      TRY(file(src_dir, dst_dir, n, st, shown));
    } else if (S_ISLNK(st.st_mode)) {
      TRY(symlink(src_dir, dst_dir, n, st, shown));
    } else {
      // Device nodes, fifos, sockets (and overlay whiteouts, char 0/0).
      if (::mknodat(dst_dir, n.c_str(), st.st_mode & (S_IFMT | 07777), st.st_rdev) < 0)
        return errno_error("mknod {}", shown);
      UniqueFd s(::openat(src_dir, n.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd t(::openat(dst_dir, n.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (!s || !t) return errno_error("open {}", shown);
      TRY(attributes(s.get(), t.get(), st, shown));
      report_.others++;
    }
    if (st.st_nlink > 1) links_.emplace(std::make_pair(st.st_dev, st.st_ino), rel.substr(1));
    return ok();
  }

  Result<void> file(int src_dir, int dst_dir, const std::string& n, const struct stat& st,
                    const std::string& shown) {
    UniqueFd in(::openat(src_dir, n.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in) return errno_error("open {}", shown);
    UniqueFd out(
        ::openat(dst_dir, n.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) return errno_error("create {}", shown);
    if (st.st_size > 0) {
      if (::ioctl(out.get(), FICLONE, in.get()) == 0) {
        report_.reflinked++;
      } else {
        off_t left = st.st_size;
        while (left > 0) {
          ssize_t k = ::copy_file_range(in.get(), nullptr, out.get(), nullptr,
                                        static_cast<size_t>(left), 0);
          if (k < 0 && errno == EINTR) continue;
          if (k < 0) return errno_error("copy {}", shown);
          if (k == 0) break;  // the file shrank meanwhile
          left -= k;
        }
      }
    }
    report_.files++;
    report_.bytes += static_cast<uint64_t>(st.st_size);
    return attributes(in.get(), out.get(), st, shown);
  }

  Result<void> symlink(int src_dir, int dst_dir, const std::string& n, const struct stat& st,
                       const std::string& shown) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t k = ::readlinkat(src_dir, n.c_str(), target.data(), target.size());
    if (k < 0) return errno_error("readlink {}", shown);
    target.resize(static_cast<size_t>(k));
    if (::symlinkat(target.c_str(), dst_dir, n.c_str()) < 0)
      return errno_error("symlink {}", shown);
    if (::fchownat(dst_dir, n.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
      return errno_error("chown {}", shown);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(dst_dir, n.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
      return errno_error("set the times of {}", shown);
    report_.others++;
    return ok();
  }

  // Owner, then mode (a chown clears set-id bits), xattrs, times. src and
  // dst are fds of the objects (O_PATH ones through /proc/self/fd).
  Result<void> attributes(int src, int dst, const struct stat& st, const std::string& shown) {
    std::string sp = fmt::format("/proc/self/fd/{}", src),
                dp = fmt::format("/proc/self/fd/{}", dst);
    if (::fchownat(dst, "", st.st_uid, st.st_gid, AT_EMPTY_PATH) < 0)
      return errno_error("chown {}", shown);
    if (!S_ISLNK(st.st_mode) && ::chmod(dp.c_str(), st.st_mode & 07777) < 0)
      return errno_error("chmod {}", shown);
    TRY(xattrs(sp, dp, shown));
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(AT_FDCWD, dp.c_str(), times, 0) < 0)
      return errno_error("set the times of {}", shown);
    return ok();
  }

  Result<void> xattrs(const std::string& sp, const std::string& dp, const std::string& shown) {
    ssize_t len = ::listxattr(sp.c_str(), nullptr, 0);
    if (len < 0) {
      if (errno == ENOTSUP || errno == EOPNOTSUPP) return ok();
      return errno_error("list the xattrs of {}", shown);
    }
    if (len == 0) return ok();
    std::string names(static_cast<size_t>(len), '\0');
    len = ::listxattr(sp.c_str(), names.data(), names.size());
    if (len < 0) return errno_error("list the xattrs of {}", shown);
    names.resize(static_cast<size_t>(len));
    for (size_t pos = 0; pos < names.size();) {
      std::string key = names.c_str() + pos;
      pos += key.size() + 1;
      ssize_t vlen = ::getxattr(sp.c_str(), key.c_str(), nullptr, 0);
      if (vlen < 0) return errno_error("read xattr {} of {}", key, shown);
      std::string value(static_cast<size_t>(vlen), '\0');
      vlen = ::getxattr(sp.c_str(), key.c_str(), value.data(), value.size());
      if (vlen < 0) return errno_error("read xattr {} of {}", key, shown);
      if (::setxattr(dp.c_str(), key.c_str(), value.data(), static_cast<size_t>(vlen), 0) < 0)
        return errno_error("set xattr {} of {}", key, shown);
    }
    return ok();
  }

  CopyReport& report_;
  int dst_root_;
  // Files with more links: where their first copy is, from dst_root.
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

}  // namespace

Result<CopyReport> copy_tree(const std::string& src, const std::string& dst) {
  CopyReport report;
  UniqueFd from(::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!from) return errno_error("open {}", src);
  struct stat st;
  if (::fstat(from.get(), &st) < 0) return errno_error("stat {}", src);
  size_t slash = dst.rfind('/');
  if (slash == std::string::npos || slash + 1 == dst.size())
    return make_error("{}: expected an absolute path to a new directory", dst);
  std::string parent = slash == 0 ? std::string("/") : dst.substr(0, slash);
  std::string leaf = dst.substr(slash + 1);
  UniqueFd into(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!into) return errno_error("open {}", parent);
  // Only what this copy made is removed on failure.
  if (::faccessat(into.get(), leaf.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    return make_error("{} exists", dst);
  TreeCopier copier(report, into.get());
  if (auto r = copier.dir(from.get(), into.get(), leaf, st, src, fmt::format("/{}", leaf)); !r) {
    (void)remove_tree(dst);
    return std::move(r).error();
  }
  return report;
}

}  // namespace berth::image
