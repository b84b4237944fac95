#include "manager/init_control.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sstream>

#include <fmt/format.h>

#include "base/files.h"
#include "base/parse.h"
#include "base/unique_fd.h"
#include "decl/personality.h"

namespace berth::manager {

namespace {

// Sets the mode of an existing flag file in the container's root. Opened
// with O_PATH and changed through /proc/self/fd: a 0000 flag file cannot be
// opened for reading by a rootless monitor (no DAC override over it).
void set_flag(int root_fd, const char* path, mode_t mode) {
  auto fd = decl::open_in_root(root_fd, path, O_PATH);
  if (fd) (void)::chmod(fmt::format("/proc/self/fd/{}", fd->get()).c_str(), mode);
}

}  // namespace

int signal_init(pid_t pid, decl::InitKind kind, int sig, bool reboot) {
  if (kind == decl::InitKind::RunitInit && sig == SIGCONT) {
    UniqueFd root(
        ::open(fmt::format("/proc/{}/root", pid).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (root) {
      for (const char* f : {"/run/runit.stopit", "/etc/runit/stopit"})
        set_flag(root.get(), f, 0100);
      for (const char* f : {"/run/runit.reboot", "/etc/runit/reboot"})
        set_flag(root.get(), f, reboot ? 0100 : 0);
    }
  }
  return ::kill(pid, sig);
}

bool halted_busybox_waits(pid_t pid) {
  auto children = read_file(fmt::format("/proc/{}/task/{}/children", pid, pid));
  if (!children) return false;
  // Children it has not reaped yet (it does not while it pauses) are done.
  std::istringstream in(*children);
  for (std::string child; in >> child;) {
    auto stat = read_file(fmt::format("/proc/{}/stat", child));
    if (!stat) continue;  // gone
    auto close = stat->rfind(')');
    if (close == std::string::npos || close + 2 >= stat->size() || (*stat)[close + 2] != 'Z')
      return false;
  }
  auto sc = read_file(fmt::format("/proc/{}/syscall", pid));
  if (!sc) return false;
  // "NR arg1 ... sp pc", or "running" / "-1 sp pc" (no syscall).
  auto nr = parse_int<long>(std::string_view(*sc).substr(0, sc->find_first_of(" \n")));
  return nr && (*nr == SYS_nanosleep || *nr == SYS_clock_nanosleep);
}

}  // namespace berth::manager
