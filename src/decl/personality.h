// The personality a guest tree needs: a 32-bit program (a 32-bit x86 init on
// a 64-bit x86 host) runs with LINUX32, so that `uname -m` inside says i686
// as it would on its own machine, and its package manager picks its own arch.
#pragma once

#include <fcntl.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "oci/spec.h"

namespace berth::decl {

// ELF identification: class (1 = 32-bit, 2 = 64-bit) and e_machine (EM_*).
struct ElfId {
  uint8_t elf_class = 0;
  uint16_t machine = 0;
};

// Parses the first bytes of a file as an ELF header; an error when they are
// not one.
Result<ElfId> parse_elf_id(const std::string& header);

// Opens path (read-only, or with flags) with every symlink resolved inside
// the tree at root_fd, as a chroot would (RESOLVE_IN_ROOT: "/" and ".." stop
// at the root).
Result<UniqueFd> open_in_root(int root_fd, const std::string& path,
                              int flags = O_RDONLY | O_NOCTTY);

// Opens program as the container would see it in root: symlinks (absolute
// ones too) resolve inside root, and a name without '/' is looked up in the
// PATH of env (KEY=VALUE strings; a default PATH without one). A "#!"
// script stands for its interpreter. Returns the ELF identification.
Result<ElfId> elf_id_in_tree(const std::string& root, const std::string& program,
                             const std::vector<std::string>& env);

// The personality to run a program of that identification with on this
// host: LINUX32 for the 32-bit sibling of the host's 64-bit architecture
// (i386 on x86_64, arm on aarch64), nothing otherwise (x32 is a 64-bit ABI).
std::optional<oci::Personality> personality_for(const ElfId& id);

// Whether this kernel runs 32-bit programs of the host's 32-bit sibling
// architecture. On x86_64 that is IA-32 emulation, which a kernel may be
// built without or boot with off (ia32_emulation=0): then execve of any i386
// program fails with ENOEXEC. Decided the way the kernel decides: a tiny
// static i386 program is executed once (from a memfd) and the answer cached.
// Hosts without a 32-bit sibling answer true (nothing to run).
bool kernel_runs_32bit();
// The probe kernel_runs_32bit() asks (unit tests); an empty function
// restores the real one. BERTH_TEST_ASSUME_NO_IA32=1 in the environment makes
// the real probe answer false: the only way a black-box test can see the
// refusal on a machine that has IA-32 emulation.
void set_32bit_probe(std::function<bool()> probe);
// The one line for a 32-bit tree on a kernel that cannot run it.
extern const char* const kNo32bitMessage;

// Whether the tree's program (as the container would run it) is a 32-bit
// program this kernel cannot run. False when the program cannot be found or
// read (the engine will say why it cannot run it).
bool tree_needs_missing_32bit(const std::string& root, const std::string& program,
                              const std::vector<std::string>& env);

// Sets s.linux.personality from the tree's program (s.root.path and
// s.process.args[0]) unless the spec already has one. A program that cannot
// be found or read leaves the spec alone (the engine will say why it cannot
// run it). An error (kNo32bitMessage) when it is a 32-bit program this
// kernel cannot run.
Result<void> detect_personality(oci::Spec& s);

}  // namespace berth::decl
