#include "engine/console.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "base/fdpass.h"
#include "engine/container.h"

namespace berth::engine {

Result<std::pair<UniqueFd, UniqueFd>> open_pty(const std::string& ptmx) {
  UniqueFd master(::open(ptmx.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return errno_error("open {}", ptmx);
  int unlock = 0;
  if (::ioctl(master.get(), TIOCSPTLCK, &unlock) < 0) return errno_error("unlock pty");
  // TIOCGPTPEER opens the peer through the master, never by a path the
  // container could have replaced (CVE-2025-52565).
  int peer = ::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (peer < 0) return errno_error("open pty peer");
  return std::pair<UniqueFd, UniqueFd>{std::move(master), UniqueFd(peer)};
}

Result<void> set_console_size(int fd, const std::optional<oci::ConsoleSize>& size) {
  if (!size) return ok();
  struct winsize ws = {};
  ws.ws_row = static_cast<unsigned short>(size->height);
  ws.ws_col = static_cast<unsigned short>(size->width);
  if (::ioctl(fd, TIOCSWINSZ, &ws) < 0) return errno_error("set console size");
  return ok();
}

Result<void> become_session_leader_on(int peer, bool ctty) {
  if (::setsid() < 0) return errno_error("setsid");
  if (ctty && ::ioctl(peer, TIOCSCTTY, 0) < 0) return errno_error("set controlling terminal");
  for (int i = 0; i < 3; i++)
    if (::dup2(peer, i) < 0) return errno_error("dup2 console");
  return ok();
}

Result<void> send_fd_to_socket(const std::string& path, int fd, const std::string& name) {
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return errno_error("socket");
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return make_error("console socket path {} is too long", path);
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return errno_error("connect to console socket {}", path);
  if (send_with_fd(sock.get(), name.data(), name.size(), fd) < 0)
    return errno_error("send console to {}", path);
  return ok();
}

}  // namespace berth::engine
