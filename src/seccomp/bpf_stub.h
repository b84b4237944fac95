// The ENOSYS prologue put in front of libseccomp's program: syscalls newer
// than every one the profile names fail with ENOSYS, so callers fall back.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <vector>

namespace berth::seccomp {

inline constexpr uint32_t kX32SyscallBit = 0x40000000;
// x32's private table (512..547) holds compat variants of old calls.
inline constexpr uint32_t kX32LegacyFirst = 512;

struct ArchLimit {
  uint32_t audit_arch = 0;  // the value seccomp_data.arch holds
  int64_t max = -1;         // highest named syscall, -1: none
  // AUDIT_ARCH_X86_64 only: x32 calls carry kX32SyscallBit in nr.
  int64_t x32_max = -1;  // highest named x32 syscall (bit included), -1: none
};

// The prologue: it ends by falling through to the instruction after it (the
// original program), which must start by loading what it needs itself.
// Empty when no architecture has a named syscall.
std::vector<sock_filter> enosys_stub(const std::vector<ArchLimit>& limits);

}  // namespace berth::seccomp
