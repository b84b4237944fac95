// Foreground waiting for `run` and `exec`: signal forwarding and a console proxy.
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cli/oci/cli.h"

namespace berth::oci_cli {

int wait_forwarding(pid_t pid, int master) {
  sigset_t set;
  sigfillset(&set);
  for (int s : {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTTIN, SIGTTOU, SIGTSTP})
    sigdelset(&set, s);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  struct termios saved;
  bool raw = false;
  if (master >= 0 && isatty(0) && tcgetattr(0, &saved) == 0) {
    struct termios t = saved;
    cfmakeraw(&t);
    raw = tcsetattr(0, TCSANOW, &t) == 0;
    struct winsize ws;
    if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
  }
  bool stdin_open = master >= 0;
  bool master_open = master >= 0;
  int code = -1;
  // SIGCHLD was not blocked before the child started: it may have gone already.
  {
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid)
      code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  while (code < 0) {
    struct pollfd fds[3] = {
        {sfd, POLLIN, 0}, {master_open ? master : -1, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
    int n = poll(fds, 3, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) {
          int st;
          pid_t w;
          while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
            if (w == pid) code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
          }
        } else if (sig == SIGWINCH && master >= 0) {
          struct winsize ws;
          if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
        } else {
          kill(pid, sig);
        }
      }
    }
    if (master_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buf[8192];
      ssize_t r = read(master, buf, sizeof buf);
      if (r <= 0)
        master_open = false;
      else
        (void)!write(1, buf, static_cast<size_t>(r));
    }
    if (stdin_open && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buf[8192];
      ssize_t r = read(0, buf, sizeof buf);
      if (r <= 0)
        stdin_open = false;
      else
        (void)!write(master, buf, static_cast<size_t>(r));
    }
  }
  // Drain what the container wrote last.
  if (master_open) {
    char buf[8192];
    struct pollfd p = {master, POLLIN, 0};
    while (poll(&p, 1, 0) > 0) {
      ssize_t r = read(master, buf, sizeof buf);
      if (r <= 0) break;
      (void)!write(1, buf, static_cast<size_t>(r));
    }
  }
  if (raw) tcsetattr(0, TCSANOW, &saved);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  return code < 0 ? 255 : code;
}

}  // namespace berth::oci_cli
