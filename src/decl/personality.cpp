#include "decl/personality.h"

#include <elf.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "base/unique_fd.h"

namespace berth::decl {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

Result<std::string> read_head(int fd, size_t n) {
  std::string buf(n, '\0');
  ssize_t got = ::pread(fd, buf.data(), n, 0);
  if (got < 0) return errno_error("read");
  buf.resize(static_cast<size_t>(got));
  return buf;
}

bool is_executable_file(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

// The program as the init's execve would find it.
Result<UniqueFd> find_program(int root_fd, const std::string& program,
                              const std::vector<std::string>& env) {
  if (program.empty()) return make_error("empty program name");
  if (program.find('/') != std::string::npos) return open_in_root(root_fd, program);
  std::string path = kDefaultPath;
  for (auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  std::istringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    auto fd = open_in_root(root_fd, dir + "/" + program);
    if (fd && is_executable_file(fd->get())) return std::move(*fd);
  }
  return make_error("{} not found in PATH {}", program, path);
}

// The host's 64-bit machine and its 32-bit sibling (0: none known).
struct HostArch {
  uint16_t machine64, machine32;
};
constexpr HostArch host_arch() {
#if defined(__x86_64__)
  return {EM_X86_64, EM_386};
#elif defined(__aarch64__)
  return {EM_AARCH64, EM_ARM};
#elif defined(__powerpc64__)
  return {EM_PPC64, EM_PPC};
#elif defined(__s390x__)
  return {EM_S390, EM_S390};
#else
  return {0, 0};
#endif
}

}  // namespace

Result<UniqueFd> open_in_root(int root_fd, const std::string& path) {
  struct open_how how = {};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  size_t skip = path.find_first_not_of('/');
  std::string rel = skip == std::string::npos ? std::string(".") : path.substr(skip);
  int fd = static_cast<int>(::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how));
  if (fd < 0) return errno_error("open {} in the tree", path);
  return UniqueFd(fd);
}

Result<ElfId> parse_elf_id(const std::string& h) {
  if (h.size() < 20 || h.compare(0, 4,
                                 "\x7f"
                                 "ELF") != 0)
    return make_error("not an ELF file");
  ElfId id;
  id.elf_class = static_cast<uint8_t>(h[EI_CLASS]);
  if (id.elf_class != ELFCLASS32 && id.elf_class != ELFCLASS64)
    return make_error("unknown ELF class {}", id.elf_class);
  auto b0 = static_cast<uint8_t>(h[18]), b1 = static_cast<uint8_t>(h[19]);
  switch (static_cast<uint8_t>(h[EI_DATA])) {
    case ELFDATA2LSB:
      id.machine = static_cast<uint16_t>(b0 | (b1 << 8));
      break;
    case ELFDATA2MSB:
      id.machine = static_cast<uint16_t>((b0 << 8) | b1);
      break;
    default:
      return make_error("unknown ELF byte order {}", static_cast<int>(h[EI_DATA]));
  }
  return id;
}

Result<ElfId> elf_id_in_tree(const std::string& root, const std::string& program,
                             const std::vector<std::string>& env) {
  UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) return errno_error("open tree {}", root);
  std::string prog = program;
  // A script names its interpreter; scripts may chain a few times (binfmt
  // allows 4 levels).
  for (int depth = 0; depth < 5; depth++) {
    auto fd = TRY_CTX(find_program(root_fd.get(), prog, env), "{}", root);
    auto head = TRY_CTX(read_head(fd.get(), 256), "read {} in {}", prog, root);
    if (head.rfind("#!", 0) != 0) return TRY_CTX(parse_elf_id(head), "{} in {}", prog, root);
    size_t eol = std::min(head.find('\n'), head.size());
    std::istringstream ls(std::string(head.begin() + 2, head.begin() + static_cast<long>(eol)));
    std::string interp;
    ls >> interp;
    if (interp.empty()) return make_error("{} in {}: script without an interpreter", prog, root);
    prog = interp;
  }
  return make_error("{} in {}: too many levels of script interpreters", program, root);
}

std::optional<oci::Personality> personality_for(const ElfId& id) {
  constexpr HostArch host = host_arch();
  if (host.machine32 == 0 || id.elf_class != ELFCLASS32 || id.machine != host.machine32)
    return std::nullopt;
  return oci::Personality{"LINUX32", {}};
}

void detect_personality(oci::Spec& s) {
  if (!s.process || s.process->args.empty() || s.root.path.empty()) return;
  if (s.linux && s.linux->personality) return;
  auto id = elf_id_in_tree(s.root.path, s.process->args[0], s.process->env);
  if (!id) return;
  if (auto p = personality_for(*id)) {
    if (!s.linux) s.linux = oci::Linux{};
    s.linux->personality = *p;
  }
}

}  // namespace berth::decl
