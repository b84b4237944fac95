// The default profile: unknown syscalls get ENOSYS (so newer programs fall
// back), a short list of host-wide or kernel-attack-surface calls gets
// EPERM, and everything a Debian userland or a systemd guest with
// CAP_SYS_ADMIN in its own namespaces uses is allowed.
#include <cerrno>

#include "seccomp/seccomp.h"

namespace berth::seccomp {
namespace {

// Grouped by what they are for; names a given architecture or libseccomp
// does not know are skipped by compile().
// clang-format off
const char* const kAllowed[] = {
    // files and descriptors
    "access", "chdir", "chmod", "chown", "chown32", "close", "close_range", "copy_file_range",
    "creat", "dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
    "arm_fadvise64_64", "fallocate", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown",
    "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock",
    "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync",
    "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents", "getdents64", "getxattr",
    "getxattrat", "ioctl", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listxattr",
    "listxattrat", "llistxattr", "lremovexattr", "lseek", "_llseek", "lsetxattr", "lstat",
    "lstat64", "mkdir", "mkdirat", "mknod", "mknodat", "name_to_handle_at", "newfstatat",
    "oldfstat", "oldlstat", "oldstat", "open", "openat", "openat2", "pread64", "preadv", "preadv2",
    "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readdir", "readlink", "readlinkat",
    "readv", "removexattr", "removexattrat", "rename", "renameat", "renameat2", "rmdir", "sendfile",
    "sendfile64", "setxattr", "setxattrat", "splice", "stat", "stat64", "statfs", "statfs64",
    "statx", "symlink", "symlinkat", "sync", "sync_file_range", "sync_file_range2",
    "arm_sync_file_range", "syncfs", "tee", "truncate", "truncate64", "umask", "unlink", "unlinkat",
    "utime", "utimensat", "utimensat_time64", "utimes", "vmsplice", "write", "writev",
    "file_getattr", "file_setattr", "cachestat",
    // polling, events, timers
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2",
    "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "fanotify_init", "fanotify_mark",
    "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel",
    "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup", "io_submit",
    "io_uring_enter", "io_uring_register", "io_uring_setup", "pipe", "pipe2", "poll", "ppoll",
    "ppoll_time64", "pselect6", "pselect6_time64", "select", "_newselect", "signalfd", "signalfd4",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64",
    // time
    "adjtimex", "alarm", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
    "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
    "clock_settime", "clock_settime64", "getitimer", "gettimeofday", "nanosleep", "setitimer",
    "settimeofday", "stime", "time", "timer_create", "timer_delete", "timer_getoverrun",
    "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "times",
    // memory
    "brk", "get_mempolicy", "madvise", "map_shadow_stack", "mbind", "membarrier", "memfd_create",
    "memfd_secret", "migrate_pages", "mincore", "mlock", "mlock2", "mlockall", "mmap", "mmap2",
    "move_pages", "mprotect", "mremap", "mseal", "msync", "munlock", "munlockall", "munmap",
    "pkey_alloc", "pkey_free", "pkey_mprotect", "process_madvise", "process_mrelease",
    "remap_file_pages", "set_mempolicy", "set_mempolicy_home_node",
    // processes, threads, signals
    "arch_prctl", "capget", "capset", "clone", "clone3", "execve", "execveat", "exit", "exit_group",
    "fork", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake",
    "get_robust_list", "get_thread_area", "getcpu", "getegid", "getegid32", "geteuid", "geteuid32",
    "getgid", "getgid32", "getgroups", "getgroups32", "getpgid", "getpgrp", "getpid", "getppid",
    "getpriority", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "getrusage",
    "getsid", "gettid", "getuid", "getuid32", "ioprio_get", "ioprio_set", "kcmp", "kill",
    "modify_ldt", "nice", "pause", "pidfd_getfd", "pidfd_open", "pidfd_send_signal", "prctl",
    "prlimit64", "process_vm_readv", "process_vm_writev", "ptrace", "restart_syscall", "rseq",
    "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
    "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity", "sched_getattr",
    "sched_getparam", "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
    "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
    "seccomp", "set_robust_list", "set_thread_area", "set_tid_address", "set_tls", "setfsgid",
    "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32",
    "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setrlimit", "setsid", "setuid", "setuid32",
    "sigaction", "sigaltstack", "signal", "sigpending", "sigprocmask", "sigreturn", "sigsuspend",
    "sgetmask", "ssetmask", "tgkill", "tkill", "ugetrlimit", "vfork", "wait4", "waitid", "waitpid",
    "breakpoint", "cacheflush", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self", "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr",
    // networking and IPC
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "ipc",
    "listen", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
    "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd",
    "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "semctl", "semget", "semop",
    "semtimedop", "semtimedop_time64", "send", "sendmmsg", "sendmsg", "sendto", "setsockopt",
    "shmat", "shmctl", "shmdt", "shmget", "shutdown", "socket", "socketcall", "socketpair",
    // system: berth runs whole systems with CAP_SYS_ADMIN in their own
    // namespaces (systemd mounts, unshares and joins namespaces itself);
    // capabilities and namespaces, not this list, bound what these can do
    "chroot", "fsconfig", "fsmount", "fsopen", "fspick", "getrandom", "listmount", "mount",
    "mount_setattr", "move_mount", "olduname", "oldolduname", "open_tree", "open_tree_attr",
    "pivot_root", "quotactl", "quotactl_fd", "sethostname", "setdomainname", "setns", "statmount",
    "sysfs", "sysinfo", "umount", "umount2", "uname", "unshare", "ustat", "vhangup",
    // the kernel turns reboot() in a child pid namespace into the death of
    // its init, which is how a systemd guest shuts down or reboots
    "reboot",
};
// clang-format on

// Explicit EPERM: host-wide state (modules, kexec, swap, keyrings, kernel
// log, accounting) or kernel attack surface containers do not need.
// clang-format off
const char* const kDenied[] = {
    "acct", "add_key", "bpf", "create_module", "delete_module", "finit_module", "get_kernel_syms",
    "init_module", "ioperm", "iopl", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie",
    "nfsservctl", "open_by_handle_at", "perf_event_open", "query_module", "request_key", "swapoff",
    "swapon", "_sysctl", "syslog", "uselib", "userfaultfd", "vm86", "vm86old",
};
// clang-format on

// personality(2) only for the execution domains a container may need:
// Linux, linux32 (setarch), UNAME26, both, and the query.
const uint64_t kPersonalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

nlohmann::json architectures() {
#if defined(__x86_64__)
  return {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
  return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#elif defined(__i386__)
  return {"SCMP_ARCH_X86"};
#elif defined(__arm__)
  return {"SCMP_ARCH_ARM"};
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return {"SCMP_ARCH_PPC64LE"};
#elif defined(__s390x__)
  return {"SCMP_ARCH_S390X", "SCMP_ARCH_S390"};
#elif defined(__riscv) && __riscv_xlen == 64
  return {"SCMP_ARCH_RISCV64"};
#else
  return nlohmann::json::array();
#endif
}

}  // namespace

nlohmann::json default_profile() {
  nlohmann::json calls = nlohmann::json::array();
  calls.push_back({{"names", kAllowed}, {"action", "SCMP_ACT_ALLOW"}});
  for (uint64_t p : kPersonalities)
    calls.push_back(
        {{"names", {"personality"}},
         {"action", "SCMP_ACT_ALLOW"},
         {"args", {{{"index", 0}, {"value", p}, {"valueTwo", 0}, {"op", "SCMP_CMP_EQ"}}}}});
  calls.push_back({{"names", kDenied}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", EPERM}});
  return {
      {"defaultAction", "SCMP_ACT_ERRNO"},
      {"defaultErrnoRet", ENOSYS},
      {"architectures", architectures()},
      {"syscalls", calls},
  };
}

}  // namespace berth::seccomp
