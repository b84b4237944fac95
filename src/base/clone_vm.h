// A child that shares the caller's memory until it exits or execs (clone(2)
// with CLONE_VM, as posix_spawn starts a program), on a stack of its own: no
// copy of the address space, and none of the copy-on-write faults a fork
// costs the parent afterwards (tens of microseconds each on a VM).
//
// The child runs in the caller's memory: it may only make system calls on
// what was prepared before (no allocation, no lock, no exception, no
// handler of the caller's), and it ends with _exit or an exec. Its function
// is best not instrumented by a sanitizer (BERTH_NO_ASAN): its stack is
// one the sanitizer does not know.
#pragma once

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>

#include <cerrno>

#define BERTH_NO_ASAN __attribute__((no_sanitize("address")))

namespace berth {

class VmStack {
 public:
  static constexpr size_t kSize = 64 * 1024;
  VmStack()
      : base_(::mmap(nullptr, kSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0)) {}
  ~VmStack() {
    if (base_ != MAP_FAILED) ::munmap(base_, kSize);
  }
  VmStack(const VmStack&) = delete;
  VmStack& operator=(const VmStack&) = delete;
  bool ok() const { return base_ != MAP_FAILED; }
  void* top() const { return static_cast<char*>(base_) + kSize; }  // stacks grow down

 private:
  void* base_;
};

// Starts fn(arg) in a child on `stack`, with SIGCHLD as its exit signal.
// With vfork, returns once the child has exited or exec'd (the stack is free
// again); without, the child runs beside the caller, and `stack` must outlive
// it (reap it first). Signals are blocked while the child starts; the child
// inherits that mask and restores `old` itself if it needs signals.
// Returns the pid, or -1 with errno.
inline pid_t clone_vm(int (*fn)(void*), void* arg, VmStack& stack, bool vfork,
                      sigset_t* old = nullptr) {
  if (!stack.ok()) {
    errno = ENOMEM;
    return -1;
  }
  sigset_t all, saved;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &saved);
  if (old) *old = saved;
  int flags = CLONE_VM | SIGCHLD | (vfork ? CLONE_VFORK : 0);
  pid_t pid = ::clone(fn, stack.top(), flags, arg);
  int e = errno;
  ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  errno = e;
  return pid;
}

}  // namespace berth
