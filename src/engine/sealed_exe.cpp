#include "engine/sealed_exe.h"

#include <elf.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "engine/mount_options.h"

extern char** environ;

namespace berth::engine {
namespace {
constexpr const char* kMarkerName = "_BERTH_SEALED_EXE";
// The host path of the binary a protected copy was exec'd from (the marker's
// value): its siblings are opened through the same kind of mount.
std::string g_origin;

std::string self_path() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<size_t>(n));
}

// Protected: a sealed memfd, or any file on a read-only mount (the detached
// overlay below, or a runtime installed on a read-only /usr): neither can be
// reopened for writing through /proc/PID/exe.
bool is_protected(int fd) {
  int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals >= 0 && (seals & F_SEAL_WRITE) && (seals & F_SEAL_SEAL)) return true;
  struct statvfs st;
  return ::fstatvfs(fd, &st) == 0 && (st.f_flag & ST_RDONLY);
}

bool sealed_already() {
  UniqueFd fd(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  return fd && is_protected(fd.get());
}

// The zero-copy way (Linux 5.2+, root): a detached, read-only overlayfs
// mount whose top layer is the binary's directory. The exec'd file shares
// the page cache with the real binary, and nothing can write through it:
// an overlay without an upper layer refuses writes, and the mount is
// read-only. The mount has no path and goes away with its last user.
// Overlayfs wants two lower layers when it has no upper one; any directory
// apart from the binary's is a harmless second one (the binary's is on top).
UniqueFd open_through_overlay(const std::string& path) {
  auto slash = path.rfind('/');
  if (path.empty() || path[0] != '/' || slash == std::string::npos || slash == 0 ||
      path.ends_with(" (deleted)"))
    return {};
  std::string dir = path.substr(0, slash), name = path.substr(slash + 1);
  // The second layer must not overlap the first (overlayfs says ELOOP).
  auto overlaps = [&](const std::string& d) {
    return (dir + "/").starts_with(d + "/") || (d + "/").starts_with(dir + "/");
  };
  const char* second = nullptr;
  for (const char* d : {"/run", "/etc", "/tmp", "/var"})
    if (!overlaps(d)) {
      second = d;
      break;
    }
  if (!second) return {};
  UniqueFd ctx(static_cast<int>(::syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC)));
  if (!ctx) return {};
  std::string lower = overlay_escape(dir) + ":" + second;
  if (::syscall(SYS_fsconfig, ctx.get(), FSCONFIG_SET_STRING, "lowerdir", lower.c_str(), 0) != 0)
    return {};
  // Else overlayfs may enable xino and log about it when layers differ in fs.
  (void)::syscall(SYS_fsconfig, ctx.get(), FSCONFIG_SET_STRING, "xino", "off", 0);
  if (::syscall(SYS_fsconfig, ctx.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) return {};
  UniqueFd mnt(
      static_cast<int>(::syscall(SYS_fsmount, ctx.get(), FSMOUNT_CLOEXEC,
                                 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID)));
  if (!mnt) return {};
  UniqueFd exe(::openat(mnt.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!exe) return {};
  // The same file, not something else of that name under the overlay.
  struct stat a, b;
  if (::fstat(exe.get(), &a) != 0 || ::stat(path.c_str(), &b) != 0 || a.st_size != b.st_size ||
      !S_ISREG(a.st_mode))
    return {};
  return exe;
}

// A sealed memfd holding what the kernel and ld.so load of the ELF file at
// exe: the debug sections that follow it can be most of the file.
Result<UniqueFd> sealed_copy(int exe, const char* name) {
  Elf64_Ehdr eh;
  if (::pread(exe, &eh, sizeof eh, 0) != sizeof eh ||
      std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
    return make_error("{} is not a 64-bit ELF file", name);
  std::vector<Elf64_Phdr> ph(eh.e_phnum);
  ssize_t want = static_cast<ssize_t>(sizeof(Elf64_Phdr) * ph.size());
  if (::pread(exe, ph.data(), static_cast<size_t>(want), static_cast<off_t>(eh.e_phoff)) != want)
    return errno_error("read program headers");
  uint64_t end = eh.e_phoff + sizeof(Elf64_Phdr) * ph.size();
  for (auto& p : ph) end = std::max<uint64_t>(end, p.p_offset + p.p_filesz);
  int mfd = static_cast<int>(::syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (mfd < 0) return errno_error("memfd_create");
  UniqueFd copy(mfd);
  off_t off = 0;
  while (static_cast<uint64_t>(off) < end) {
    ssize_t n = ::sendfile(copy.get(), exe, &off, end - static_cast<uint64_t>(off));
    if (n < 0) return errno_error("copy {}", name);
    if (n == 0) break;
  }
  // No section headers beyond the copied part.
  eh.e_shoff = 0;
  eh.e_shnum = 0;
  eh.e_shstrndx = 0;
  if (::pwrite(copy.get(), &eh, sizeof eh, 0) != sizeof eh) return errno_error("write ELF header");
  if (::fcntl(copy.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) <
      0)
    return errno_error("seal the copy of {}", name);
  return copy;
}

void exec_fd(int fd, char** argv, const std::string& origin) {
  std::string marker = std::string(kMarkerName) + "=" + (origin.empty() ? "1" : origin);
  std::vector<char*> env;
  for (char** e = environ; *e; e++) env.push_back(*e);
  env.push_back(marker.data());
  env.push_back(nullptr);
  ::syscall(SYS_execveat, fd, "", argv, env.data(), AT_EMPTY_PATH);
}
}  // namespace

Result<void> ensure_sealed_exe(char** argv) {
  if (sealed_already()) {
    if (const char* m = ::getenv(kMarkerName); m && m[0] == '/') g_origin = m;
    // Keep the marker out of what children inherit.
    ::unsetenv(kMarkerName);
    return ok();
  }
  if (const char* m = ::getenv(kMarkerName); m && *m) {
    // We were exec'd from a copy that is not sealed: never loop.
    return make_error("re-executed from an unsealed copy of the runtime binary");
  }
  std::string self = self_path();
  if (UniqueFd ov = open_through_overlay(self)) {
    exec_fd(ov.get(), argv, self);
    // Fall back to the copy if that exec failed.
  }
  UniqueFd exe(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!exe) return errno_error("open /proc/self/exe");
  UniqueFd copy = TRY(sealed_copy(exe.get(), "berth-oci"));
  exec_fd(copy.get(), argv, self);
  return errno_error("exec the sealed runtime copy");
}

Result<UniqueFd> open_protected_self() {
  std::string self = g_origin.empty() ? self_path() : g_origin;
  if (UniqueFd ov = open_through_overlay(self)) return ov;
  UniqueFd exe(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!exe) return errno_error("open /proc/self/exe");
  if (is_protected(exe.get())) return exe;
  return sealed_copy(exe.get(), "berth");
}

void exec_protected(int fd, char** argv) {
  exec_fd(fd, argv, g_origin.empty() ? self_path() : g_origin);
}

Result<UniqueFd> open_protected_sibling(const std::string& name) {
  std::string self = g_origin.empty() ? self_path() : g_origin;
  auto slash = self.rfind('/');
  if (self.empty() || self[0] != '/' || slash == std::string::npos)
    return make_error("cannot tell where the running binary is (to find {} next to it)", name);
  std::string path = self.substr(0, slash + 1) + name;
  if (UniqueFd ov = open_through_overlay(path)) return ov;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open {}", path);
  if (is_protected(fd.get())) return fd;
  return sealed_copy(fd.get(), name.c_str());
}

}  // namespace berth::engine
