// Device access rules: v1 devices.allow/deny lines, and for v2 a
// BPF_PROG_TYPE_CGROUP_DEVICE program assembled here and attached with bpf(2).
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "base/unique_fd.h"
#include "cgroup/cgroup_internal.h"

namespace berth::cgroup::internal {
namespace {

oci::DeviceRule rule(const char* type, std::optional<int64_t> major, std::optional<int64_t> minor,
                     const char* access) {
  oci::DeviceRule r;
  r.allow = true;
  r.type = type;
  r.major = major;
  r.minor = minor;
  r.access = access;
  return r;
}

bool is_all(const oci::DeviceRule& r) {
  return r.type.empty() || r.type == "a";
}

int access_bits(const std::string& access) {
  if (access.empty()) return BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
  int bits = 0;
  for (char c : access) {
    if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
    if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
    if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
  }
  return bits;
}

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i;
  std::memset(&i, 0, sizeof i);
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

bpf_insn ldx_w(uint8_t dst, uint8_t src, int16_t off) {
  return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}
bpf_insn alu32_imm(uint8_t op, uint8_t dst, int32_t imm) {
  return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn mov32_reg(uint8_t dst, uint8_t src) {
  return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn jmp_imm(uint8_t op, uint8_t dst, int32_t imm) {
  return insn(BPF_JMP | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn mov64_imm(uint8_t dst, int32_t imm) {
  return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
bpf_insn exit_insn() {
  return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

long bpf(int cmd, union bpf_attr* attr) {
  return ::syscall(__NR_bpf, cmd, attr, sizeof *attr);
}

uint64_t ptr(const void* p) {
  return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p));
}

DeviceFilterInstaller& installer() {
  static DeviceFilterInstaller f;
  return f;
}

}  // namespace

std::string v1_device_line(const oci::DeviceRule& r) {
  if (is_all(r)) return "a";
  auto num = [](const std::optional<int64_t>& n) {
    return n && *n >= 0 ? std::to_string(*n) : std::string("*");
  };
  return fmt::format("{} {}:{} {}", r.type, num(r.major), num(r.minor),
                     r.access.empty() ? "rwm" : r.access);
}

std::vector<std::pair<std::string, std::string>> v1_device_writes(
    const std::vector<oci::DeviceRule>& rules) {
  std::vector<std::pair<std::string, std::string>> out{{"devices.deny", "a"}};
  for (auto& r : rules)
    out.emplace_back(r.allow ? "devices.allow" : "devices.deny", v1_device_line(r));
  return out;
}

std::vector<oci::DeviceRule> default_device_rules() {
  return {
      rule("c", std::nullopt, std::nullopt, "m"),  // mknod of any device; opening needs a rule
      rule("b", std::nullopt, std::nullopt, "m"),
      rule("c", 1, 3, "rwm"),               // /dev/null
      rule("c", 1, 8, "rwm"),               // /dev/random
      rule("c", 1, 7, "rwm"),               // /dev/full
      rule("c", 5, 0, "rwm"),               // /dev/tty
      rule("c", 1, 5, "rwm"),               // /dev/zero
      rule("c", 1, 9, "rwm"),               // /dev/urandom
      rule("c", 5, 1, "rwm"),               // /dev/console
      rule("c", 136, std::nullopt, "rwm"),  // /dev/pts/*
      rule("c", 5, 2, "rwm"),               // /dev/ptmx
  };
}

std::vector<bpf_insn> device_program(const std::vector<oci::DeviceRule>& rules) {
  // Registers: r2 device type, r3 requested access, r4 major, r5 minor
  // (struct bpf_cgroup_dev_ctx: access_type = access << 16 | type, major, minor).
  std::vector<bpf_insn> p = {
      ldx_w(BPF_REG_2, BPF_REG_1, 0), alu32_imm(BPF_AND, BPF_REG_2, 0xffff),
      ldx_w(BPF_REG_3, BPF_REG_1, 0), alu32_imm(BPF_RSH, BPF_REG_3, 16),
      ldx_w(BPF_REG_4, BPF_REG_1, 4), ldx_w(BPF_REG_5, BPF_REG_1, 8),
  };
  constexpr int kAll = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
  // The last matching rule decides, so test the rules from the end.
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const auto& r = *it;
    std::vector<bpf_insn> b;
    b.reserve(8);               // (also keeps g++ 12 from a false -Wstringop-overflow)
    std::vector<size_t> jumps;  // indexes in b whose offset skips to the block's end
    bool unconditional = true;
    if (!is_all(r)) {
      jumps.push_back(b.size());
      b.push_back(
          jmp_imm(BPF_JNE, BPF_REG_2, r.type == "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
      unconditional = false;
    }
    int acc = access_bits(r.access);
    if (!is_all(r) && acc != kAll) {  // "a" means everything, access included, as in v1
      b.push_back(mov32_reg(BPF_REG_1, BPF_REG_3));
      // An allow rule must cover every requested bit; a deny rule hits if
      // it names any of them.
      b.push_back(alu32_imm(BPF_AND, BPF_REG_1, r.allow ? (~acc & kAll) : acc));
      jumps.push_back(b.size());
      b.push_back(jmp_imm(r.allow ? BPF_JNE : BPF_JEQ, BPF_REG_1, 0));
      unconditional = false;
    }
    if (!is_all(r) && r.major && *r.major >= 0) {
      jumps.push_back(b.size());
      b.push_back(jmp_imm(BPF_JNE, BPF_REG_4, static_cast<int32_t>(*r.major)));
    }
    if (!is_all(r) && r.minor && *r.minor >= 0) {
      jumps.push_back(b.size());
      b.push_back(jmp_imm(BPF_JNE, BPF_REG_5, static_cast<int32_t>(*r.minor)));
    }
    b.push_back(mov64_imm(BPF_REG_0, r.allow ? 1 : 0));
    b.push_back(exit_insn());
    for (size_t j : jumps) b[j].off = static_cast<int16_t>(b.size() - 1 - j);
    p.insert(p.end(), b.begin(), b.end());
    if (unconditional) return p;  // the rules before it can never be reached
  }
  p.push_back(mov64_imm(BPF_REG_0, 0));
  p.push_back(exit_insn());
  return p;
}

void set_device_filter_installer(DeviceFilterInstaller f) {
  installer() = std::move(f);
}

namespace {

Result<void> real_install(const std::string& dir, const std::vector<bpf_insn>& prog) {
  UniqueFd cg(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg) return errno_error("open {}", dir);

  std::vector<uint32_t> old(64);
  union bpf_attr q;
  std::memset(&q, 0, sizeof q);
  q.query.target_fd = static_cast<uint32_t>(cg.get());
  q.query.attach_type = BPF_CGROUP_DEVICE;
  q.query.prog_ids = ptr(old.data());
  q.query.prog_cnt = static_cast<uint32_t>(old.size());
  if (bpf(BPF_PROG_QUERY, &q) < 0) return errno_error("query the device programs of {}", dir);
  old.resize(q.query.prog_cnt);

  static const char license[] = "Apache-2.0";
  union bpf_attr load;
  std::memset(&load, 0, sizeof load);
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = ptr(prog.data());
  load.insn_cnt = static_cast<uint32_t>(prog.size());
  load.license = ptr(license);
  UniqueFd fd(static_cast<int>(bpf(BPF_PROG_LOAD, &load)));
  if (!fd) {
    int e = errno;
    // Again with the verifier's log, for the error message.
    std::string log(8192, '\0');
    load.log_buf = ptr(log.data());
    load.log_size = static_cast<uint32_t>(log.size());
    load.log_level = 1;
    UniqueFd again(static_cast<int>(bpf(BPF_PROG_LOAD, &load)));
    log.resize(std::strlen(log.c_str()));
    while (!log.empty() && log.back() == '\n') log.pop_back();
    if (auto nl = log.rfind('\n'); nl != std::string::npos) log = log.substr(nl + 1);
    return code_error(e, "load the device program{}", log.empty() ? "" : " (" + log + ")");
  }

  union bpf_attr at;
  std::memset(&at, 0, sizeof at);
  at.target_fd = static_cast<uint32_t>(cg.get());
  at.attach_bpf_fd = static_cast<uint32_t>(fd.get());
  at.attach_type = BPF_CGROUP_DEVICE;
  at.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, &at) < 0) return errno_error("attach the device program to {}", dir);

  // With several programs attached all must allow, so the old rules go.
  for (uint32_t id : old) {
    union bpf_attr g;
    std::memset(&g, 0, sizeof g);
    g.prog_id = id;
    UniqueFd ofd(static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, &g)));
    if (!ofd) continue;  // detached meanwhile
    union bpf_attr d;
    std::memset(&d, 0, sizeof d);
    d.target_fd = static_cast<uint32_t>(cg.get());
    d.attach_bpf_fd = static_cast<uint32_t>(ofd.get());
    d.attach_type = BPF_CGROUP_DEVICE;
    if (bpf(BPF_PROG_DETACH, &d) < 0 && errno != ENOENT)
      return errno_error("detach the previous device program {} from {}", id, dir);
  }
  return ok();
}

}  // namespace

Result<void> install_device_filter(const std::string& dir, const std::vector<bpf_insn>& prog) {
  if (installer()) return installer()(dir, prog);
  return real_install(dir, prog);
}

}  // namespace berth::cgroup::internal
