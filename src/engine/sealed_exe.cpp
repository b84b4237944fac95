#include "engine/sealed_exe.h"

#include <elf.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "base/unique_fd.h"
#include "engine/mount_options.h"

extern char** environ;

namespace berth::engine {
namespace {
constexpr const char* kMarkerName = "_BERTH_SEALED_EXE";
// The number of the overlay's mount fd, kept open across the exec (below).
constexpr const char* kMountName = "_BERTH_SEALED_MNT";
constexpr long kOverlayMagic = 0x794c7630;  // OVERLAYFS_SUPER_MAGIC
// The host path of the binary a protected copy was exec'd from (the marker's
// value): its siblings are opened through the same kind of mount.
std::string g_origin;
// The detached overlay this process was exec'd from, held open until
// release_exe_mount(). The last close of a detached mount's fd dissolves it,
// and that waits for an RCU grace period (namespace_unlock: up to ~10 ms on
// a busy machine). Held across the exec and closed once the caller has what
// it came for, that wait is off the path a user waits on.
UniqueFd g_mount;

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

// name in the mount mnt: the regular file host_path is (the same size),
// not something else of that name under the mount.
UniqueFd open_in_mount(int mnt, const std::string& name, const std::string& host_path) {
  UniqueFd fd(::openat(mnt, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  struct stat a, b;
  if (!fd || ::fstat(fd.get(), &a) != 0 || ::stat(host_path.c_str(), &b) != 0 ||
      a.st_size != b.st_size || !S_ISREG(a.st_mode))
    return {};
  return fd;
}

// The zero-copy way (Linux 5.2+, root): a detached, read-only overlayfs
// mount whose top layer is the binary's directory. The exec'd file shares
// the page cache with the real binary, and nothing can write through it:
// an overlay without an upper layer refuses writes, and the mount is
// read-only. The mount has no path and goes away with its last user.
// Overlayfs wants two lower layers when it has no upper one; any directory
// apart from the binary's is a harmless second one (the binary's is on top).
UniqueFd open_through_overlay(const std::string& path, UniqueFd* mount_out = nullptr) {
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
  UniqueFd exe = open_in_mount(mnt.get(), name, path);
  if (exe && mount_out) *mount_out = std::move(mnt);
  return exe;
}

// `name` in the overlay this process was exec'd from, if it still holds it
// (the directory of the host binary, read-only): no second overlay.
UniqueFd open_in_held_mount(const std::string& name, const std::string& host_path) {
  if (!g_mount || name.empty() || name.find('/') != std::string::npos) return {};
  UniqueFd fd = open_in_mount(g_mount.get(), name, host_path);
  return fd && is_protected(fd.get()) ? std::move(fd) : UniqueFd();
}

// Takes over the overlay mount fd an exec_fd passed on (see g_mount).
void adopt_mount_from_env() {
  const char* m = ::getenv(kMountName);
  if (!m) return;
  char* end = nullptr;
  long fd = std::strtol(m, &end, 10);
  ::unsetenv(kMountName);
  if (end == m || *end || fd < 3 || fd > 1 << 20) return;
  int n = static_cast<int>(fd);
  struct statfs sf;
  if (::fcntl(n, F_SETFD, FD_CLOEXEC) < 0 || ::fstatfs(n, &sf) != 0 ||
      static_cast<long>(sf.f_type) != kOverlayMagic)
    return;  // not what an exec_fd of ours left there: leave it alone
  g_mount.reset(n);
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

// The environment for exec'ing fd: this one without old markers, plus two
// slots exec_prepared fills with the markers (pointers into p's strings are
// taken there, after any move of p); mount (if >= 0), the overlay fd the
// exec'd process inherits, numbered in the second.
PreparedExec prepare(int fd, char** argv, char** envp, const std::string& origin, int mount) {
  PreparedExec p;
  p.fd = fd;
  p.mount = mount;
  p.argv = argv;
  p.marker = std::string(kMarkerName) + "=" + (origin.empty() ? "1" : origin);
  p.mount_marker = std::string(kMountName) + "=" + std::to_string(mount);
  const std::string old_marker = std::string(kMarkerName) + "=",
                    old_mount = std::string(kMountName) + "=";
  for (char** e = envp; *e; e++) {
    std::string_view v = *e;
    if (!v.starts_with(old_marker) && !v.starts_with(old_mount)) p.env.push_back(*e);
  }
  p.env.insert(p.env.end(), {nullptr, nullptr, nullptr});
  return p;
}

void exec_fd(int fd, char** argv, const std::string& origin, int mount = -1) {
  PreparedExec p = prepare(fd, argv, environ, origin, mount);
  exec_prepared(p);
}
}  // namespace

Result<void> ensure_sealed_exe(char** argv) {
  if (sealed_already()) {
    if (const char* m = ::getenv(kMarkerName); m && m[0] == '/') g_origin = m;
    // Keep the markers out of what children inherit.
    ::unsetenv(kMarkerName);
    adopt_mount_from_env();
    return ok();
  }
  if (const char* m = ::getenv(kMarkerName); m && *m) {
    // We were exec'd from a copy that is not sealed: never loop.
    return make_error("re-executed from an unsealed copy of the runtime binary");
  }
  std::string self = self_path();
  UniqueFd mnt;
  if (UniqueFd ov = open_through_overlay(self, &mnt)) {
    exec_fd(ov.get(), argv, self, mnt.get());
    // Fall back to the copy if that exec failed.
  }
  UniqueFd exe(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!exe) return errno_error("open /proc/self/exe");
  UniqueFd copy = TRY(sealed_copy(exe.get(), "berth-oci"));
  exec_fd(copy.get(), argv, self);
  return errno_error("exec the sealed runtime copy");
}

Result<ProtectedExe> open_protected_self() {
  std::string self = g_origin.empty() ? self_path() : g_origin;
  ProtectedExe out;
  if ((out.exe = open_through_overlay(self, &out.mount))) return out;
  UniqueFd exe(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!exe) return errno_error("open /proc/self/exe");
  if (is_protected(exe.get())) {
    out.exe = std::move(exe);
    return out;
  }
  out.exe = TRY(sealed_copy(exe.get(), "berth"));
  return out;
}

PreparedExec prepare_exec(const ProtectedExe& exe, char** argv, char** envp) {
  return prepare(exe.exe.get(), argv, envp, g_origin.empty() ? self_path() : g_origin,
                 exe.mount ? exe.mount.get() : -1);
}

void exec_prepared(PreparedExec& p) {
  // The mount fd must survive the exec; without it, no marker.
  bool keep = p.mount >= 0 && ::fcntl(p.mount, F_SETFD, 0) == 0;
  p.env[p.env.size() - 3] = p.marker.data();
  p.env[p.env.size() - 2] = keep ? p.mount_marker.data() : nullptr;
  ::syscall(SYS_execveat, p.fd, "", p.argv, p.env.data(), AT_EMPTY_PATH);
  if (keep) ::fcntl(p.mount, F_SETFD, FD_CLOEXEC);
}

void release_exe_mount() {
  g_mount.reset();
}

void forget_exe_mount_in_child() {
  if (g_mount) ::close(g_mount.release());
}

Result<UniqueFd> open_protected_sibling(const std::string& name) {
  std::string self = g_origin.empty() ? self_path() : g_origin;
  auto slash = self.rfind('/');
  if (self.empty() || self[0] != '/' || slash == std::string::npos)
    return make_error("cannot tell where the running binary is (to find {} next to it)", name);
  std::string path = self.substr(0, slash + 1) + name;
  if (UniqueFd held = open_in_held_mount(name, path)) return held;
  if (UniqueFd ov = open_through_overlay(path)) return ov;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open {}", path);
  if (is_protected(fd.get())) return fd;
  return sealed_copy(fd.get(), name.c_str());
}

}  // namespace berth::engine
