#include "decl/personality.h"

#include <elf.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
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

#if defined(__x86_64__)
// A complete static i386 ELF executable (93 bytes): one PT_LOAD segment at
// 0x08048000 whose code at 0x08048054 is `mov eax, 1; xor ebx, ebx;
// int 0x80` (exit(0)).
constexpr unsigned char kTinyI386[] = {
    // ELF header: ELFCLASS32, little-endian, ET_EXEC, EM_386, entry, phoff 52.
    0x7f, 'E', 'L', 'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
    2, 0, 3, 0, 1, 0, 0, 0, 0x54, 0x80, 0x04, 0x08,           //
    52, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,                      //
    52, 0, 32, 0, 1, 0, 0, 0, 0, 0, 0, 0,                     //
    // Program header: PT_LOAD, offset 0, vaddr/paddr 0x08048000, 93 bytes, R+X.
    1, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x80, 0x04, 0x08, 0x00, 0x80, 0x04, 0x08,  //
    93, 0, 0, 0, 93, 0, 0, 0, 5, 0, 0, 0, 0x00, 0x10, 0, 0,                  //
    // Code.
    0xb8, 0x01, 0x00, 0x00, 0x00, 0x31, 0xdb, 0xcd, 0x80};
static_assert(sizeof kTinyI386 == 93);

// Runs the tiny program in a child: true when it exits 0, false when the
// kernel refuses it (ENOEXEC) or it dies; true when the probe itself cannot
// be made (no memfd, no fork): then nothing is known and nothing refused.
bool exec_tiny_i386() {
  int fd = static_cast<int>(::syscall(SYS_memfd_create, "berth-ia32-probe", MFD_CLOEXEC));
  if (fd < 0) return true;
  UniqueFd mem(fd);
  if (::write(fd, kTinyI386, sizeof kTinyI386) != static_cast<ssize_t>(sizeof kTinyI386))
    return true;
  pid_t pid = ::fork();
  if (pid < 0) return true;
  if (pid == 0) {
    char* argv[] = {const_cast<char*>("berth-ia32-probe"), nullptr};
    char* envp[] = {nullptr};
    ::syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
    _exit(errno == ENOEXEC ? 100 : 101);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 101) return true;  // could not try
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}
#endif

bool real_32bit_probe() {
  const char* assume_no = std::getenv("BERTH_TEST_ASSUME_NO_IA32");
  if (assume_no && std::string(assume_no) == "1") return false;
#if defined(__x86_64__)
  static std::once_flag once;
  static bool runs = true;
  std::call_once(once, [] { runs = exec_tiny_i386(); });
  return runs;
#else
  return true;
#endif
}

std::function<bool()>& probe_32bit() {
  static std::function<bool()> p;
  return p;
}

}  // namespace

const char* const kNo32bitMessage =
    "this kernel cannot run 32-bit x86 programs (IA-32 emulation is off)";

bool kernel_runs_32bit() {
  auto& p = probe_32bit();
  return p ? p() : real_32bit_probe();
}

void set_32bit_probe(std::function<bool()> probe) {
  probe_32bit() = std::move(probe);
}

Result<UniqueFd> open_in_root(int root_fd, const std::string& path, int flags) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags) | O_CLOEXEC;
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

bool tree_needs_missing_32bit(const std::string& root, const std::string& program,
                              const std::vector<std::string>& env) {
  auto id = elf_id_in_tree(root, program, env);
  return id && personality_for(*id) && !kernel_runs_32bit();
}

Result<void> detect_personality(oci::Spec& s) {
  if (!s.process || s.process->args.empty() || s.root.path.empty()) return ok();
  auto id = elf_id_in_tree(s.root.path, s.process->args[0], s.process->env);
  if (!id) return ok();
  auto p = personality_for(*id);
  if (!p) return ok();
  if (!kernel_runs_32bit()) return make_error("{}", kNo32bitMessage);
  if (s.linux && s.linux->personality) return ok();
  if (!s.linux) s.linux = oci::Linux{};
  s.linux->personality = *p;
  return ok();
}

}  // namespace berth::decl
