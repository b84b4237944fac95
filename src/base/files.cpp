#include "base/files.h"
#include "base/mountinfo.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace berth {

Result<std::string> read_fd(int fd) {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open {}", path);
  auto r = read_fd(fd.get());
  if (!r) return std::move(r).error().wrap(path);
  return r;
}

Result<void> write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

Result<void> write_file_atomic(const std::string& path, std::string_view data, mode_t mode,
                               bool durable) {
  std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return errno_error("open {}", tmp);
  // A full or failing disk leaves no half-written temporary behind.
  if (auto r = write_all(fd.get(), data); !r) {
    ::unlink(tmp.c_str());
    return std::move(r).error().wrap(tmp);
  }
  if (durable && ::fsync(fd.get()) < 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return code_error(e, "fsync {}", tmp);
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return code_error(e, "rename {} to {}", tmp, path);
  }
  if (!durable) return ok();
  std::string dir = std::filesystem::path(path).parent_path().string();
  UniqueFd dfd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd) ::fsync(dfd.get());
  return ok();
}

Result<void> write_existing(const std::string& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd) return errno_error("open {}", path);
  // Kernel files want the value in one write(2).
  ssize_t n;
  do {
    n = ::write(fd.get(), data.data(), data.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("write {} to {}", data, path);
  return ok();
}

Result<void> mkdir_p(const std::string& path, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return code_error(ec.value(), "mkdir {}", path);
  (void)mode;
  return ok();
}

Result<UniqueFd> lock_exclusive(const std::string& path, int open_flags) {
  UniqueFd fd(::open(path.c_str(), open_flags | O_CLOEXEC));
  if (!fd) return errno_error("open {}", path);
  while (::flock(fd.get(), LOCK_EX) < 0)
    if (errno != EINTR) return errno_error("lock {}", path);
  return fd;
}

Result<void> remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec && ec.value() != ENOENT) return code_error(ec.value(), "remove {}", path);
  return ok();
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string unescape_mountinfo(const std::string& s) {
  auto octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) && octal(s[i + 3])) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

Result<std::vector<std::string>> dir_names(int dir_fd) {
  // Its own open file: readdir moves the offset, and closedir closes it.
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = fd < 0 ? nullptr : ::fdopendir(fd);
  if (!d) {
    int e = errno;
    if (fd >= 0) ::close(fd);
    errno = e;
    return errno_error("read a directory");
  }
  std::vector<std::string> names;
  errno = 0;
  while (auto* e = ::readdir(d))
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      names.push_back(e->d_name);
  int err = errno;
  ::closedir(d);
  if (err) {
    errno = err;
    return errno_error("read a directory");
  }
  return names;
}

}  // namespace berth
