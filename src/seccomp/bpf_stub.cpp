#include "seccomp/bpf_stub.h"

#include <linux/audit.h>
#include <linux/seccomp.h>

#include <cerrno>
#include <cstddef>
#include <stdexcept>

namespace berth::seccomp {
namespace {

// A tiny assembler: jumps name labels and are resolved once all code is out.
class Asm {
 public:
  // Fixed targets; labels from new_label() are indexes into label_pos_.
  enum Label : int { kEnd = -1, kEnosys = -2, kNext = -3 };

  int new_label() {
    label_pos_.push_back(-1);
    return static_cast<int>(label_pos_.size()) - 1;
  }
  void bind(int label) { label_pos_.at(label) = static_cast<int>(code_.size()); }

  void load_abs(uint32_t offset) { emit(BPF_LD | BPF_W | BPF_ABS, offset, kNext, kNext); }
  void jump(uint16_t op, uint32_t k, int if_true, int if_false) {
    emit(BPF_JMP | op | BPF_K, k, if_true, if_false);
  }
  void jump_always(int target) { emit(BPF_JMP | BPF_JA, 0, target, kNext); }
  void ret(uint32_t k) { emit(BPF_RET | BPF_K, k, kNext, kNext); }

  size_t size() const { return code_.size(); }

  // end: the position just after the stub; enosys: where the ERRNO return is.
  std::vector<sock_filter> finish(int enosys_pos) const {
    int end_pos = static_cast<int>(code_.size());
    auto where = [&](int label, int next) {
      if (label == kEnd) return end_pos;
      if (label == kEnosys) return enosys_pos;
      if (label == kNext) return next;
      return label_pos_.at(label);
    };
    std::vector<sock_filter> out;
    for (size_t i = 0; i < code_.size(); ++i) {
      const Insn& in = code_[i];
      int next = static_cast<int>(i) + 1;
      sock_filter f{in.code, 0, 0, in.k};
      if (BPF_CLASS(in.code) == BPF_JMP) {
        int t = where(in.jt, next) - next;
        if (BPF_OP(in.code) == BPF_JA) {
          f.k = static_cast<uint32_t>(t);
        } else {
          int e = where(in.jf, next) - next;
          // Conditional jumps are 8-bit and forward-only; the stub is tiny.
          if (t < 0 || t > 255 || e < 0 || e > 255)
            throw std::logic_error("bpf stub jump out of range");
          f.jt = static_cast<uint8_t>(t);
          f.jf = static_cast<uint8_t>(e);
        }
      }
      out.push_back(f);
    }
    return out;
  }

 private:
  struct Insn {
    uint16_t code;
    uint32_t k;
    int jt, jf;
  };
  void emit(uint16_t code, uint32_t k, int jt, int jf) { code_.push_back(Insn{code, k, jt, jf}); }

  std::vector<Insn> code_;
  std::vector<int> label_pos_;
};

}  // namespace

std::vector<sock_filter> enosys_stub(const std::vector<ArchLimit>& limits) {
  std::vector<const ArchLimit*> used;
  for (const auto& l : limits)
    if (l.max >= 0 || (l.audit_arch == AUDIT_ARCH_X86_64 && l.x32_max >= 0)) used.push_back(&l);
  if (used.empty()) return {};

  Asm a;
  std::vector<int> sections;
  a.load_abs(offsetof(struct seccomp_data, arch));
  for (const ArchLimit* l : used) {
    sections.push_back(a.new_label());
    a.jump(BPF_JEQ, l->audit_arch, sections.back(), Asm::kNext);
  }
  a.jump_always(Asm::kEnd);

  for (size_t i = 0; i < used.size(); ++i) {
    const ArchLimit& l = *used[i];
    a.bind(sections[i]);
    a.load_abs(offsetof(struct seccomp_data, nr));
    if (l.audit_arch == AUDIT_ARCH_X86_64) {
      // x32 shares the arch value; its calls are told apart by a bit in nr.
      int x32 = l.x32_max >= 0 ? a.new_label() : Asm::kEnd;
      a.jump(BPF_JGE, kX32SyscallBit, x32, Asm::kNext);
      if (l.max >= 0)
        a.jump(BPF_JGT, static_cast<uint32_t>(l.max), Asm::kEnosys, Asm::kEnd);
      else
        a.jump_always(Asm::kEnd);
      if (l.x32_max >= 0) {
        a.bind(x32);
        a.jump(BPF_JGE, kX32SyscallBit | kX32LegacyFirst, Asm::kEnd, Asm::kNext);
        a.jump(BPF_JGT, static_cast<uint32_t>(l.x32_max), Asm::kEnosys, Asm::kEnd);
      }
    } else {
      a.jump(BPF_JGT, static_cast<uint32_t>(l.max), Asm::kEnosys, Asm::kEnd);
    }
  }
  int enosys_pos = static_cast<int>(a.size());
  a.ret(SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
  return a.finish(enosys_pos);
}

}  // namespace berth::seccomp
