// A program under a pty of its own, driven as a person at a terminal would
// (the console tests of the manager and of a rootless berth).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace berth::test {

// A program under a pty of its own, as a person at a terminal runs it.
class PtySession {
 public:
  explicit PtySession(const std::vector<std::string>& argv) {
    struct winsize ws = {};
    ws.ws_row = 40;
    ws.ws_col = 100;
    pid_ = ::forkpty(&master_, nullptr, nullptr, &ws);
    if (pid_ == 0) {
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::setenv("TERM", "vt100", 1);
      ::execv(args[0], args.data());
      _exit(127);
    }
    if (master_ >= 0) ::fcntl(master_, F_SETFL, O_NONBLOCK);
  }
  ~PtySession() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) ::close(master_);
  }
  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0 && master_ >= 0; }

  // Reads until needle shows up after what earlier expects consumed.
  bool expect(const std::string& needle,
              std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto at = out_.find(needle, pos_);
      if (at != std::string::npos) {
        pos_ = at + needle.size();
        return true;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      struct pollfd p = {master_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) > 0) read_some();
    }
  }
  void send(const std::string& s) { (void)!::write(master_, s.data(), s.size()); }
  // As a terminal window being resized: the program gets SIGWINCH.
  void resize(unsigned short rows, unsigned short cols) {
    struct winsize ws = {};
    ws.ws_row = rows;
    ws.ws_col = cols;
    ::ioctl(master_, TIOCSWINSZ, &ws);
  }
  // Its exit status (128+signal), or nullopt if it is still running.
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (!status_) {
      read_some();
      int ws;
      if (::waitpid(pid_, &ws, WNOHANG) == pid_) {
        status_ = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        break;
      }
      if (std::chrono::steady_clock::now() >= end) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    read_some();
    return status_;
  }
  const std::string& transcript() const { return out_; }

 private:
  void read_some() {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(master_, buf, sizeof(buf))) > 0) out_.append(buf, static_cast<size_t>(n));
  }
  int master_ = -1;
  pid_t pid_ = -1;
  std::string out_;
  size_t pos_ = 0;
  std::optional<int> status_;
};

}  // namespace berth::test
