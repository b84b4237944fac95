// The ENOSYS prologue: syscalls newer than every named one return ENOSYS.
#include <cerrno>

#include "profile_util.h"
#include "seccomp/bpf_stub.h"

namespace berth::seccomp::test {
namespace {

using nlohmann::json;

int nr_of(uint32_t arch, const char* name) {
  return seccomp_syscall_resolve_name_arch(arch, name);
}

json small_denying_profile(json arches) {
  return {{"defaultAction", "SCMP_ACT_ERRNO"},
          {"architectures", std::move(arches)},
          {"syscalls",
           {{{"names", {"read", "write", "getpid", "exit_group"}}, {"action", "SCMP_ACT_ALLOW"}},
            {{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 42}}}}};
}

TEST(SeccompEnosys, NewerSyscallsGetEnosysOnTheNativeArch) {
  Program p = compiled(small_denying_profile(json::array()));
  uint32_t native = seccomp_arch_native();
  int max = 0;
  for (const char* n : {"read", "write", "getpid", "exit_group", "mkdir"})
    max = std::max(max, nr_of(native, n));

  EXPECT_EQ(eval(p, "getpid"), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(p, "exit_group"), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(p, "mkdir"), errno_ret(42));
  EXPECT_EQ(eval_nr(p, native, max), SECCOMP_RET_ALLOW);  // the newest named one itself
  EXPECT_EQ(eval_nr(p, native, max + 1), errno_ret(ENOSYS));
  EXPECT_EQ(eval_nr(p, native, 1000), errno_ret(ENOSYS));
  EXPECT_EQ(eval(p, "clone3"), errno_ret(ENOSYS));
  // Not named but older than the newest named one: the default action.
  for (int nr = 0; nr < max; ++nr) {
    int self = nr;
    bool named = false;
    for (const char* n : {"read", "write", "getpid", "exit_group", "mkdir"})
      named |= nr_of(native, n) == self;
    if (!named) {
      EXPECT_EQ(eval_nr(p, native, nr), errno_ret(EPERM)) << "syscall " << nr;
    }
  }
}

#if defined(__x86_64__)
TEST(SeccompEnosys, EachArchitectureHasItsOwnLimit) {
  Program p =
      compiled(small_denying_profile({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  for (uint32_t arch :
       {uint32_t{SCMP_ARCH_X86_64}, uint32_t{SCMP_ARCH_X86}, uint32_t{SCMP_ARCH_X32}}) {
    SCOPED_TRACE(arch);
    EXPECT_EQ(eval(p, "read", {}, arch), SECCOMP_RET_ALLOW);
    EXPECT_EQ(eval(p, "exit_group", {}, arch), SECCOMP_RET_ALLOW);
    EXPECT_EQ(eval(p, "mkdir", {}, arch), errno_ret(42));
    EXPECT_EQ(eval(p, "clone3", {}, arch), errno_ret(ENOSYS));
    EXPECT_EQ(eval(p, "memfd_create", {}, arch), errno_ret(ENOSYS));
  }
  // exit_group is 231 on x86_64 but 252 on i386: between the two, the
  // limits differ.
  EXPECT_EQ(eval_nr(p, SCMP_ARCH_X86_64, 240), errno_ret(ENOSYS));
  EXPECT_EQ(eval_nr(p, SCMP_ARCH_X86, 240), errno_ret(EPERM));
  EXPECT_EQ(eval_nr(p, SCMP_ARCH_X86, 253), errno_ret(ENOSYS));
  // Older unnamed calls keep the default on every arch.
  EXPECT_EQ(eval(p, "rmdir", {}, SCMP_ARCH_X86_64), errno_ret(EPERM));
  EXPECT_EQ(eval(p, "rmdir", {}, SCMP_ARCH_X86), errno_ret(EPERM));
  EXPECT_EQ(eval(p, "rmdir", {}, SCMP_ARCH_X32), errno_ret(EPERM));
  // x32's legacy table (512+) is not "newer".
  EXPECT_EQ(eval_nr(p, SCMP_ARCH_X32, static_cast<int>(kX32SyscallBit | 515)), errno_ret(EPERM));
  // Architectures the profile does not list stay killed.
  auto r = run_bpf(p.filter, syscall_data(AUDIT_ARCH_AARCH64, 1000));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_NE(r.ret, errno_ret(ENOSYS));
  EXPECT_EQ(r.ret & SECCOMP_RET_ACTION_FULL, SECCOMP_RET_KILL_THREAD);
}

TEST(SeccompEnosys, MultiplexedCallsCountWithBothNumbers) {
  // On i386 socket is socketcall(SYS_SOCKET, ...) or, since Linux 4.3, its
  // own syscall 359; semget is ipc(SEMGET, ...) or 393. Naming them must
  // keep both forms away from the ENOSYS prologue.
  Program p = compiled(
      {{"defaultAction", "SCMP_ACT_ERRNO"},
       {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}},
       {"syscalls", {{{"names", {"read", "socket", "semget"}}, {"action", "SCMP_ACT_ALLOW"}}}}});
  const int socketcall = nr_of(SCMP_ARCH_X86, "socketcall");
  const int ipc = nr_of(SCMP_ARCH_X86, "ipc");
  EXPECT_EQ(eval_nr(p, SCMP_ARCH_X86, socketcall, {1 /* SYS_SOCKET */}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval_nr(p, SCMP_ARCH_X86, socketcall, {2 /* SYS_BIND */}), errno_ret(EPERM));
  EXPECT_EQ(eval_nr(p, SCMP_ARCH_X86, ipc, {2 /* SEMGET */}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval_nr(p, SCMP_ARCH_X86, 359), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval_nr(p, SCMP_ARCH_X86, 393), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval_nr(p, SCMP_ARCH_X86, 361 /* bind */), errno_ret(EPERM));
  EXPECT_EQ(eval_nr(p, SCMP_ARCH_X86, 394), errno_ret(ENOSYS));
  EXPECT_EQ(eval(p, "socket"), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(p, "clone3"), errno_ret(ENOSYS));
}

TEST(SeccompEnosys, X32CallsAreLeftToLibseccompWhenX32IsNotListed) {
  Program p = compiled(small_denying_profile({"SCMP_ARCH_X86_64"}));
  uint32_t r = eval_nr(p, SCMP_ARCH_X32, static_cast<int>(kX32SyscallBit | 1));
  EXPECT_NE(r, errno_ret(ENOSYS));
  EXPECT_NE(r, SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval_nr(p, SCMP_ARCH_X86_64, 1000), errno_ret(ENOSYS));
}
#endif

TEST(SeccompEnosys, NoPrologueWhenTheDefaultAllows) {
  for (const char* def : {"SCMP_ACT_ALLOW", "SCMP_ACT_LOG"}) {
    Program p = compiled({{"defaultAction", def},
                          {"syscalls", {{{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}}}}});
    uint32_t native = seccomp_arch_native();
    uint32_t want = std::string(def) == "SCMP_ACT_ALLOW" ? SECCOMP_RET_ALLOW : SECCOMP_RET_LOG;
    EXPECT_EQ(eval_nr(p, native, 1000), want);
    EXPECT_EQ(eval(p, "clone3"), want);
    EXPECT_EQ(eval(p, "mkdir"), errno_ret(EPERM));
  }
}

TEST(SeccompEnosys, KillByDefaultStillGivesEnosysForNewerCalls) {
  Program p =
      compiled({{"defaultAction", "SCMP_ACT_KILL_PROCESS"},
                {"syscalls", {{{"names", {"read", "exit_group"}}, {"action", "SCMP_ACT_ALLOW"}}}}});
  EXPECT_EQ(eval(p, "clone3"), errno_ret(ENOSYS));
  EXPECT_EQ(eval(p, "write"), SECCOMP_RET_KILL_PROCESS);
}

TEST(SeccompEnosys, AProfileNamingNothingHasNoPrologue) {
  Program p = compiled({{"defaultAction", "SCMP_ACT_ERRNO"}});
  EXPECT_EQ(eval(p, "read"), errno_ret(EPERM));
  EXPECT_EQ(eval(p, "clone3"), errno_ret(EPERM));
}

TEST(SeccompEnosys, StubAloneIsWellFormed) {
  std::vector<sock_filter> stub = enosys_stub({ArchLimit{AUDIT_ARCH_X86_64, 100, -1}});
  ASSERT_FALSE(stub.empty());
  // Falls through to whatever follows: append a final "allow".
  stub.push_back(sock_filter{BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW});
  auto r = run_bpf(stub, syscall_data(AUDIT_ARCH_X86_64, 101));
  EXPECT_EQ(r.ret, errno_ret(ENOSYS));
  r = run_bpf(stub, syscall_data(AUDIT_ARCH_X86_64, 100));
  EXPECT_EQ(r.ret, SECCOMP_RET_ALLOW);
  r = run_bpf(stub, syscall_data(AUDIT_ARCH_I386, 500));
  EXPECT_EQ(r.ret, SECCOMP_RET_ALLOW);
  EXPECT_TRUE(enosys_stub({ArchLimit{AUDIT_ARCH_X86_64, -1, -1}}).empty());
}

}  // namespace
}  // namespace berth::seccomp::test
