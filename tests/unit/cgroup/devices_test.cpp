#include <gtest/gtest.h>

#include "cgroup/cgroup_internal.h"

namespace berth::cgroup {
namespace {

// Runs a BPF_PROG_TYPE_CGROUP_DEVICE program the way the kernel would, for
// the instructions device_program emits. Fails the test on anything else.
int run(const std::vector<bpf_insn>& prog, char type, uint32_t major, uint32_t minor,
        const std::string& access) {
  uint32_t acc = 0;
  for (char c : access)
    acc |= c == 'r' ? BPF_DEVCG_ACC_READ : c == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
  uint32_t ctx[3] = {acc << 16 | (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR), major,
                     minor};
  uint64_t r[11] = {};
  for (size_t pc = 0, steps = 0; pc < prog.size() && steps < 10000; ++pc, ++steps) {
    const bpf_insn& i = prog[pc];
    uint8_t cls = BPF_CLASS(i.code), op = BPF_OP(i.code);
    if (cls == BPF_LDX && BPF_MODE(i.code) == BPF_MEM && BPF_SIZE(i.code) == BPF_W &&
        i.src_reg == 1) {
      EXPECT_TRUE(i.off >= 0 && i.off <= 8 && i.off % 4 == 0);
      r[i.dst_reg] = ctx[i.off / 4];
    } else if (cls == BPF_ALU) {
      uint32_t src = BPF_SRC(i.code) == BPF_X ? static_cast<uint32_t>(r[i.src_reg])
                                              : static_cast<uint32_t>(i.imm);
      uint32_t d = static_cast<uint32_t>(r[i.dst_reg]);
      if (op == BPF_AND)
        d &= src;
      else if (op == BPF_RSH)
        d >>= src;
      else if (op == BPF_MOV)
        d = src;
      else
        ADD_FAILURE() << "alu op " << int(op);
      r[i.dst_reg] = d;
    } else if (cls == BPF_ALU64 && op == BPF_MOV && BPF_SRC(i.code) == BPF_K) {
      r[i.dst_reg] = static_cast<uint64_t>(static_cast<int64_t>(i.imm));
    } else if (cls == BPF_JMP && op == BPF_EXIT) {
      return static_cast<int>(r[0]);
    } else if (cls == BPF_JMP && (op == BPF_JNE || op == BPF_JEQ) && BPF_SRC(i.code) == BPF_K) {
      bool eq = r[i.dst_reg] == static_cast<uint64_t>(static_cast<int64_t>(i.imm));
      if ((op == BPF_JEQ) == eq) pc += i.off;
    } else {
      ADD_FAILURE() << "unexpected instruction code " << int(i.code) << " at " << pc;
      return -1;
    }
  }
  ADD_FAILURE() << "program ran off its end";
  return -1;
}

oci::DeviceRule R(bool allow, std::string type, std::optional<int64_t> maj,
                  std::optional<int64_t> min, std::string access) {
  oci::DeviceRule r;
  r.allow = allow;
  r.type = std::move(type);
  r.major = maj;
  r.minor = min;
  r.access = std::move(access);
  return r;
}

std::vector<oci::DeviceRule> with_defaults(std::vector<oci::DeviceRule> rules) {
  auto d = internal::default_device_rules();
  rules.insert(rules.end(), d.begin(), d.end());
  return rules;
}

TEST(DeviceProgram, DefaultsAllowTheStandardDevicesOnly) {
  // The runc default spec: deny everything, then the defaults.
  auto p = internal::device_program(with_defaults({R(false, "", {}, {}, "rwm")}));
  EXPECT_EQ(run(p, 'c', 1, 3, "rw"), 1);    // /dev/null
  EXPECT_EQ(run(p, 'c', 1, 9, "r"), 1);     // /dev/urandom
  EXPECT_EQ(run(p, 'c', 136, 4, "rw"), 1);  // /dev/pts/4
  EXPECT_EQ(run(p, 'c', 1, 11, "r"), 0);    // /dev/kmsg
  EXPECT_EQ(run(p, 'b', 8, 0, "r"), 0);     // /dev/sda
  EXPECT_EQ(run(p, 'b', 8, 0, "m"), 1);     // mknod of anything is allowed
  EXPECT_EQ(run(p, 'c', 10, 200, "m"), 1);
}

TEST(DeviceProgram, NoRulesMeansDenied) {
  auto p = internal::device_program({});
  EXPECT_EQ(run(p, 'c', 1, 3, "r"), 0);
}

TEST(DeviceProgram, LaterRulesWinAndAccessMustBeCovered) {
  auto p = internal::device_program(
      {R(true, "c", 1, 11, "r"), R(true, "b", 8, {}, "rw"), R(false, "b", 8, 16, "w")});
  EXPECT_EQ(run(p, 'c', 1, 11, "r"), 1);
  EXPECT_EQ(run(p, 'c', 1, 11, "rw"), 0);  // write was not allowed
  EXPECT_EQ(run(p, 'b', 8, 0, "rw"), 1);   // wildcard minor
  EXPECT_EQ(run(p, 'b', 8, 16, "r"), 1);   // the deny names only w
  EXPECT_EQ(run(p, 'b', 8, 16, "rw"), 0);
  EXPECT_EQ(run(p, 'c', 8, 0, "r"), 0);  // type matters
}

TEST(DeviceProgram, AllowAllThenDenyOne) {
  auto p = internal::device_program({R(true, "a", {}, {}, "rwm"), R(false, "c", 1, 3, "rwm")});
  EXPECT_EQ(run(p, 'c', 1, 3, "r"), 0);
  EXPECT_EQ(run(p, 'c', 1, 5, "r"), 1);
  EXPECT_EQ(run(p, 'b', 7, 0, "w"), 1);
}

TEST(DeviceProgram, AWildcardLastMakesTheRestUnreachable) {
  auto p = internal::device_program({R(true, "c", 1, 3, "rwm"), R(false, "a", {}, {}, "")});
  EXPECT_EQ(run(p, 'c', 1, 3, "r"), 0);
  EXPECT_LT(p.size(), 12u);  // the earlier rule was not emitted
}

TEST(DeviceV1, WritesDenyAllThenTheRulesInOrder) {
  auto w = internal::v1_device_writes({R(false, "", {}, {}, "rwm"), R(true, "c", 1, 11, "r"),
                                       R(true, "b", {}, 0, ""), R(false, "c", 1, 3, "w")});
  std::vector<std::pair<std::string, std::string>> want = {
      {"devices.deny", "a"},          {"devices.deny", "a"},       {"devices.allow", "c 1:11 r"},
      {"devices.allow", "b *:0 rwm"}, {"devices.deny", "c 1:3 w"},
  };
  EXPECT_EQ(w, want);
}

TEST(DeviceV1, DefaultsAreRuncs) {
  std::vector<std::string> lines;
  for (auto& r : internal::default_device_rules()) {
    EXPECT_TRUE(r.allow);
    lines.push_back(internal::v1_device_line(r));
  }
  std::vector<std::string> want = {"c *:* m",   "b *:* m",     "c 1:3 rwm", "c 1:8 rwm",
                                   "c 1:7 rwm", "c 5:0 rwm",   "c 1:5 rwm", "c 1:9 rwm",
                                   "c 5:1 rwm", "c 136:* rwm", "c 5:2 rwm"};
  EXPECT_EQ(lines, want);
}

TEST(DeviceV1, AllowRulesForSpecDevices) {
  oci::Device fuse;
  fuse.type = "c";
  fuse.path = "/dev/fuse";
  fuse.major = 10;
  fuse.minor = 229;
  oci::Device fifo;
  fifo.type = "p";
  auto rules = allow_rules_for({fuse, fifo});
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(internal::v1_device_line(rules[0]), "c 10:229 rwm");
  EXPECT_TRUE(rules[0].allow);
}

}  // namespace
}  // namespace berth::cgroup
