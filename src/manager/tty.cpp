#include "manager/tty.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>

namespace berth::manager {

RawTerminal::RawTerminal(int fd) : fd_(fd) {
  if (!::isatty(fd) || ::tcgetattr(fd, &saved_) < 0) return;
  struct termios raw = saved_;
  ::cfmakeraw(&raw);
  if (::tcsetattr(fd, TCSANOW, &raw) == 0) active_ = true;
}

RawTerminal::~RawTerminal() {
  if (active_) ::tcsetattr(fd_, TCSADRAIN, &saved_);
}

std::optional<struct winsize> window_size(int fd) {
  struct winsize ws = {};
  if (::ioctl(fd, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0) return std::nullopt;
  return ws;
}

std::string EscapeDetector::feed(std::string_view bytes) {
  std::string out = expire();
  for (char c : bytes) {
    if (escaped()) break;
    if (c != 0x1d) {
      out.append(static_cast<size_t>(count_), '\x1d');
      count_ = 0;
      out += c;
      continue;
    }
    if (count_ == 0) first_ = std::chrono::steady_clock::now();
    ++count_;
  }
  return out;
}

std::string EscapeDetector::expire() {
  if (count_ == 0 || escaped() ||
      std::chrono::steady_clock::now() - first_ <= std::chrono::seconds(1))
    return {};
  std::string out(static_cast<size_t>(count_), '\x1d');
  count_ = 0;
  return out;
}

int EscapeDetector::timeout_ms() const {
  if (count_ == 0 || escaped()) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      first_ + std::chrono::seconds(1) - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()) + 1);
}

Result<SessionSignals> SessionSignals::open() {
  SessionSignals s;
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGWINCH, SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, sig);
  if (::sigprocmask(SIG_BLOCK, &set, &s.old_) < 0) return errno_error("block signals");
  s.restore_ = true;
  s.fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!s.fd_) return errno_error("signalfd");
  return s;
}

SessionSignals::~SessionSignals() {
  if (!restore_) return;
  fd_.reset();
  // Drop what arrived meanwhile rather than act on it after the session.
  sigset_t pending;
  ::sigpending(&pending);
  if (sigismember(&pending, SIGWINCH)) {
    struct timespec zero = {0, 0};
    sigset_t w;
    sigemptyset(&w);
    sigaddset(&w, SIGWINCH);
    ::sigtimedwait(&w, nullptr, &zero);
  }
  ::sigprocmask(SIG_SETMASK, &old_, nullptr);
}

int SessionSignals::read() {
  struct signalfd_siginfo si;
  if (::read(fd_.get(), &si, sizeof(si)) != static_cast<ssize_t>(sizeof(si))) return 0;
  return static_cast<int>(si.ssi_signo);
}

}  // namespace berth::manager
