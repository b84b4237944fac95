// `berth kill NAME`: a signal to a running container's init, or to every
// process in its cgroup (as machinectl kill --kill-whom=leader|all).
#include <dirent.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <set>
#include <sstream>

#include "base/files.h"
#include "base/signal.h"
#include "base/unique_fd.h"
#include "cgroup/cgroup.h"
#include "engine/state.h"
#include "manager/manager.h"
#include "manager/runtime.h"

namespace berth::manager {

namespace {

// The pids in dir's cgroup.procs and in those of every cgroup below it (a
// booted system's services live in child cgroups of the container's).
void collect_procs(const std::string& dir, std::set<pid_t>& out, int depth = 0) {
  if (auto t = read_file(dir + "/cgroup.procs")) {
    std::istringstream in(*t);
    for (long p; in >> p;) out.insert(static_cast<pid_t>(p));
  }
  if (depth > 64) return;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (e->d_type == DT_DIR && n != "." && n != "..") collect_procs(dir + "/" + n, out, depth + 1);
  }
  ::closedir(d);
}

// Sends sig to the init through a pidfd taken while it is still the process
// the engine started (its start time), so a reused pid is never signalled.
Result<void> signal_init(const engine::State& s, const std::string& name, int sig) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, s.pid, 0)));
  if (!pidfd || engine::process_start_time(s.pid) != s.start_time)
    return make_error("{} is not running", name);
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) < 0)
    return errno_error("send {} to its init (pid {})", signal_name(sig), s.pid);
  return ok();
}

// Every process of the container's cgroup (child cgroups too), in every
// hierarchy; frozen meanwhile where a freezer is there, so that none forks
// away between the listing and the signal.
Result<int> signal_all(const engine::State& s, int sig) {
  auto cg = TRY(cgroup::Cgroup::from_json(s.cgroup));
  auto frozen = cg.frozen();
  bool froze = frozen && !*frozen && cg.freeze().ok();
  std::set<pid_t> pids;
  for (auto& [mount, dir] : cg.paths()) collect_procs(dir, pids);
  int sent = 0;
  Result<void> failed = ok();
  for (pid_t p : pids) {
    if (::kill(p, sig) == 0)
      ++sent;
    else if (errno != ESRCH && failed)
      failed = errno_error("send {} to pid {}", signal_name(sig), p);
  }
  if (froze) (void)cg.thaw();
  if (!failed) return std::move(failed).error();
  return sent;
}

}  // namespace

Result<int> kill(const decl::Paths& paths, const std::string& name, int sig, KillWho who) {
  RunDir rd(paths, name);
  auto store = rd.store();
  auto s = store.load(name);
  if (!s || engine::current_status(store, *s) == engine::Status::Stopped)
    return make_error("{} is not running", name);
  if (who == KillWho::Init || s->cgroup.is_null()) {
    TRY(signal_init(*s, name, sig));
    return 1;
  }
  return signal_all(*s, sig);
}

}  // namespace berth::manager
