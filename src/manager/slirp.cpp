// slirp4netns for a rootless container's network (see slirp.h).
#include "manager/slirp.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/files.h"

extern char** environ;

namespace berth::manager {

namespace {

// One request on the API socket: a connection each, the request ended by
// shutting down the writing side (as slirp4netns(1) asks).
Result<nlohmann::json> api_call(const std::string& socket, const nlohmann::json& request) {
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return errno_error("socket");
  struct sockaddr_un a = {};
  a.sun_family = AF_UNIX;
  if (socket.size() >= sizeof(a.sun_path))
    return make_error("{}: too long for a socket path", socket);
  std::memcpy(a.sun_path, socket.c_str(), socket.size() + 1);
  if (::connect(s.get(), reinterpret_cast<struct sockaddr*>(&a), sizeof a) < 0)
    return errno_error("connect to slirp4netns at {}", socket);
  struct timeval tv = {5, 0};
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  TRY(write_all(s.get(), request.dump()));
  ::shutdown(s.get(), SHUT_WR);
  std::string said;
  char buf[4096];
  for (ssize_t n; (n = ::read(s.get(), buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read slirp4netns's answer");
    said.append(buf, static_cast<size_t>(n));
  }
  auto j = nlohmann::json::parse(said, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error("slirp4netns answered \"{}\"", said);
  if (j.contains("error")) {
    auto& e = j["error"];
    return make_error("{}", e.is_object() && e.contains("desc") && e["desc"].is_string()
                                ? e["desc"].get<std::string>()
                                : e.dump());
  }
  return j;
}

// A copy of fd numbered above the ones the child's file actions set (so
// that dup2 onto 3..6 never meets itself and keeps close-on-exec).
Result<UniqueFd> above(int fd) {
  UniqueFd high(::fcntl(fd, F_DUPFD_CLOEXEC, 10));
  if (!high) return errno_error("fcntl F_DUPFD");
  return high;
}

std::string tail_of(const std::string& file) {
  auto text = read_file(file);
  if (!text) return "(it said nothing)";
  std::string s = *text;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.size() > 400) s = "..." + s.substr(s.size() - 400);
  for (auto& c : s)
    if (c == '\n') c = ' ';
  return s.empty() ? "(it said nothing)" : s;
}

}  // namespace

Result<std::unique_ptr<Slirp>> Slirp::start(int userns, int netns, const std::string& api_socket,
                                            const std::string& log_file,
                                            const std::vector<decl::PortForward>& forwards) {
  int p[2], q[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd ready_r(p[0]), ready_w = TRY(above(UniqueFd(p[1]).get()));
  if (::pipe2(q, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd exit_r = TRY(above(UniqueFd(q[0]).get())), exit_w(q[1]);
  // Its namespaces as its fds 5 and 6, opened by path (--netns-type=path).
  UniqueFd user = TRY(above(userns)), net = TRY(above(netns));
  ::unlink(api_socket.c_str());
  std::vector<std::string> args = {"slirp4netns",       "--configure",
                                   "--mtu=65520",       "--disable-host-loopback",
                                   "--ready-fd=3",      "--exit-fd=4",
                                   "--api-socket",      api_socket,
                                   "--netns-type=path", "--userns-path=/proc/self/fd/5",
                                   "/proc/self/fd/6",   "eth0"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  ::posix_spawn_file_actions_init(&fa);
  ::posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_addopen(&fa, 1, log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ::posix_spawn_file_actions_adddup2(&fa, 1, 2);
  ::posix_spawn_file_actions_adddup2(&fa, ready_w.get(), 3);
  ::posix_spawn_file_actions_adddup2(&fa, exit_r.get(), 4);
  ::posix_spawn_file_actions_adddup2(&fa, user.get(), 5);
  ::posix_spawn_file_actions_adddup2(&fa, net.get(), 6);
  // Its own process group: a ^C or SIGTERM to the monitor's is not its.
  posix_spawnattr_t at;
  ::posix_spawnattr_init(&at);
  ::posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
  pid_t child = -1;
  int e = ::posix_spawnp(&child, "slirp4netns", &fa, &at, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&fa);
  ::posix_spawnattr_destroy(&at);
  if (e == ENOENT)
    return make_error(
        "slirp4netns not found on PATH: a rootless container's private network is made by it "
        "(Debian's slirp4netns package)");
  if (e != 0) return code_error(e, "run slirp4netns");
  ready_w.reset();
  exit_r.reset();
  std::unique_ptr<Slirp> s(new Slirp(child, std::move(exit_w), api_socket));
  // "1" once eth0 is configured and the API socket listens; EOF if it died.
  struct pollfd pfd = {ready_r.get(), POLLIN, 0};
  int n;
  while ((n = ::poll(&pfd, 1, 10000)) < 0 && errno == EINTR) {
  }
  char c = 0;
  if (n <= 0 || ::read(ready_r.get(), &c, 1) != 1 || c != '1')
    return make_error("slirp4netns {}: {}", n == 0 ? "was not ready after 10s" : "failed",
                      tail_of(log_file));
  TRY(slirp_set_forwards(api_socket, forwards));
  return s;
}

Result<void> slirp_set_forwards(const std::string& api_socket,
                                const std::vector<decl::PortForward>& forwards) {
  auto listed = TRY_CTX(api_call(api_socket, {{"execute", "list_hostfwd"}}), "list port forwards");
  // {"return": {"entries": [...]}} as slirp4netns(1) shows it; 1.2.0
  // answers {"entries": [...]}.
  nlohmann::json entries = listed.value("entries", nlohmann::json());
  if (auto r = listed.find("return"); r != listed.end() && r->is_object())
    entries = r->value("entries", entries);
  if (entries.is_array())
    for (auto& e : entries)
      if (e.is_object() && e.contains("id") && e["id"].is_number_integer())
        TRY_CTX(api_call(api_socket, {{"execute", "remove_hostfwd"},
                                      {"arguments", {{"id", e["id"].get<int>()}}}}),
                "remove a port forward");
  for (auto& f : forwards) {
    uint16_t to = f.container_port ? f.container_port : f.host_port;
    auto r = api_call(api_socket, {{"execute", "add_hostfwd"},
                                   {"arguments",
                                    {{"proto", f.protocol},
                                     {"host_addr", "0.0.0.0"},
                                     {"host_port", f.host_port},
                                     {"guest_port", to}}}});
    if (!r)
      return make_error("forward_ports {} {} -> {}: {}", f.protocol, f.host_port, to,
                        r.error().message);
  }
  return ok();
}

Slirp::~Slirp() {
  exit_w_.reset();
  if (pid_ <= 0) return;
  for (int i = 0; i < 100; ++i) {
    pid_t r = ::waitpid(pid_, nullptr, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) return;
    ::usleep(10000);
  }
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace berth::manager
