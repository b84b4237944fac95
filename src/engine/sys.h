// The system calls of the container's setup sequence (mounts, devices,
// pivot_root, the identity and capability change, seccomp, execve), behind
// one interface: LinuxSys makes them, a recording fake in the unit tests
// checks the sequence a spec produces without root (youki's Syscall).
// Every method is the system call's own shape: -1 and errno on failure.
#pragma once

#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

struct mount_attr;

namespace berth::seccomp {
struct Program;
}

namespace berth::engine {

class Sys {
 public:
  virtual ~Sys() = default;

  // Files, below a directory fd. openat2 takes open_how's flags and resolve.
  virtual int open(const char* path, int flags) = 0;
  virtual int openat(int dirfd, const char* path, int flags, mode_t mode) = 0;
  virtual int openat2(int dirfd, const char* path, uint64_t flags, uint64_t resolve) = 0;
  virtual int dup_cloexec(int fd) = 0;  // fcntl(F_DUPFD_CLOEXEC, 3)
  virtual int fstat(int fd, struct stat* st) = 0;
  virtual int stat(const char* path, struct stat* st) = 0;
  virtual int statfs(const char* path, struct statfs* st) = 0;
  virtual int fstatfs(int fd, struct statfs* st) = 0;
  virtual int mkdirat(int dirfd, const char* path, mode_t mode) = 0;
  virtual int unlinkat(int dirfd, const char* path, int flags) = 0;
  virtual int mknodat(int dirfd, const char* path, mode_t mode, dev_t dev) = 0;
  virtual int fchmodat(int dirfd, const char* path, mode_t mode, int flags) = 0;
  virtual int fchownat(int dirfd, const char* path, uid_t uid, gid_t gid, int flags) = 0;
  virtual int symlinkat(const char* target, int dirfd, const char* path) = 0;

  // Mounts and the root.
  virtual int mount(const char* source, const char* target, const char* type, unsigned long flags,
                    const void* data) = 0;
  virtual int umount2(const char* target, int flags) = 0;
  virtual int mount_setattr(int dirfd, const char* path, unsigned flags,
                            struct mount_attr* attr) = 0;
  virtual int open_tree(int dirfd, const char* path, unsigned flags) = 0;
  virtual int move_mount(int from_dirfd, const char* from_path, int to_dirfd, const char* to_path,
                         unsigned flags) = 0;
  virtual int pivot_root(const char* new_root, const char* put_old) = 0;
  virtual int chdir(const char* path) = 0;
  virtual int fchdir(int fd) = 0;
  virtual int chroot(const char* path) = 0;
  virtual char* getcwd(char* buf, size_t size) = 0;

  // Identity, capabilities, seccomp, exec.
  virtual int prctl(int option, unsigned long arg2, unsigned long arg3 = 0, unsigned long arg4 = 0,
                    unsigned long arg5 = 0) = 0;
  virtual int setgroups(size_t n, const gid_t* groups) = 0;
  virtual int setresgid(gid_t r, gid_t e, gid_t s) = 0;
  virtual int setresuid(uid_t r, uid_t e, uid_t s) = 0;
  virtual mode_t umask(mode_t mask) = 0;
  virtual int capget(cap_user_header_t hdr, cap_user_data_t data) = 0;
  virtual int capset(cap_user_header_t hdr, const cap_user_data_t data) = 0;
  // seccomp::install: < 0 is -errno, > 0 a notify listener fd.
  virtual int seccomp_install(const seccomp::Program& prog) = 0;
  virtual int execve(const char* path, char* const argv[], char* const envp[]) = 0;
  virtual int execveat(int dirfd, const char* path, char* const argv[], char* const envp[],
                       int flags) = 0;
};

// The real system calls. Stateless: safe in the child after clone.
Sys& real_sys();

}  // namespace berth::engine
