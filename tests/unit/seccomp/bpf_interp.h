// A userspace interpreter for seccomp's classic BPF, so tests can check what
// a compiled program returns for a given syscall without loading it.
#pragma once

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace berth::seccomp::test {

struct BpfResult {
  bool ok = false;
  uint32_t ret = 0;
  std::string error;  // why the program was invalid
};

inline BpfResult run_bpf(const std::vector<sock_filter>& prog, const seccomp_data& data) {
  uint32_t a = 0, x = 0;
  std::array<uint32_t, BPF_MEMWORDS> mem{};
  auto fail = [](std::string why) { return BpfResult{false, 0, std::move(why)}; };
  auto load = [&](uint32_t off, uint32_t& out) {
    if (off % 4 != 0 || off + 4 > sizeof data) return false;
    std::memcpy(&out, reinterpret_cast<const char*>(&data) + off, 4);
    return true;
  };
  size_t pc = 0;
  for (size_t steps = 0; steps < 100000; ++steps) {
    if (pc >= prog.size()) return fail("fell off the end at " + std::to_string(pc));
    const sock_filter& in = prog[pc++];
    uint32_t src = BPF_SRC(in.code) == BPF_X ? x : in.k;
    switch (BPF_CLASS(in.code)) {
      case BPF_LD:
      case BPF_LDX: {
        uint32_t v = 0;
        switch (BPF_MODE(in.code)) {
          case BPF_ABS:
            if (BPF_SIZE(in.code) != BPF_W || !load(in.k, v)) return fail("bad load");
            break;
          case BPF_IMM:
            v = in.k;
            break;
          case BPF_MEM:
            if (in.k >= BPF_MEMWORDS) return fail("bad mem index");
            v = mem[in.k];
            break;
          case BPF_LEN:
            v = sizeof data;
            break;
          default:
            return fail("unsupported load mode");
        }
        (BPF_CLASS(in.code) == BPF_LD ? a : x) = v;
        break;
      }
      case BPF_ST:
      case BPF_STX:
        if (in.k >= BPF_MEMWORDS) return fail("bad mem index");
        mem[in.k] = BPF_CLASS(in.code) == BPF_ST ? a : x;
        break;
      case BPF_ALU:
        switch (BPF_OP(in.code)) {
          case BPF_ADD:
            a += src;
            break;
          case BPF_SUB:
            a -= src;
            break;
          case BPF_MUL:
            a *= src;
            break;
          case BPF_DIV:
            if (src == 0) return fail("division by zero");
            a /= src;
            break;
          case BPF_MOD:
            if (src == 0) return fail("division by zero");
            a %= src;
            break;
          case BPF_OR:
            a |= src;
            break;
          case BPF_AND:
            a &= src;
            break;
          case BPF_XOR:
            a ^= src;
            break;
          case BPF_LSH:
            a = src >= 32 ? 0 : a << src;
            break;
          case BPF_RSH:
            a = src >= 32 ? 0 : a >> src;
            break;
          case BPF_NEG:
            a = 0 - a;
            break;
          default:
            return fail("unsupported alu op");
        }
        break;
      case BPF_JMP: {
        if (BPF_OP(in.code) == BPF_JA) {
          pc += in.k;
          break;
        }
        bool take;
        switch (BPF_OP(in.code)) {
          case BPF_JEQ:
            take = a == src;
            break;
          case BPF_JGT:
            take = a > src;
            break;
          case BPF_JGE:
            take = a >= src;
            break;
          case BPF_JSET:
            take = (a & src) != 0;
            break;
          default:
            return fail("unsupported jump");
        }
        pc += take ? in.jt : in.jf;
        break;
      }
      case BPF_RET:
        return BpfResult{true, BPF_RVAL(in.code) == BPF_A ? a : in.k, {}};
      case BPF_MISC:
        if (BPF_MISCOP(in.code) == BPF_TAX)
          x = a;
        else
          a = x;
        break;
      default:
        return fail("unsupported class");
    }
  }
  return fail("did not terminate");
}

inline seccomp_data syscall_data(uint32_t arch, int nr, std::array<uint64_t, 6> args = {}) {
  seccomp_data d{};
  d.nr = nr;
  d.arch = arch;
  for (size_t i = 0; i < 6; ++i) d.args[i] = args[i];
  return d;
}

}  // namespace berth::seccomp::test
