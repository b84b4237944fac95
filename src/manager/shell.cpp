#include "manager/shell.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "base/files.h"
#include "engine/container.h"
#include "engine/rootfs.h"
#include "manager/console.h"
#include "manager/live.h"
#include "manager/manager.h"
#include "manager/tty.h"

namespace berth::manager {

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  for (;;) {
    size_t e = s.find(sep, pos);
    out.push_back(s.substr(pos, e == std::string_view::npos ? std::string_view::npos : e - pos));
    if (e == std::string_view::npos) return out;
    pos = e + 1;
  }
}

std::optional<uint32_t> parse_id(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > 0xffffffffu) return std::nullopt;
  return static_cast<uint32_t>(v);
}

// A regular file of the container (path as the container sees it).
Result<std::string> read_in_root(int root_fd, const std::string& path, size_t max) {
  UniqueFd at = TRY(engine::open_in_root(root_fd, path, engine::Create::No));
  struct stat st;
  if (::fstat(at.get(), &st) < 0) return errno_error("stat {}", path);
  if (!S_ISREG(st.st_mode)) return make_error("{} is not a regular file", path);
  if (static_cast<uint64_t>(st.st_size) > max) return make_error("{} is too large", path);
  UniqueFd fd(
      ::open(fmt::format("/proc/self/fd/{}", at.get()).c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC));
  if (!fd) return errno_error("open {}", path);
  return read_fd(fd.get());
}

bool is_dir_in_root(int root_fd, const std::string& path) {
  auto at = engine::open_in_root(root_fd, path, engine::Create::No);
  struct stat st;
  return at && ::fstat(at->get(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<UniqueFd> container_root(pid_t init) {
  UniqueFd fd(::open(fmt::format("/proc/{}/root", init).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error("open the root of pid {}", init);
  return fd;
}

void set_env(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  std::erase_if(env, [&](const std::string& e) { return e.starts_with(key + "="); });
  env.push_back(key + "=" + value);
}

// Waits for pid up to timeout; its exit status (128+signal), or nullopt.
std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int ws;
    pid_t r = ::waitpid(pid, &ws, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(ws)) return WEXITSTATUS(ws);
      if (WIFSIGNALED(ws)) return 128 + WTERMSIG(ws);
      return 1;
    }
    if (r < 0 && errno != EINTR) return 1;
    if (std::chrono::steady_clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Copies between the caller's stdio and the session's pty master until the
// process exits (or the caller detaches); returns its exit status.
Result<int> relay(pid_t pid, UniqueFd master, SessionSignals& sigs, bool tty) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) return errno_error("pidfd_open");
  ::fcntl(master.get(), F_SETFL, ::fcntl(master.get(), F_GETFL) | O_NONBLOCK);
  EscapeDetector esc;
  std::string to_master;
  bool stdin_eof = false, master_gone = false, exited = false, detached = false;
  char buf[16384];
  auto drain = [&] {
    for (;;) {
      ssize_t n = ::read(master.get(), buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (n == 0 || errno == EIO) master_gone = true;
        return;
      }
      if (!write_all(1, {buf, static_cast<size_t>(n)})) return;
    }
  };
  while (!exited && !detached) {
    short mev = master_gone ? 0 : POLLIN;
    if (!to_master.empty() && !master_gone) mev |= POLLOUT;
    bool want_stdin = !stdin_eof && to_master.size() < 65536;
    std::vector<struct pollfd> pfds = {{sigs.fd(), POLLIN, 0},
                                       {pidfd.get(), POLLIN, 0},
                                       {master_gone ? -1 : master.get(), mev, 0},
                                       {want_stdin ? 0 : -1, POLLIN, 0}};
    int n = ::poll(pfds.data(), pfds.size(), esc.timeout_ms());
    to_master += esc.expire();
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("poll");
    if (pfds[0].revents) {
      while (int sig = sigs.read()) {
        if (sig == SIGWINCH) {
          if (auto ws = window_size(0)) ::ioctl(master.get(), TIOCSWINSZ, &*ws);
        } else {
          detached = true;
        }
      }
    }
    if (pfds[2].revents & (POLLIN | POLLHUP | POLLERR)) drain();
    if ((pfds[2].revents & POLLOUT) && !to_master.empty()) {
      ssize_t w = ::write(master.get(), to_master.data(), to_master.size());
      if (w > 0) to_master.erase(0, static_cast<size_t>(w));
    }
    if (pfds[3].revents) {
      ssize_t got = ::read(0, buf, sizeof(buf));
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        stdin_eof = true;
        if (tty)
          detached = true;  // the terminal hung up
        else
          to_master += '\x04';  // end of input for the shell, as ^D
      } else {
        to_master += esc.feed({buf, static_cast<size_t>(got)});
        if (esc.escaped()) detached = true;
      }
    }
    if (pfds[1].revents) exited = true;
  }
  if (exited) {
    // What it wrote just before it exited: the pty hands it over
    // asynchronously, and says EIO once it is all read.
    while (!master_gone) {
      struct pollfd pm = {master.get(), POLLIN, 0};
      int n = ::poll(&pm, 1, 200);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      drain();
    }
    auto st = wait_for(pid, std::chrono::seconds(5));
    return st.value_or(1);
  }
  // Detached: hanging up the pty ends the session as a closed terminal would.
  master.reset();
  if (auto st = wait_for(pid, std::chrono::seconds(2))) return *st;
  return 0;
}

}  // namespace

Result<ContainerUser> find_user(std::string_view passwd, std::string_view group,
                                const std::string& user) {
  std::optional<ContainerUser> u;
  for (auto line : split(passwd, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 7 || f[0] != user) continue;
    auto uid = parse_id(f[2]), gid = parse_id(f[3]);
    if (!uid || !gid) return make_error("bad /etc/passwd entry for \"{}\" in the container", user);
    u = ContainerUser{user, *uid, *gid, {}, std::string(f[5]), std::string(f[6])};
    break;
  }
  if (!u) return make_error("no user \"{}\" in the container's /etc/passwd", user);
  if (u->home.empty()) u->home = "/";
  if (u->shell.empty()) u->shell = "/bin/sh";
  for (auto line : split(group, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 4) continue;
    auto gid = parse_id(f[2]);
    if (!gid || *gid == u->gid) continue;
    for (auto m : split(f[3], ','))
      if (m == user && std::find(u->groups.begin(), u->groups.end(), *gid) == u->groups.end())
        u->groups.push_back(*gid);
  }
  return *u;
}

Result<int> shell(const decl::Paths& paths, const std::string& name, const std::string& user) {
  pid_t init = TRY(running_init(paths, name));
  RunDir rd(paths, name);
  auto store = rd.store();
  UniqueFd root = TRY(container_root(init));
  std::string who = user.empty() ? "root" : user;
  auto passwd = read_in_root(root.get(), "/etc/passwd", 16 << 20);
  auto group = read_in_root(root.get(), "/etc/group", 16 << 20);
  ContainerUser u;
  if (passwd) {
    auto found = find_user(*passwd, group ? *group : std::string(), who);
    if (found)
      u = *found;
    else if (!user.empty())
      return std::move(found).error();
  } else if (!user.empty()) {
    return std::move(passwd).error().wrap("look up \"" + user + "\"");
  }
  if (user.empty() && u.name.empty()) u = ContainerUser{"root", 0, 0, {}, "/root", "/bin/sh"};

  oci::Process p = TRY(run_base_process(paths, name));
  p.args = {u.shell, "-l"};
  p.user = oci::User{};
  p.user.uid = u.uid;
  p.user.gid = u.gid;
  p.user.additional_gids = {u.gid};
  for (auto g : u.groups) p.user.additional_gids.push_back(g);
  if (u.uid != 0 && p.capabilities) {
    // As after login(1): a user's shell holds no capabilities.
    p.capabilities->effective.clear();
    p.capabilities->permitted.clear();
    p.capabilities->inheritable.clear();
    p.capabilities->ambient.clear();
  }
  p.cwd = is_dir_in_root(root.get(), u.home) ? u.home : "/";
  const char* term = ::getenv("TERM");
  set_env(p.env, "TERM", term && *term ? term : "xterm");
  set_env(p.env, "HOME", u.home);
  set_env(p.env, "USER", u.name);
  set_env(p.env, "LOGNAME", u.name);
  set_env(p.env, "SHELL", u.shell);
  if (std::none_of(p.env.begin(), p.env.end(), [](auto& e) { return e.starts_with("PATH="); }))
    set_env(p.env, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  p.terminal = true;
  bool tty = ::isatty(0);
  if (auto ws = window_size(0)) p.console_size = oci::ConsoleSize{ws->ws_row, ws->ws_col};
  root.reset();

  ::signal(SIGPIPE, SIG_IGN);
  auto sigs = TRY(SessionSignals::open());
  engine::ExecOptions eo;
  eo.process = std::move(p);
  UniqueFd master;
  eo.console_out = &master;
  pid_t pid = TRY(engine::exec(store, name, eo));
  if (!master) {
    ::kill(pid, SIGKILL);
    (void)wait_for(pid, std::chrono::seconds(5));
    return make_error("the shell got no terminal");
  }
  std::optional<RawTerminal> raw;
  raw.emplace(0);
  auto r = relay(pid, std::move(master), sigs, tty);
  raw.reset();
  return r;
}

// The first SSH host public key in the tree at root, if any.
static std::optional<std::string> host_key_in(int root) {
  for (const char* kind : {"ed25519", "ecdsa", "rsa"}) {
    auto key = read_in_root(root, fmt::format("/etc/ssh/ssh_host_{}_key.pub", kind), 65536);
    if (!key) continue;
    if (!key->empty() && key->back() != '\n') *key += '\n';
    return *key;
  }
  return std::nullopt;
}

Result<std::string> host_key(const decl::Paths& paths, const std::string& name,
                             const decl::Container* d) {
  RunDir rd(paths, name);
  UniqueFd root;
  std::string where;
  if (auto pid = engine_pid(rd, name)) {
    root = TRY(container_root(*pid));
  } else if (d && !d->image.empty()) {
    // Stopped, on an image: its layer (where a first boot made the keys), then the image.
    for (auto& tree : {paths.container_layer(name) + "/upper", paths.image_rootfs(d->image)}) {
      UniqueFd t(::open(tree.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!t) continue;
      if (auto key = host_key_in(t.get())) return *key;
    }
  } else if (d) {
    where = d->share_host ? paths.container_rootfs(name) : d->path;
    root.reset(::open(where.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return errno_error("open the root of \"{}\" ({})", name, where);
  } else {
    return make_error("no container \"{}\" is declared", name);
  }
  if (root)
    if (auto key = host_key_in(root.get())) return *key;
  return make_error(
      "container \"{}\" has no SSH host key (no /etc/ssh/ssh_host_{{ed25519,ecdsa,rsa}}_key.pub in "
      "its root)",
      name);
}

}  // namespace berth::manager
