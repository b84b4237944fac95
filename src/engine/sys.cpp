#include "engine/sys.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp/seccomp.h"

namespace berth::engine {
namespace {

class LinuxSys final : public Sys {
 public:
  constexpr LinuxSys() = default;

  int open(const char* path, int flags) override { return ::open(path, flags); }
  int openat(int dirfd, const char* path, int flags, mode_t mode) override {
    return ::openat(dirfd, path, flags, mode);
  }
  int openat2(int dirfd, const char* path, uint64_t flags, uint64_t resolve) override {
    struct open_how how = {};
    how.flags = flags;
    how.resolve = resolve;
    return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
  }
  int dup_cloexec(int fd) override { return ::fcntl(fd, F_DUPFD_CLOEXEC, 3); }
  int fstat(int fd, struct stat* st) override { return ::fstat(fd, st); }
  int stat(const char* path, struct stat* st) override { return ::stat(path, st); }
  int statfs(const char* path, struct statfs* st) override { return ::statfs(path, st); }
  int fstatfs(int fd, struct statfs* st) override { return ::fstatfs(fd, st); }
  int mkdirat(int dirfd, const char* path, mode_t mode) override {
    return ::mkdirat(dirfd, path, mode);
  }
  int unlinkat(int dirfd, const char* path, int flags) override {
    return ::unlinkat(dirfd, path, flags);
  }
  int mknodat(int dirfd, const char* path, mode_t mode, dev_t dev) override {
    return ::mknodat(dirfd, path, mode, dev);
  }
  int fchmodat(int dirfd, const char* path, mode_t mode, int flags) override {
    return ::fchmodat(dirfd, path, mode, flags);
  }
  int fchownat(int dirfd, const char* path, uid_t uid, gid_t gid, int flags) override {
    return ::fchownat(dirfd, path, uid, gid, flags);
  }
  int symlinkat(const char* target, int dirfd, const char* path) override {
    return ::symlinkat(target, dirfd, path);
  }

  int mount(const char* source, const char* target, const char* type, unsigned long flags,
            const void* data) override {
    return ::mount(source, target, type, flags, data);
  }
  int umount2(const char* target, int flags) override { return ::umount2(target, flags); }
  int mount_setattr(int dirfd, const char* path, unsigned flags, struct mount_attr* attr) override {
    return static_cast<int>(::syscall(SYS_mount_setattr, dirfd, path, flags, attr, sizeof *attr));
  }
  int open_tree(int dirfd, const char* path, unsigned flags) override {
    return static_cast<int>(::syscall(SYS_open_tree, dirfd, path, flags));
  }
  int move_mount(int from_dirfd, const char* from_path, int to_dirfd, const char* to_path,
                 unsigned flags) override {
    return static_cast<int>(
        ::syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags));
  }
  int pivot_root(const char* new_root, const char* put_old) override {
    return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
  }
  int chdir(const char* path) override { return ::chdir(path); }
  int fchdir(int fd) override { return ::fchdir(fd); }
  int chroot(const char* path) override { return ::chroot(path); }
  char* getcwd(char* buf, size_t size) override { return ::getcwd(buf, size); }

  int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4,
            unsigned long arg5) override {
    return ::prctl(option, arg2, arg3, arg4, arg5);
  }
  int setgroups(size_t n, const gid_t* groups) override { return ::setgroups(n, groups); }
  int setresgid(gid_t r, gid_t e, gid_t s) override { return ::setresgid(r, e, s); }
  int setresuid(uid_t r, uid_t e, uid_t s) override { return ::setresuid(r, e, s); }
  mode_t umask(mode_t mask) override { return ::umask(mask); }
  int capget(cap_user_header_t hdr, cap_user_data_t data) override {
    return static_cast<int>(::syscall(SYS_capget, hdr, data));
  }
  int capset(cap_user_header_t hdr, const cap_user_data_t data) override {
    return static_cast<int>(::syscall(SYS_capset, hdr, data));
  }
  int seccomp_install(const seccomp::Program& prog) override { return seccomp::install(prog); }
  int execve(const char* path, char* const argv[], char* const envp[]) override {
    return ::execve(path, argv, envp);
  }
  int execveat(int dirfd, const char* path, char* const argv[], char* const envp[],
               int flags) override {
    return static_cast<int>(::syscall(SYS_execveat, dirfd, path, argv, envp, flags));
  }
};

// Constant-initialized: no guard variable, nothing to run in the child.
constinit LinuxSys g_linux;

}  // namespace

Sys& real_sys() {
  return g_linux;
}

}  // namespace berth::engine
