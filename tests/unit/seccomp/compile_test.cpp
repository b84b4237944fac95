#include <linux/seccomp.h>
#include <sys/socket.h>

#include <cerrno>

#include "profile_util.h"

namespace berth::seccomp::test {
namespace {

using nlohmann::json;

json allow_all_but(json rules) {
  return {{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", std::move(rules)}};
}

TEST(SeccompCompile, SmallProfileGivesAProgram) {
  Program p =
      compiled(allow_all_but({{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}}}));
  EXPECT_GT(p.filter.size(), 3u);
  EXPECT_EQ(p.flags, 0u);
  EXPECT_FALSE(p.uses_notify);
  EXPECT_EQ(eval(p, "mkdir"), errno_ret(EPERM));
  EXPECT_EQ(eval(p, "mkdirat"), errno_ret(EPERM));
  EXPECT_EQ(eval(p, "getpid"), SECCOMP_RET_ALLOW);
}

TEST(SeccompCompile, EveryActionMapsToItsKernelReturn) {
  json j = allow_all_but({
      {{"names", {"getpid"}}, {"action", "SCMP_ACT_KILL"}},
      {{"names", {"getppid"}}, {"action", "SCMP_ACT_KILL_PROCESS"}},
      {{"names", {"gettid"}}, {"action", "SCMP_ACT_KILL_THREAD"}},
      {{"names", {"getuid"}}, {"action", "SCMP_ACT_TRAP"}},
      {{"names", {"getgid"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 42}},
      {{"names", {"geteuid"}}, {"action", "SCMP_ACT_ERRNO"}},
      {{"names", {"getegid"}}, {"action", "SCMP_ACT_TRACE"}, {"errnoRet", 7}},
      {{"names", {"getpgrp"}}, {"action", "SCMP_ACT_TRACE"}},
      {{"names", {"getsid"}}, {"action", "SCMP_ACT_LOG"}},
      {{"names", {"uname"}}, {"action", "SCMP_ACT_NOTIFY"}},
  });
  j["listenerPath"] = "/run/agent.sock";
  Program p = compiled(j);
  EXPECT_EQ(eval(p, "getpid"), SECCOMP_RET_KILL_THREAD);
  EXPECT_EQ(eval(p, "getppid"), SECCOMP_RET_KILL_PROCESS);
  EXPECT_EQ(eval(p, "gettid"), SECCOMP_RET_KILL_THREAD);
  EXPECT_EQ(eval(p, "getuid"), SECCOMP_RET_TRAP);
  EXPECT_EQ(eval(p, "getgid"), errno_ret(42));
  EXPECT_EQ(eval(p, "geteuid"), errno_ret(EPERM));
  EXPECT_EQ(eval(p, "getegid"), SECCOMP_RET_TRACE | 7);
  EXPECT_EQ(eval(p, "getpgrp"), SECCOMP_RET_TRACE | EPERM);
  EXPECT_EQ(eval(p, "getsid"), SECCOMP_RET_LOG);
  EXPECT_EQ(eval(p, "uname"), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(eval(p, "read"), SECCOMP_RET_ALLOW);
  EXPECT_TRUE(p.uses_notify);
}

TEST(SeccompCompile, DefaultActionsAndErrno) {
  json base = {{"syscalls", {{{"names", {"getpid"}}, {"action", "SCMP_ACT_ALLOW"}}}}};
  base["defaultAction"] = "SCMP_ACT_ERRNO";
  base["defaultErrnoRet"] = 13;
  Program p = compiled(base);
  EXPECT_EQ(eval(p, "getpid"), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(p, "read"), errno_ret(13));

  base.erase("defaultErrnoRet");
  p = compiled(base);
  EXPECT_EQ(eval(p, "read"), errno_ret(EPERM));

  base["defaultAction"] = "SCMP_ACT_KILL_PROCESS";
  p = compiled(base);
  EXPECT_EQ(eval(p, "read"), SECCOMP_RET_KILL_PROCESS);

  base["defaultAction"] = "SCMP_ACT_LOG";
  p = compiled(base);
  EXPECT_EQ(eval(p, "read"), SECCOMP_RET_LOG);
}

TEST(SeccompCompile, RulesRepeatingTheDefaultActionAreSkipped) {
  // libseccomp itself rejects such rules; the profile must still compile.
  json j = {{"defaultAction", "SCMP_ACT_ERRNO"},
            {"defaultErrnoRet", 1},
            {"syscalls",
             {{{"names", {"getpid"}}, {"action", "SCMP_ACT_ALLOW"}},
              {{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}},
              {{"names", {"rmdir"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 2}}}}};
  Program p = compiled(j);
  EXPECT_EQ(eval(p, "mkdir"), errno_ret(1));
  EXPECT_EQ(eval(p, "rmdir"), errno_ret(2));
  EXPECT_EQ(eval(p, "getpid"), SECCOMP_RET_ALLOW);

  Program q = compiled(allow_all_but({{{"names", {"getpid"}}, {"action", "SCMP_ACT_ALLOW"}}}));
  EXPECT_EQ(eval(q, "getpid"), SECCOMP_RET_ALLOW);
}

TEST(SeccompCompile, UnknownSyscallNamesAreSkipped) {
  Program p = compiled(allow_all_but(
      {{{"names", {"no_such_syscall_at_all", "mkdir"}}, {"action", "SCMP_ACT_ERRNO"}}}));
  EXPECT_EQ(eval(p, "mkdir"), errno_ret(EPERM));
  EXPECT_EQ(eval(p, "rmdir"), SECCOMP_RET_ALLOW);
}

TEST(SeccompCompile, ArgumentComparisons) {
  const uint64_t big = 0x100000005ULL;  // differs from 5 only in the high word
  Program p = compiled(allow_all_but({
      {{"names", {"dup"}},
       {"action", "SCMP_ACT_ERRNO"},
       {"errnoRet", 1},
       {"args", {{{"index", 0}, {"value", 5}, {"op", "SCMP_CMP_EQ"}}}}},
      {{"names", {"dup2"}},
       {"action", "SCMP_ACT_ERRNO"},
       {"errnoRet", 2},
       {"args", {{{"index", 1}, {"value", 5}, {"op", "SCMP_CMP_NE"}}}}},
      {{"names", {"close"}},
       {"action", "SCMP_ACT_ERRNO"},
       {"errnoRet", 3},
       {"args", {{{"index", 0}, {"value", 5}, {"op", "SCMP_CMP_LT"}}}}},
      {{"names", {"fsync"}},
       {"action", "SCMP_ACT_ERRNO"},
       {"errnoRet", 4},
       {"args", {{{"index", 0}, {"value", 5}, {"op", "SCMP_CMP_LE"}}}}},
      {{"names", {"fdatasync"}},
       {"action", "SCMP_ACT_ERRNO"},
       {"errnoRet", 5},
       {"args", {{{"index", 0}, {"value", 5}, {"op", "SCMP_CMP_GE"}}}}},
      {{"names", {"syncfs"}},
       {"action", "SCMP_ACT_ERRNO"},
       {"errnoRet", 6},
       {"args", {{{"index", 0}, {"value", 5}, {"op", "SCMP_CMP_GT"}}}}},
      // socket(type & SOCK_NONBLOCK == SOCK_NONBLOCK): value is the mask.
      {{"names", {"socket"}},
       {"action", "SCMP_ACT_ERRNO"},
       {"errnoRet", 7},
       {"args",
        {{{"index", 1},
          {"value", SOCK_NONBLOCK},
          {"valueTwo", SOCK_NONBLOCK},
          {"op", "SCMP_CMP_MASKED_EQ"}}}}},
  }));
  EXPECT_EQ(eval(p, "dup", {5}), errno_ret(1));
  EXPECT_EQ(eval(p, "dup", {6}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(p, "dup", {big}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(p, "dup2", {0, 5}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(p, "dup2", {0, 4}), errno_ret(2));
  EXPECT_EQ(eval(p, "dup2", {5, big}), errno_ret(2));
  EXPECT_EQ(eval(p, "close", {4}), errno_ret(3));
  EXPECT_EQ(eval(p, "close", {5}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(p, "fsync", {5}), errno_ret(4));
  EXPECT_EQ(eval(p, "fsync", {6}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(p, "fdatasync", {5}), errno_ret(5));
  EXPECT_EQ(eval(p, "fdatasync", {4}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(p, "fdatasync", {big}), errno_ret(5));
  EXPECT_EQ(eval(p, "syncfs", {5}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(p, "syncfs", {6}), errno_ret(6));
  EXPECT_EQ(eval(p, "socket", {AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK}), errno_ret(7));
  EXPECT_EQ(eval(p, "socket", {AF_UNIX, SOCK_STREAM}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(p, "socket", {AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC}), errno_ret(7));
}

TEST(SeccompCompile, ConditionsOnDifferentArgumentsAllMustMatch) {
  Program p = compiled(allow_all_but({{{"names", {"kill"}},
                                       {"action", "SCMP_ACT_ERRNO"},
                                       {"args",
                                        {{{"index", 0}, {"value", 1}, {"op", "SCMP_CMP_EQ"}},
                                         {{"index", 1}, {"value", 9}, {"op", "SCMP_CMP_EQ"}}}}}}));
  EXPECT_EQ(eval(p, "kill", {1, 9}), errno_ret(EPERM));
  EXPECT_EQ(eval(p, "kill", {1, 15}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(p, "kill", {2, 9}), SECCOMP_RET_ALLOW);
}

TEST(SeccompCompile, ConditionsOnTheSameArgumentAreAlternatives) {
  Program p = compiled({{"defaultAction", "SCMP_ACT_ERRNO"},
                        {"syscalls",
                         {{{"names", {"personality"}},
                           {"action", "SCMP_ACT_ALLOW"},
                           {"args",
                            {{{"index", 0}, {"value", 0}, {"op", "SCMP_CMP_EQ"}},
                             {{"index", 0}, {"value", 8}, {"op", "SCMP_CMP_EQ"}}}}}}}});
  EXPECT_EQ(eval(p, "personality", {0}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(p, "personality", {8}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(p, "personality", {4}), errno_ret(EPERM));
}

TEST(SeccompCompile, Flags) {
  json j = allow_all_but({{{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}}});
  j["flags"] = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
  Program p = compiled(j);
  EXPECT_EQ(p.flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);

  j["flags"] = {"SECCOMP_FILTER_FLAG_TSYNC"};
  p = compiled(j);
  EXPECT_TRUE(p.flags & SECCOMP_FILTER_FLAG_TSYNC);
  EXPECT_FALSE(p.flags & SECCOMP_FILTER_FLAG_LOG);
}

TEST(SeccompCompile, ErrorsNameTheField) {
  json rules = {{{"names", {"getpid"}}, {"action", "SCMP_ACT_ALLOW"}},
                {{"names", {"getppid"}}, {"action", "SCMP_ACT_ALLOW"}},
                {{"names", {"mkdir"}}, {"action", "SCMP_ACT_FOO"}}};
  json j = {{"defaultAction", "SCMP_ACT_ERRNO"}, {"syscalls", rules}};
  EXPECT_EQ(compile_error(j), "linux.seccomp.syscalls[2].action: unknown action \"SCMP_ACT_FOO\"");

  j = {{"defaultAction", "SCMP_ACT_NOPE"}};
  EXPECT_EQ(compile_error(j), "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_NOPE\"");

  j = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"architectures", {"SCMP_ARCH_X86", "SCMP_ARCH_Z80"}}};
  EXPECT_EQ(compile_error(j),
            "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_Z80\"");
  j["architectures"] = {"x86_64"};
  EXPECT_EQ(compile_error(j), "linux.seccomp.architectures[0]: unknown architecture \"x86_64\"");

  j = {{"defaultAction", "SCMP_ACT_ALLOW"},
       {"flags", {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_FAST"}}};
  EXPECT_EQ(compile_error(j), "linux.seccomp.flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_FAST\"");

  j = allow_all_but({{{"names", {"dup"}},
                      {"action", "SCMP_ACT_ERRNO"},
                      {"args",
                       {{{"index", 0}, {"value", 1}, {"op", "SCMP_CMP_EQ"}},
                        {{"index", 1}, {"value", 1}, {"op", "SCMP_CMP_ALMOST"}}}}}});
  EXPECT_EQ(compile_error(j),
            "linux.seccomp.syscalls[0].args[1].op: unknown operator \"SCMP_CMP_ALMOST\"");

  j = allow_all_but({{{"names", {"dup"}},
                      {"action", "SCMP_ACT_ERRNO"},
                      {"args", {{{"index", 0}, {"value", 1}}}}}});
  EXPECT_EQ(compile_error(j), "linux.seccomp.syscalls[0].args[0].op: is required");

  j = allow_all_but({{{"names", {"dup"}},
                      {"action", "SCMP_ACT_ERRNO"},
                      {"args", {{{"index", 6}, {"value", 1}, {"op", "SCMP_CMP_EQ"}}}}}});
  EXPECT_EQ(compile_error(j), "linux.seccomp.syscalls[0].args[0].index: 6 is out of range (0-5)");

  j = {{"defaultAction", "SCMP_ACT_ERRNO"},
       {"syscalls", {{{"names", {"dup"}}, {"action", "SCMP_ACT_ALLOW"}, {"errnoRet", 1}}}}};
  EXPECT_EQ(compile_error(j),
            "linux.seccomp.syscalls[0].errnoRet: action SCMP_ACT_ALLOW does not take an errno");

  j = {{"defaultAction", "SCMP_ACT_KILL"}, {"defaultErrnoRet", 1}};
  EXPECT_EQ(compile_error(j),
            "linux.seccomp.defaultErrnoRet: action SCMP_ACT_KILL does not take an errno");

  j = {{"defaultAction", "SCMP_ACT_ERRNO"}, {"defaultErrnoRet", 70000}};
  EXPECT_EQ(compile_error(j),
            "linux.seccomp.defaultErrnoRet: 70000 is out of range (at most 4095)");

  j = {{"defaultAction", "SCMP_ACT_NOTIFY"}};
  EXPECT_EQ(compile_error(j),
            "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");

  j = allow_all_but({{{"names", json::array()}, {"action", "SCMP_ACT_ERRNO"}}});
  EXPECT_EQ(compile_error(j), "linux.seccomp.syscalls[0].names: must name at least one syscall");

  j = allow_all_but({{{"names", {"uname"}}, {"action", "SCMP_ACT_NOTIFY"}}});
  EXPECT_EQ(compile_error(j),
            "linux.seccomp.listenerPath: is required when SCMP_ACT_NOTIFY is used");
  j["listenerPath"] = "/run/agent.sock";
  EXPECT_TRUE(compile(profile(j)).ok());

  j = allow_all_but(json::array());
  j["listenerMetadata"] = "x";
  EXPECT_EQ(compile_error(j), "linux.seccomp.listenerMetadata: is set but listenerPath is not");
}

}  // namespace
}  // namespace berth::seccomp::test
