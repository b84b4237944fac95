// The caller's side of the interactive verbs (login, root-login, shell): its
// terminal in raw mode (restored whatever happens), its window size, the
// nspawn-style escape (^] three times within a second), and the signals
// that end or resize a session, as one pollable fd.
#pragma once

#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/result.h"
#include "base/unique_fd.h"

namespace berth::manager {

// Puts fd's terminal in raw mode when it is a terminal; the destructor puts
// the saved settings back.
class RawTerminal {
 public:
  explicit RawTerminal(int fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  bool active() const { return active_; }

 private:
  int fd_;
  bool active_ = false;
  struct termios saved_ = {};
};

std::optional<struct winsize> window_size(int fd);

// Watches the bytes typed for ^] (0x1d) three times in a row within one
// second, as systemd-nspawn and machinectl do. ^] are held back while they
// may still be the start of the escape, so a detach types nothing.
class EscapeDetector {
 public:
  // The bytes to pass on now.
  std::string feed(std::string_view bytes);
  bool escaped() const { return count_ >= 3; }
  // Held ^] whose second has passed, to pass on now.
  std::string expire();
  // Milliseconds until expire() has something to give, or -1.
  int timeout_ms() const;

 private:
  int count_ = 0;
  std::chrono::steady_clock::time_point first_;
};

// A signalfd for SIGWINCH, SIGINT, SIGTERM, SIGHUP (blocked while it lives,
// and the mask restored after).
class SessionSignals {
 public:
  static Result<SessionSignals> open();
  SessionSignals() = default;
  SessionSignals(SessionSignals&& o) noexcept
      : fd_(std::move(o.fd_)), restore_(std::exchange(o.restore_, false)), old_(o.old_) {}
  SessionSignals& operator=(SessionSignals&&) = delete;
  ~SessionSignals();
  int fd() const { return fd_.get(); }
  // The next pending signal number, or 0.
  int read();

 private:
  UniqueFd fd_;
  bool restore_ = false;
  sigset_t old_ = {};
};

// The message printed when a session starts on a terminal.
inline constexpr std::string_view kEscapeHint = "Press ^] three times within 1s to detach.";

}  // namespace berth::manager
