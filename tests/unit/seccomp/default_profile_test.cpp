#include <cerrno>
#include <set>

#include "profile_util.h"

namespace berth::seccomp::test {
namespace {

using nlohmann::json;

// Calls the profile names that this libseccomp (2.5.4 on Debian 12) may not
// know yet; every other name must resolve, which catches typos.
const std::set<std::string> kNewerThanLibseccomp = {
    "futex_wake",        "futex_wait",        "futex_requeue",    "statmount",       "listmount",
    "lsm_get_self_attr", "lsm_set_self_attr", "lsm_list_modules", "mseal",           "setxattrat",
    "getxattrat",        "listxattrat",       "removexattrat",    "open_tree_attr",  "file_getattr",
    "file_setattr",      "cachestat",         "fchmodat2",        "map_shadow_stack"};

oci::Seccomp default_via_spec() {
  // Exactly as a config.json carries it, through the OCI parser.
  auto spec = oci::to_json(oci::default_spec());
  spec["linux"]["seccomp"] = default_profile();
  auto parsed = oci::parse_spec(spec);
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  if (!parsed.ok() || !parsed->linux->seccomp) return {};
  return *parsed->linux->seccomp;
}

TEST(SeccompDefaultProfile, ParsesThroughTheSpecAndCompiles) {
  oci::Seccomp s = default_via_spec();
  EXPECT_EQ(s.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(s.default_errno_ret, std::optional<uint32_t>(ENOSYS));
#if defined(__x86_64__)
  EXPECT_EQ(s.architectures,
            (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
#endif
  auto p = compile(s);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_FALSE(p->filter.empty());
  EXPECT_LE(p->filter.size(), static_cast<size_t>(BPF_MAXINSNS));
  EXPECT_FALSE(p->uses_notify);
}

TEST(SeccompDefaultProfile, NamesAreKnownAndUnique) {
  json j = default_profile();
  std::set<std::string> seen;
  for (const auto& rule : j["syscalls"]) {
    if (rule.contains("args")) continue;  // personality appears once per allowed value
    for (const auto& n : rule["names"]) {
      std::string name = n.get<std::string>();
      EXPECT_TRUE(seen.insert(name).second) << "listed twice: " << name;
      if (!kNewerThanLibseccomp.count(name)) {
        EXPECT_NE(seccomp_syscall_resolve_name(name.c_str()), __NR_SCMP_ERROR)
            << "unknown: " << name;
      }
    }
  }
  EXPECT_GT(seen.size(), 300u);
}

TEST(SeccompDefaultProfile, Decisions) {
  auto p = compile(default_via_spec());
  ASSERT_TRUE(p.ok()) << p.error().message;
  // An ordinary userland and a systemd guest.
  for (const char* name :
       {"read",         "write",      "openat",     "execve", "clone",       "clone3",
        "mmap",         "futex",      "epoll_wait", "socket", "mount",       "umount2",
        "pivot_root",   "unshare",    "setns",      "reboot", "sethostname", "name_to_handle_at",
        "memfd_create", "pidfd_open", "rseq",       "statx",  "vmsplice",    "ptrace",
        "prctl",        "capset",     "setgroups",  "chroot", "mknodat",     "open_tree",
        "move_mount",   "fsopen"}) {
    EXPECT_EQ(eval(*p, name), SECCOMP_RET_ALLOW) << name;
  }
  for (const char* name :
       {"kexec_load", "kexec_file_load", "swapon", "swapoff", "init_module", "finit_module",
        "delete_module", "open_by_handle_at", "userfaultfd", "bpf", "perf_event_open", "add_key",
        "keyctl", "request_key", "syslog", "acct"}) {
    EXPECT_EQ(eval(*p, name), errno_ret(EPERM)) << name;
  }
  EXPECT_EQ(eval(*p, "personality", {0}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(*p, "personality", {8}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(*p, "personality", {0xffffffff}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(*p, "personality", {0x0400000}), errno_ret(ENOSYS));  // READ_IMPLIES_EXEC
  // Anything else: ENOSYS, so programs fall back.
  EXPECT_EQ(eval_nr(*p, seccomp_arch_native(), 1000), errno_ret(ENOSYS));
#if defined(__x86_64__)
  EXPECT_EQ(eval(*p, "read", {}, SCMP_ARCH_X86), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(*p, "socketcall", {}, SCMP_ARCH_X86), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(*p, "kexec_load", {}, SCMP_ARCH_X86), errno_ret(EPERM));
  EXPECT_EQ(eval(*p, "read", {}, SCMP_ARCH_X32), SECCOMP_RET_ALLOW);
  EXPECT_EQ(eval(*p, "bpf", {}, SCMP_ARCH_X32), errno_ret(EPERM));
#endif
}

}  // namespace
}  // namespace berth::seccomp::test
