// copy-to / copy-from (see copy.h). Both sides are walked through
// descriptors: a directory is opened once and everything in it by one name
// relative to it with O_NOFOLLOW, so a tree that changes under the copy (a
// directory swapped for a symlink by the container) fails the copy instead
// of leading it elsewhere.
#include "manager/copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "base/files.h"
#include "base/unique_fd.h"
#include "engine/rootfs.h"
#include "manager/running.h"

namespace berth::manager {

namespace {

constexpr int kMaxDepth = 256;

// path in the container (O_PATH), every component resolved inside its root
// (engine::open_in_root); an error says "PATH: why", as the host side's do.
Result<UniqueFd> open_in_container(int root_fd, const std::string& path) {
  auto fd = engine::open_in_root(root_fd, path, engine::Create::No);
  if (fd) return std::move(*fd);
  errno = fd.error().code;
  return errno_error("{}", path);
}

// The directory a copy goes into and the copy's name there ("" when the
// destination is that directory itself: "/").
struct Destination {
  UniqueFd dir;
  std::string name;
  std::string shown;  // the path as given, for messages
};

// Lexically normal and absolute: no "." or ".." and no trailing slash.
std::filesystem::path normal(const std::string& p) {
  auto n = std::filesystem::path(p).lexically_normal();
  if (n.has_filename() || n == n.root_path()) return n;
  return n.parent_path();  // "a/b/" -> "a/b"
}

Result<Destination> destination(const std::string& path, int root_fd /* -1: the host */) {
  auto p = normal(root_fd < 0 ? std::filesystem::absolute(path).string() : path);
  Destination d;
  d.shown = path;
  d.name = p.filename().string();
  std::string parent = p.parent_path().string();
  if (root_fd >= 0) {  // every component resolved inside the container's root
    d.dir = TRY(open_in_container(root_fd, parent));
    return d;
  }
  d.dir.reset(::open(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!d.dir) return errno_error("{}", parent);
  return d;
}

const char* kind_of(mode_t m) {
  switch (m & S_IFMT) {
    case S_IFREG:
      return "a regular file";
    case S_IFDIR:
      return "a directory";
    case S_IFLNK:
      return "a symlink";
    case S_IFCHR:
      return "a character device";
    case S_IFBLK:
      return "a block device";
    case S_IFIFO:
      return "a fifo";
    case S_IFSOCK:
      return "a socket";
  }
  return "of an unknown type";
}

// Kernel interfaces, not files: never copied.
bool pseudo_filesystem(int dir_fd) {
  struct statfs fs;
  if (::fstatfs(dir_fd, &fs) < 0) return false;
  switch (static_cast<unsigned long>(fs.f_type)) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case DEVPTS_SUPER_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case SECURITYFS_MAGIC:
    case BPF_FS_MAGIC:
    case SELINUX_MAGIC:
    case SMACK_MAGIC:
    case PSTOREFS_MAGIC:
    case EFIVARFS_MAGIC:
      return true;
  }
  return false;
}

std::string temp_name(const std::string& name) {
  static std::mt19937_64 rng{std::random_device{}()};
  return fmt::format(".#berth-copy.{:016x}.{}", rng(), name.substr(0, 200));
}

Result<void> copy_bytes(int in, int out, const std::string& shown) {
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read {}", shown);
    if (n == 0) return ok();
    TRY_CTX(write_all(out, {buf, static_cast<size_t>(n)}), "write {}", shown);
  }
}

// Copies one tree into another (see Copier::node).
class Copier {
 public:
  // owner: chown what is made to it (copy-to); else it is the caller's.
  explicit Copier(std::optional<std::pair<uid_t, gid_t>> owner) : owner_(owner) {}
  // Copies the object src (an O_PATH fd, as st) to name in dir.
  Result<void> node(int src, const struct stat& st, int dir, const std::string& name,
                    const std::string& shown, int depth);
  CopyReport report;

 private:
  Result<void> file(int src, const struct stat& st, int dir, const std::string& name,
                    const std::string& shown);
  Result<void> symlink(int src, const struct stat& st, int dir, const std::string& name,
                       const std::string& shown);
  Result<void> directory(int src, const struct stat& st, int dir, const std::string& name,
                         bool exists, const std::string& shown, int depth);
  Result<void> entries(int src, int to, const std::string& shown, int depth);
  Result<void> own(int fd, const std::string& shown) {
    if (owner_ && ::fchown(fd, owner_->first, owner_->second) < 0)
      return errno_error("chown {}", shown);
    return ok();
  }
  std::optional<std::pair<uid_t, gid_t>> owner_;
};

Result<void> Copier::node(int src, const struct stat& st, int dir, const std::string& name,
                          const std::string& shown, int depth) {
  if (depth > kMaxDepth) return make_error("{}: more than {} levels deep", shown, kMaxDepth);
  struct stat have;
  bool exists = name.empty() ? ::fstat(dir, &have) == 0
                             : ::fstatat(dir, name.c_str(), &have, AT_SYMLINK_NOFOLLOW) == 0;
  if (!exists && errno != ENOENT) return errno_error("{}", shown);
  if (exists && (have.st_mode & S_IFMT) != (st.st_mode & S_IFMT))
    return make_error("{} exists and is {}; not replacing it with {}", shown, kind_of(have.st_mode),
                      kind_of(st.st_mode));
  if (S_ISREG(st.st_mode)) return file(src, st, dir, name, shown);
  if (S_ISLNK(st.st_mode)) return symlink(src, st, dir, name, shown);
  if (S_ISDIR(st.st_mode)) {
    if (pseudo_filesystem(src)) {
      report.skipped.push_back(shown + " (a kernel filesystem)");
      return ok();
    }
    return directory(src, st, dir, name, exists, shown, depth);
  }
  report.skipped.push_back(fmt::format("{} ({})", shown, kind_of(st.st_mode)));
  return ok();
}

// Written under a temporary name, then renamed over name.
Result<void> Copier::file(int src, const struct stat& st, int dir, const std::string& name,
                          const std::string& shown) {
  UniqueFd in(::open(fmt::format("/proc/self/fd/{}", src).c_str(),
                     O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!in) return errno_error("open {}", shown);
  std::string tmp = temp_name(name);
  UniqueFd out(
      ::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return errno_error("create {}", shown);
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  auto r = [&]() -> Result<void> {
    TRY(copy_bytes(in.get(), out.get(), shown));
    TRY(own(out.get(), shown));
    // After the chown, which clears set-user-ID and set-group-ID bits.
    if (::fchmod(out.get(), st.st_mode & 07777) < 0) return errno_error("chmod {}", shown);
    if (::futimens(out.get(), times) < 0) return errno_error("set the times of {}", shown);
    if (::renameat(dir, tmp.c_str(), dir, name.c_str()) < 0) return errno_error("{}", shown);
    return ok();
  }();
  if (!r) ::unlinkat(dir, tmp.c_str(), 0);
  if (r) report.files++;
  return r;
}

Result<void> Copier::symlink(int src, const struct stat& st, int dir, const std::string& name,
                             const std::string& shown) {
  std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
  ssize_t n = ::readlinkat(src, "", target.data(), target.size());
  if (n < 0) return errno_error("read the symlink {}", shown);
  if (static_cast<size_t>(n) >= target.size()) return make_error("{} changed while copied", shown);
  target.resize(static_cast<size_t>(n));
  std::string tmp = temp_name(name);
  if (::symlinkat(target.c_str(), dir, tmp.c_str()) < 0) return errno_error("create {}", shown);
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  Result<void> r = ok();
  if (owner_ &&
      ::fchownat(dir, tmp.c_str(), owner_->first, owner_->second, AT_SYMLINK_NOFOLLOW) < 0)
    r = errno_error("chown {}", shown);
  else if (::utimensat(dir, tmp.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
    r = errno_error("set the times of {}", shown);
  else if (::renameat(dir, tmp.c_str(), dir, name.c_str()) < 0)
    r = errno_error("{}", shown);
  if (!r) ::unlinkat(dir, tmp.c_str(), 0);
  if (r) report.symlinks++;
  return r;
}

// A directory that exists is merged into as it is; one made here gets src's
// mode and times once it is filled.
Result<void> Copier::directory(int src, const struct stat& st, int dir, const std::string& name,
                               bool exists, const std::string& shown, int depth) {
  if (!exists && ::mkdirat(dir, name.c_str(), 0700) < 0) return errno_error("create {}", shown);
  UniqueFd to(name.empty()
                  ? ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                  : ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!to) return errno_error("open {}", shown);
  if (!exists) TRY(own(to.get(), shown));
  TRY(entries(src, to.get(), shown, depth));
  if (!exists) {
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::fchmod(to.get(), st.st_mode & 07777) < 0) return errno_error("chmod {}", shown);
    if (::futimens(to.get(), times) < 0) return errno_error("set the times of {}", shown);
  }
  report.dirs++;
  return ok();
}

Result<void> Copier::entries(int src, int to, const std::string& shown, int depth) {
  int rfd = ::openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) return errno_error("open {}", shown);
  DIR* d = ::fdopendir(rfd);
  if (!d) {
    ::close(rfd);
    return errno_error("read {}", shown);
  }
  std::vector<std::string> names;
  errno = 0;
  while (auto* e = ::readdir(d))
    if (std::string n = e->d_name; n != "." && n != "..") names.push_back(n);
  int err = errno;
  ::closedir(d);
  if (err) return code_error(err, "read {}", shown);
  std::sort(names.begin(), names.end());
  std::string base = shown.ends_with("/") ? shown : shown + "/";
  for (auto& n : names) {
    UniqueFd c(::openat(src, n.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st;
    if (!c || ::fstat(c.get(), &st) < 0) return errno_error("{}{}", base, n);
    TRY(node(c.get(), st, to, n, base + n, depth + 1));
  }
  return ok();
}

// Runs copy in a child process whose filesystem ids are the container's
// root's (what it creates is that user's, also on an idmapped tree, which
// refuses ids it does not map), with every capability kept effective. The
// child reports back one line per skipped path, then the counts.
Result<CopyReport> as_fs_ids(uid_t uid, gid_t gid,
                             const std::function<Result<CopyReport>()>& copy) {
  if (uid == ::geteuid() && gid == ::getegid()) return copy();
  auto text = TRY(in_child([&]() -> Result<std::string> {
    ::setfsgid(gid);
    ::setfsuid(uid);
    set_effective_to_permitted();
    auto got = TRY(copy());
    std::string out;
    for (auto s : got.skipped) {
      std::replace(s.begin(), s.end(), '\n', ' ');
      out += s + "\n";
    }
    return out + fmt::format("{} {} {}\n", got.files, got.dirs, got.symlinks);
  }));
  CopyReport rep;
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  if (lines.empty()) return make_error("the copying process ended without its counts");
  std::istringstream counts(lines.back());
  counts >> rep.files >> rep.dirs >> rep.symlinks;
  lines.pop_back();
  rep.skipped = std::move(lines);
  return rep;
}

// The object copied: path followed (an O_PATH fd), and what it is.
struct Source {
  UniqueFd fd;
  struct stat st;
};
Result<Source> source(UniqueFd fd, const std::string& shown) {
  if (!fd) return errno_error("{}", shown);
  Source s{std::move(fd), {}};
  if (::fstat(s.fd.get(), &s.st) < 0) return errno_error("{}", shown);
  return s;
}

// path in the container, every component resolved inside its root.
Result<Source> source_in_root(int root_fd, const std::string& path) {
  return source(TRY(open_in_container(root_fd, path)), path);
}

}  // namespace

Result<CopyReport> copy_to(const decl::Paths& paths, const std::string& name,
                           const std::string& host_path, const std::string& path) {
  if (!path.starts_with("/"))
    return make_error("{}: the path in the container must be absolute", path);
  auto c = TRY(open_running(paths, name));
  auto src = TRY(source(UniqueFd(::open(host_path.c_str(), O_PATH | O_CLOEXEC)), host_path));
  auto dest = TRY_CTX(destination(path, c.root.get()), "in {}", name);
  return as_fs_ids(c.uid, c.gid, [&]() -> Result<CopyReport> {
    Copier copier(std::make_pair(c.uid, c.gid));
    TRY(copier.node(src.fd.get(), src.st, dest.dir.get(), dest.name, dest.shown, 0));
    return copier.report;
  });
}

Result<CopyReport> copy_from(const decl::Paths& paths, const std::string& name,
                             const std::string& path, const std::string& host_path) {
  if (!path.starts_with("/"))
    return make_error("{}: the path in the container must be absolute", path);
  auto c = TRY(open_running(paths, name));
  auto src = TRY_CTX(source_in_root(c.root.get(), path), "in {}", name);
  auto dest = TRY(destination(host_path, -1));
  Copier copier(std::nullopt);
  TRY(copier.node(src.fd.get(), src.st, dest.dir.get(), dest.name, dest.shown, 0));
  return copier.report;
}

}  // namespace berth::manager
