// Shared by the seccomp unit tests: profiles from JSON (through the OCI
// parser, as the engine gets them) and evaluating a compiled program.
#pragma once

#include <seccomp.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bpf_interp.h"
#include "oci/spec.h"
#include "seccomp/seccomp.h"

namespace berth::seccomp::test {

inline oci::Seccomp profile(const nlohmann::json& j) {
  nlohmann::json spec = {{"ociVersion", "1.2.0"}, {"linux", {{"seccomp", j}}}};
  auto s = oci::parse_spec(spec);
  EXPECT_TRUE(s.ok()) << s.error().message;
  if (!s.ok()) return {};
  return *s->linux->seccomp;
}

inline Program compiled(const nlohmann::json& j, const std::string& cache_dir = "") {
  auto p = compile(profile(j), cache_dir);
  EXPECT_TRUE(p.ok()) << p.error().message;
  if (!p.ok()) return {};
  EXPECT_FALSE(p->filter.empty());
  return *std::move(p);
}

inline std::string compile_error(const nlohmann::json& j) {
  auto p = compile(profile(j));
  EXPECT_FALSE(p.ok());
  return p.ok() ? "" : p.error().message;
}

// What the program returns for the syscall `name` on `arch` (a libseccomp
// SCMP_ARCH_* token), e.g. SECCOMP_RET_ERRNO | EPERM.
inline uint32_t eval_nr(const Program& p, uint32_t arch, int nr,
                        std::array<uint64_t, 6> args = {}) {
  // x32 runs with the x86_64 arch value and a bit in the syscall number.
  uint32_t audit = arch == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : arch;
  auto r = run_bpf(p.filter, syscall_data(audit, nr, args));
  EXPECT_TRUE(r.ok) << r.error;
  return r.ret;
}

inline uint32_t eval(const Program& p, const char* name, std::array<uint64_t, 6> args = {},
                     uint32_t arch = SCMP_ARCH_NATIVE) {
  if (arch == SCMP_ARCH_NATIVE) arch = seccomp_arch_native();
  int nr = seccomp_syscall_resolve_name_arch(arch, name);
  EXPECT_GE(nr, 0) << name;
  return eval_nr(p, arch, nr, args);
}

inline constexpr uint32_t errno_ret(uint32_t e) {
  return SECCOMP_RET_ERRNO | e;
}

}  // namespace berth::seccomp::test
