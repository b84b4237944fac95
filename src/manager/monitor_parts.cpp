// The monitor's stateless pieces (see monitor_parts.h).
#include "manager/monitor_parts.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include <fmt/format.h>

#include "base/files.h"
#include "decl/decl.h"
#include "manager/console.h"
#include "manager/private_root.h"

extern "C" void* __libc_stack_end;  // glibc: the top of the main thread's stack

namespace berth::manager {

namespace {
constexpr uint64_t kLogRotateBytes = 1 << 20;

int g_sigpipe = -1;
void on_signal(int sig) {
  int saved = errno;
  unsigned char b = static_cast<unsigned char>(sig);
  if (g_sigpipe >= 0) (void)!::write(g_sigpipe, &b, 1);
  errno = saved;
}
}  // namespace

Result<std::pair<UniqueFd, UniqueFd>> catch_signals() {
  int sp[2];
  if (::pipe2(sp, O_CLOEXEC | O_NONBLOCK) < 0) return errno_error("pipe");
  g_sigpipe = sp[1];
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  for (int s : {SIGCHLD, SIGTERM, SIGINT}) ::sigaction(s, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  return std::pair{UniqueFd(sp[0]), UniqueFd(sp[1])};
}

Result<UniqueFd> output_pipe() {
  int op[2];
  if (::pipe2(op, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd r(op[0]);
  ::fcntl(r.get(), F_SETFL, O_NONBLOCK);
  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull >= 0) {
    ::dup2(devnull, 0);
    if (devnull > 2) ::close(devnull);
  }
  ::dup2(op[1], 1);
  ::dup2(op[1], 2);
  ::close(op[1]);
  return r;
}

std::string describe_exit(int ws) {
  if (WIFEXITED(ws)) return fmt::format("exited with status {}", WEXITSTATUS(ws));
  if (WIFSIGNALED(ws))
    return fmt::format("killed by signal {} ({})", WTERMSIG(ws), strsignal(WTERMSIG(ws)));
  return "ended";
}

LogWriter::LogWriter(std::string path) : path_(std::move(path)) {
  open();
}

void LogWriter::write(std::string_view data) {
  if (!fd_) open();
  if (!fd_) return;
  (void)write_all(fd_.get(), data);
  size_ += data.size();
  if (!data.empty()) line_start_ = data.back() == '\n';
  if (size_ >= kLogRotateBytes) {
    ::rename(path_.c_str(), (path_ + ".1").c_str());
    open();
  }
}

void LogWriter::note(const std::string& msg) {
  time_t t = ::time(nullptr);
  struct tm tm;
  gmtime_r(&t, &tm);
  char ts[32];
  strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
  // A console prompt ends without a newline; the note starts a line of its own.
  write(fmt::format("{}{} berth: {}\n", line_start_ ? "" : "\n", ts, msg));
}

void LogWriter::open() {
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  struct stat st;
  size_ = fd_ && ::fstat(fd_.get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

Result<UniqueFd> bind_unix(const std::string& path, int type) {
  UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return errno_error("socket");
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return make_error("socket path too long: {}", path);
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0)
    return errno_error("bind {}", path);
  if (type == SOCK_STREAM && ::listen(fd.get(), 16) < 0) return errno_error("listen {}", path);
  return fd;
}

void sd_notify_systemd(const std::string& msg) {
  const char* env = ::getenv("NOTIFY_SOCKET");
  if (!env || !*env) return;
  std::string path = env;
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return;
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  (void)::sendto(fd.get(), msg.data(), msg.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
                 len);
}

std::optional<bool> has_execd(pid_t pid) {
  struct stat self, other;
  if (::stat("/proc/self/exe", &self) < 0) return std::nullopt;
  if (::stat(fmt::format("/proc/{}/exe", pid).c_str(), &other) < 0) return std::nullopt;
  return self.st_dev != other.st_dev || self.st_ino != other.st_ino;
}

std::optional<bool> command_execd(pid_t init) {
  auto e = has_execd(init);
  if (!e || !*e) return e;
  struct stat stub, other;
  if (::stat(fmt::format("/proc/{}/exe", init).c_str(), &stub) < 0) return std::nullopt;
  auto kids = read_file(fmt::format("/proc/{0}/task/{0}/children", init));
  if (!kids) return std::nullopt;
  size_t pos = 0;
  while (pos < kids->size()) {
    size_t end = kids->find(' ', pos);
    if (end == std::string::npos) end = kids->size();
    std::string kid = kids->substr(pos, end - pos);
    pos = end + 1;
    if (kid.empty() || kid == "\n") continue;
    if (::stat(fmt::format("/proc/{}/exe", kid).c_str(), &other) == 0 &&
        (other.st_dev != stub.st_dev || other.st_ino != stub.st_ino))
      return true;
  }
  return false;
}

double monotonic_seconds() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string format_duration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return fmt::format("{}s", d.count() / 1000);
  return fmt::format("{}ms", d.count());
}

bool notify_says_ready(std::string_view msg) {
  size_t pos = 0;
  while (pos < msg.size()) {
    size_t e = msg.find('\n', pos);
    if (e == std::string_view::npos) e = msg.size();
    if (msg.substr(pos, e - pos) == "READY=1") return true;
    pos = e + 1;
  }
  return false;
}

void remove_runtime_files(const RunDir& rd) {
  (void)remove_tree(rd.oci());
  remove_root_dirs(rd);
  ::unlink(rd.control().c_str());
  ::unlink(console_socket(rd).c_str());
  ::unlink(rd.notify_sock().c_str());
  ::rmdir(rd.notify_dir().c_str());
  ::unlink((rd.snapshot() + ".toml").c_str());
  ::unlink((rd.snapshot() + ".json").c_str());
  ::unlink(rd.spec().c_str());
  ::unlink(rd.environment().c_str());
  ::unlink(rd.status().c_str());
}

namespace {

// The calling thread's filesystem ids as id until destroyed: files made
// meanwhile are that user's.
class FsIds {
 public:
  explicit FsIds(uint32_t id) {
    ::setfsgid(id);
    ::setfsuid(id);
  }
  ~FsIds() {
    ::setfsuid(0);
    ::setfsgid(0);
  }
  FsIds(const FsIds&) = delete;
  FsIds& operator=(const FsIds&) = delete;
};

}  // namespace

Result<void> prepare_tree(const decl::Paths& paths, const RunDir& rd, const decl::Container& c,
                          oci::Spec& spec, std::optional<uint32_t> uid_base, LogWriter& log,
                          EarlyRoot* early) {
  auto resolv = resolv_setup(paths, c);
  bool overlay = c.ephemeral || !c.image.empty();
  if (!overlay) place_etc_files(spec.root.path, c, resolv, log);
  if (auto note = TRY(prepare_root(paths, rd, c, spec, uid_base, early)); !note.empty())
    log.note(note);
  if (overlay) {
    std::optional<FsIds> as_root;  // a user-namespaced container's root writes there
    if (uid_base) as_root.emplace(*uid_base);
    place_etc_files(spec.root.path, c, resolv, log);
  }
  return ok();
}

void place_etc_files(const std::string& root, const decl::Container& c, const ResolvSetup& rs,
                     LogWriter& log) {
  auto r = place_resolv_conf(root, rs);
  std::string note = r ? *r : "resolv.conf: " + r.error().message;
  auto h = place_extra_hosts(root, c.extra_hosts);
  std::string hosts = h ? *h : "extra_hosts: " + h.error().message;
  for (const std::string& n : {rs.note, note, hosts})
    if (!n.empty()) log.note(n);
}

Result<Declared> load_declared(const decl::Paths& paths, const std::string& name) {
  decl::LoadOptions lo;
  lo.images_dir = paths.images();
  lo.rootless = ::geteuid() != 0;
  auto loaded = decl::load_files(decl::default_declaration_files(paths), lo);
  if (!loaded.ok()) return make_error("invalid declarations: {}", loaded.errors.front().str());
  auto it = loaded.decls.containers.find(name);
  if (it == loaded.decls.containers.end())
    return make_error("no container \"{}\" is declared", name);
  Declared d;
  d.c = it->second;
  d.nat_all = loaded.decls.settings.nat;
  d.rootless = TRY(rootless_run(d.c));
  // Rootless, nothing is recorded or idmapped: its maps are the caller's.
  if (!d.rootless) d.uid_base = TRY(uid_base_of(paths, d.c, loaded.decls));
  return d;
}

[[gnu::noinline]] void release_stack_below() {
  constexpr uintptr_t kPage = 4096, kKeep = 2 * kPage, kSpan = 256 * 1024;
  // The frame itself, not a local (a sanitizer may keep those elsewhere).
  auto frame = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  auto stack_end = reinterpret_cast<uintptr_t>(__libc_stack_end);
  // Only on the main thread's stack, within its first megabytes.
  if (frame > stack_end || stack_end - frame > 8 * 1024 * 1024) return;
  uintptr_t top = (frame - kKeep) & ~(kPage - 1);
  // Nothing is mapped this close below a main thread's stack (the kernel
  // keeps mmap_base at least 128 MB under it); a hole only makes it ENOMEM.
  (void)::madvise(reinterpret_cast<void*>(top - kSpan), kSpan, MADV_DONTNEED);
}

}  // namespace berth::manager
