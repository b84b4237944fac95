// The console pty of a boot container (the monitor's ConsoleServer) and
// `berth login`, the client that attaches to it.
#include "manager/console.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "base/files.h"
#include "manager/manager.h"
#include "manager/tty.h"

namespace berth::manager {

namespace {

constexpr size_t kTailBytes = 4096;
constexpr size_t kPacketBytes = 16384;
constexpr size_t kMaxQueuedToClient = 4 << 20;  // a client this far behind is dropped
constexpr size_t kMaxQueuedInput = 65536;

Result<void> fill_addr(const std::string& path, struct sockaddr_un& addr) {
  addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return make_error("socket path too long: {}", path);
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  return ok();
}

}  // namespace

std::string console_socket(const RunDir& rd) {
  return rd.dir + "/console.sock";
}

bool wants_console(const decl::Container& c) {
  return c.boot;
}

Result<pid_t> running_init(const decl::Paths& paths, const std::string& name) {
  RunDir rd(paths, name);
  if (auto pid = engine_pid(rd, name)) return *pid;
  auto loaded = decl::load_files(decl::default_declaration_files(paths));
  bool declared = loaded.decls.containers.count(name) > 0 || load_snapshot(rd, name).has_value();
  if (!declared) return make_error("no container \"{}\" is declared", name);
  return make_error("container \"{}\" is not running", name);
}

// ---- the monitor's side ----

ConsoleServer::~ConsoleServer() {
  if (listen_) close("");
}

Result<void> ConsoleServer::listen(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return errno_error("console socket");
  struct sockaddr_un addr;
  TRY(fill_addr(path, addr));
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0)
    return errno_error("bind {}", path);
  ::chmod(path.c_str(), 0600);
  if (::listen(fd.get(), 4) < 0) return errno_error("listen {}", path);
  listen_ = std::move(fd);
  path_ = path;
  return ok();
}

void ConsoleServer::set_master(UniqueFd master) {
  drop_master();
  master_ = std::move(master);
  if (!master_) return;
  ::fcntl(master_.get(), F_SETFL, ::fcntl(master_.get(), F_GETFL) | O_NONBLOCK);
  // Holding the peer open keeps the master readable (no EIO/POLLHUP storm)
  // while no process in the container has its console open.
  peer_.reset(::ioctl(master_.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (winsize_) {
    struct winsize ws = {};
    ws.ws_row = winsize_->first;
    ws.ws_col = winsize_->second;
    ::ioctl(master_.get(), TIOCSWINSZ, &ws);
  }
}

void ConsoleServer::drop_master() {
  if (master_) read_master();
  if (pending_cr_) log_("\r");
  pending_cr_ = false;
  master_.reset();
  peer_.reset();
  to_master_.clear();
}

void ConsoleServer::add_pollfds(std::vector<struct pollfd>& pfds) {
  first_ = pfds.size();
  pfds.push_back({listen_ ? listen_.get() : -1, POLLIN, 0});
  short mev = POLLIN;
  if (!to_master_.empty()) mev |= POLLOUT;
  pfds.push_back({master_ ? master_.get() : -1, mev, 0});
  short cev = 0;
  if (to_master_.size() < kMaxQueuedInput) cev |= POLLIN;
  if (!to_client_.empty()) cev |= POLLOUT;
  pfds.push_back({client_ ? client_.get() : -1, cev, 0});
  added_ = 3;
}

void ConsoleServer::handle(const std::vector<struct pollfd>& pfds) {
  if (added_ != 3 || pfds.size() < first_ + 3) return;
  const auto& l = pfds[first_];
  const auto& m = pfds[first_ + 1];
  const auto& c = pfds[first_ + 2];
  added_ = 0;
  if (client_ && c.fd == client_.get() && c.revents) {
    if (c.revents & POLLOUT) flush_client();
    if (client_ && (c.revents & (POLLIN | POLLHUP | POLLERR))) read_client();
  }
  if (master_ && m.fd == master_.get() && m.revents) {
    if (m.revents & POLLOUT) flush_input();
    if (m.revents & (POLLIN | POLLHUP | POLLERR)) read_master();
  }
  if (listen_ && l.fd == listen_.get() && (l.revents & POLLIN)) accept_clients();
}

void ConsoleServer::read_master() {
  char buf[kPacketBytes];
  for (int i = 0; i < 64 && master_; ++i) {
    ssize_t n = ::read(master_.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    std::string_view chunk(buf, static_cast<size_t>(n));
    // The log gets plain lines: the terminal's CRLF becomes LF.
    std::string out;
    out.reserve(chunk.size() + 1);
    for (char ch : chunk) {
      if (pending_cr_) {
        pending_cr_ = false;
        if (ch != '\n') out += '\r';
      }
      if (ch == '\r')
        pending_cr_ = true;
      else
        out += ch;
    }
    if (!out.empty()) log_(out);
    tail_.append(chunk);
    if (tail_.size() > kTailBytes) tail_.erase(0, tail_.size() - kTailBytes);
    send_client('o', chunk);
  }
}

void ConsoleServer::accept_clients() {
  for (;;) {
    UniqueFd c(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!c) return;
    struct ucred cred = {};
    socklen_t len = sizeof(cred);
    ::getsockopt(c.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len);
    if (client_) {
      std::string msg =
          "e" +
          fmt::format(
              "the console of \"{}\" is already attached (by pid {}); only one client at a time",
              name_, client_pid_);
      (void)::send(c.get(), msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      continue;
    }
    client_ = std::move(c);
    client_pid_ = cred.pid;
    send_client('k', {});
    // What the console shows now (typically a login prompt) for the newcomer.
    auto nl = tail_.rfind('\n');
    std::string_view current =
        nl == std::string::npos ? std::string_view(tail_) : std::string_view(tail_).substr(nl + 1);
    if (!current.empty()) send_client('o', current);
  }
}

void ConsoleServer::read_client() {
  char buf[kPacketBytes + 1];
  while (client_ && to_master_.size() < kMaxQueuedInput) {
    ssize_t n = ::recv(client_.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      detach_client();
      return;
    }
    std::string_view msg(buf, static_cast<size_t>(n));
    if (msg[0] == 'i') {
      if (master_) to_master_.append(msg.substr(1));
    } else if (msg[0] == 'w' && msg.size() == 5) {
      uint16_t rows, cols;
      std::memcpy(&rows, buf + 1, 2);
      std::memcpy(&cols, buf + 3, 2);
      winsize_ = std::make_pair(rows, cols);
      if (master_) {
        struct winsize ws = {};
        ws.ws_row = rows;
        ws.ws_col = cols;
        ::ioctl(master_.get(), TIOCSWINSZ, &ws);
      }
    }
  }
  flush_input();
}

void ConsoleServer::flush_input() {
  if (!master_) {
    to_master_.clear();
    return;
  }
  while (!to_master_.empty()) {
    ssize_t n = ::write(master_.get(), to_master_.data(), to_master_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // full: POLLOUT says when to go on
    to_master_.erase(0, static_cast<size_t>(n));
  }
}

void ConsoleServer::send_client(char type, std::string_view data) {
  if (!client_) return;
  for (size_t off = 0; off < data.size() || (off == 0 && data.empty()); off += kPacketBytes) {
    std::string pkt(1, type);
    pkt.append(data.substr(off, kPacketBytes));
    to_client_.push_back(std::move(pkt));
    to_client_bytes_ += to_client_.back().size();
    if (data.empty()) break;
  }
  if (to_client_bytes_ > kMaxQueuedToClient) {
    log_(fmt::format("berth: the console client (pid {}) fell too far behind; detached\n",
                     client_pid_));
    detach_client();
    return;
  }
  flush_client();
}

void ConsoleServer::flush_client() {
  while (client_ && !to_client_.empty()) {
    auto& p = to_client_.front();
    ssize_t n = ::send(client_.get(), p.data(), p.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) {
      detach_client();
      return;
    }
    to_client_bytes_ -= p.size();
    to_client_.pop_front();
  }
}

void ConsoleServer::detach_client() {
  client_.reset();
  client_pid_ = 0;
  to_client_.clear();
  to_client_bytes_ = 0;
  to_master_.clear();
}

void ConsoleServer::close(const std::string& reason) {
  if (client_) {
    flush_client();
    if (client_ && !reason.empty()) {
      std::string msg = "x" + reason;
      (void)::send(client_.get(), msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    detach_client();
  }
  if (listen_) {
    listen_.reset();
    ::unlink(path_.c_str());
  }
}

// ---- berth login ----

namespace {

Result<void> send_packet(int fd, char type, std::string_view data) {
  std::string pkt(1, type);
  pkt.append(data);
  for (;;) {
    ssize_t n = ::send(fd, pkt.data(), pkt.size(), MSG_NOSIGNAL);
    if (n >= 0) return ok();
    if (errno != EINTR) return errno_error("send to the console");
  }
}

Result<void> send_winsize(int sock, int tty) {
  auto ws = window_size(tty);
  if (!ws) return ok();
  char b[4];
  uint16_t rows = ws->ws_row, cols = ws->ws_col;
  std::memcpy(b, &rows, 2);
  std::memcpy(b + 2, &cols, 2);
  return send_packet(sock, 'w', {b, 4});
}

}  // namespace

Result<int> login(const decl::Paths& paths, const std::string& name) {
  TRY(running_init(paths, name));
  RunDir rd(paths, name);
  auto snap = load_snapshot(rd, name);
  if (snap && !wants_console(*snap))
    return make_error(
        "container \"{}\" has no console (only boot = true containers have one); "
        "use `berth root-login {}` or `berth shell {} USER`",
        name, name, name);
  UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!sock) return errno_error("socket");
  struct sockaddr_un addr;
  TRY(fill_addr(console_socket(rd), addr));
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    int e = errno;
    auto st = read_status(rd);
    if (!(st && monitor_alive(*st)))
      return make_error(
          "the monitor of \"{}\" is gone, and the console with it (restart the container)", name);
    errno = e;
    return errno_error("connect to the console of \"{}\"", name);
  }
  // The monitor's first word: attached or refused.
  struct pollfd p0 = {sock.get(), POLLIN, 0};
  if (::poll(&p0, 1, 10000) <= 0) return make_error("no answer from the console of \"{}\"", name);
  char first[1024];
  ssize_t n0 = ::recv(sock.get(), first, sizeof(first), 0);
  if (n0 <= 0) return make_error("the console of \"{}\" closed the connection", name);
  if (first[0] == 'e') return make_error("{}", std::string(first + 1, static_cast<size_t>(n0 - 1)));
  if (first[0] != 'k') return make_error("unexpected answer from the console of \"{}\"", name);

  ::signal(SIGPIPE, SIG_IGN);
  auto sigs = TRY(SessionSignals::open());
  bool tty = ::isatty(0);
  if (tty)
    std::fprintf(stderr, "Connected to the console of %s. %.*s\r\n", name.c_str(),
                 static_cast<int>(kEscapeHint.size()), kEscapeHint.data());
  std::optional<RawTerminal> raw;
  raw.emplace(0);
  if (tty) TRY(send_winsize(sock.get(), 0));

  EscapeDetector esc;
  bool stdin_eof = false, detached = false;
  std::string ended;  // why the console went away
  auto quiet_since = std::chrono::steady_clock::now();
  char buf[kPacketBytes + 1];
  while (!detached && ended.empty()) {
    std::vector<struct pollfd> pfds = {
        {sigs.fd(), POLLIN, 0}, {sock.get(), POLLIN, 0}, {stdin_eof ? -1 : 0, POLLIN, 0}};
    int timeout = esc.timeout_ms();
    if (stdin_eof) {
      auto idle = std::chrono::steady_clock::now() - quiet_since;
      auto left = std::chrono::seconds(1) - idle;
      if (left <= std::chrono::milliseconds(0)) break;
      timeout =
          static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(left).count()) + 1;
    }
    if (auto held = esc.expire(); !held.empty()) {
      if (auto s = send_packet(sock.get(), 'i', held); !s)
        ended = fmt::format("the console of {} closed", name);
      continue;
    }
    int n = ::poll(pfds.data(), pfds.size(), timeout);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("poll");
    if (pfds[0].revents) {
      while (int sig = sigs.read()) {
        if (sig == SIGWINCH)
          (void)send_winsize(sock.get(), 0);
        else
          detached = true;
      }
    }
    if (pfds[1].revents) {
      ssize_t got = ::recv(sock.get(), buf, sizeof(buf), MSG_DONTWAIT);
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
        ended = fmt::format("the console of {} closed", name);
      } else if (got > 0) {
        std::string_view data(buf + 1, static_cast<size_t>(got - 1));
        if (buf[0] == 'o') {
          if (!write_all(1, data)) detached = true;
          quiet_since = std::chrono::steady_clock::now();
        } else if (buf[0] == 'x') {
          ended = std::string(data);
        }
      }
    }
    if (pfds[2].revents && !stdin_eof) {
      ssize_t got = ::read(0, buf, kPacketBytes);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        // A terminal that ends has hung up; a script's input that ends
        // leaves time for the answer to what it typed.
        if (tty) detached = true;
        stdin_eof = true;
        quiet_since = std::chrono::steady_clock::now();
        continue;
      }
      std::string data = esc.feed({buf, static_cast<size_t>(got)});
      if (!data.empty())
        if (auto s = send_packet(sock.get(), 'i', data); !s)
          ended = fmt::format("the console of {} closed", name);
      if (esc.escaped()) detached = true;
    }
  }
  raw.reset();  // leave raw mode before the last words
  if (tty) std::fprintf(stderr, "\n");
  if (!ended.empty()) {
    std::fprintf(stderr, "%s\n", ended.c_str());
  } else if (tty || detached) {
    std::fprintf(stderr, "Detached from the console of %s; it keeps running.\n", name.c_str());
  }
  return 0;
}

}  // namespace berth::manager
