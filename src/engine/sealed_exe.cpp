#include "engine/sealed_exe.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/unique_fd.h"

extern char** environ;

namespace berth::engine {
namespace {
constexpr const char* kMarker = "_BERTH_SEALED_EXE=1";

bool sealed_already() {
  UniqueFd fd(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  int seals = ::fcntl(fd.get(), F_GET_SEALS);
  return seals >= 0 && (seals & F_SEAL_WRITE) && (seals & F_SEAL_SEAL);
}
}  // namespace

Result<void> ensure_sealed_exe(char** argv) {
  if (sealed_already()) {
    // Keep the marker out of what children inherit.
    ::unsetenv("_BERTH_SEALED_EXE");
    return ok();
  }
  if (const char* m = ::getenv("_BERTH_SEALED_EXE"); m && *m) {
    // We were exec'd from a copy that is not sealed: never loop.
    return make_error("re-executed from an unsealed copy of the runtime binary");
  }
  UniqueFd exe(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!exe) return errno_error("open /proc/self/exe");
  Elf64_Ehdr eh;
  if (::pread(exe.get(), &eh, sizeof eh, 0) != sizeof eh || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64)
    return make_error("/proc/self/exe is not a 64-bit ELF file");
  // Only what the kernel and ld.so load is copied: the debug sections that
  // follow it can be most of the file.
  std::vector<Elf64_Phdr> ph(eh.e_phnum);
  ssize_t want = static_cast<ssize_t>(sizeof(Elf64_Phdr) * ph.size());
  if (::pread(exe.get(), ph.data(), static_cast<size_t>(want), static_cast<off_t>(eh.e_phoff)) != want)
    return errno_error("read program headers");
  uint64_t end = eh.e_phoff + sizeof(Elf64_Phdr) * ph.size();
  for (auto& p : ph) end = std::max<uint64_t>(end, p.p_offset + p.p_filesz);
  int mfd = static_cast<int>(::syscall(SYS_memfd_create, "berth-oci", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (mfd < 0) return errno_error("memfd_create");
  UniqueFd copy(mfd);
  off_t off = 0;
  while (static_cast<uint64_t>(off) < end) {
    ssize_t n = ::sendfile(copy.get(), exe.get(), &off, end - static_cast<uint64_t>(off));
    if (n < 0) return errno_error("copy the runtime binary");
    if (n == 0) break;
  }
  // No section headers beyond the copied part.
  eh.e_shoff = 0;
  eh.e_shnum = 0;
  eh.e_shstrndx = 0;
  if (::pwrite(copy.get(), &eh, sizeof eh, 0) != sizeof eh) return errno_error("write ELF header");
  if (::fcntl(copy.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    return errno_error("seal the runtime copy");
  std::vector<char*> env;
  for (char** e = environ; *e; e++) env.push_back(*e);
  env.push_back(const_cast<char*>(kMarker));
  env.push_back(nullptr);
  ::syscall(SYS_execveat, copy.get(), "", argv, env.data(), AT_EMPTY_PATH);
  return errno_error("exec the sealed runtime copy");
}

}  // namespace berth::engine
