// exec: a new process in every namespace and the cgroup of a running
// container. The runtime opens the init's namespaces, forks (into the pid
// namespace, and straight into the v2 cgroup), and the child joins the rest,
// takes the process config and execs; the runtime relays its console and
// seccomp listener until it is Ready. An unprivileged caller cannot join
// the namespaces of a rootless container from outside its user namespace, so
// it forks through an intermediate that joins that first (fork_through_userns).
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "base/parse.h"
#include "engine/console.h"
#include "engine/container.h"
#include "engine/namespaces.h"
#include "engine/process.h"
#include "engine/sealed_exe.h"
#include "engine/spawn.h"
#include "engine/sync.h"
#include "engine/workload.h"

namespace berth::engine {
namespace {

// The init's namespaces that differ from ours, opened: the pid namespace
// apart (the runtime enters it for the fork), the others in the order the
// child joins them.
struct Target {
  std::vector<std::pair<const NsInfo*, UniqueFd>> joins;
  UniqueFd pidns;
  // Without a mount namespace of its own the container is the init's chroot.
  UniqueFd chroot_dir;
};

Result<Target> open_target(const State& s) {
  Target t;
  for (auto& n : all_namespaces()) {
    std::string theirs = fmt::format("/proc/{}/ns/{}", s.pid, n.proc);
    std::string ours = fmt::format("/proc/self/ns/{}", n.proc);
    struct stat a, b;
    if (::stat(theirs.c_str(), &a) < 0 || ::stat(ours.c_str(), &b) < 0) continue;
    if (a.st_ino == b.st_ino && a.st_dev == b.st_dev) continue;
    UniqueFd fd(::open(theirs.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return errno_error("open {}", theirs);
    if (n.flag == CLONE_NEWPID)
      t.pidns = std::move(fd);
    else
      t.joins.emplace_back(&n, std::move(fd));
  }
  if (std::find(s.namespaces.begin(), s.namespaces.end(), "mount") == s.namespaces.end()) {
    t.chroot_dir.reset(
        ::open(fmt::format("/proc/{}/root", s.pid).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!t.chroot_dir) return errno_error("open the root of container {}", s.id);
  }
  // Namespaces the init's user namespace does not own (a network made for it
  // by berth's monitor) cannot be joined from inside that user namespace:
  // those go first, while we still hold our capabilities over them.
  auto user = std::find_if(t.joins.begin(), t.joins.end(),
                           [](auto& j) { return j.first->flag == CLONE_NEWUSER; });
  struct stat target;
  if (user != t.joins.end() && ::fstat(user->second.get(), &target) == 0) {
    auto foreign = [&](const std::pair<const NsInfo*, UniqueFd>& j) {
      if (j.first->flag == CLONE_NEWUSER) return false;
      UniqueFd owner(::ioctl(j.second.get(), NS_GET_USERNS));
      struct stat st;
      return owner && ::fstat(owner.get(), &st) == 0 &&
             (st.st_ino != target.st_ino || st.st_dev != target.st_dev);
    };
    std::stable_partition(t.joins.begin(), t.joins.end(), foreign);
  }
  return t;
}

struct ExecChild {
  const oci::Spec* spec;
  const oci::Process* proc;
  const seccomp::Program* seccomp;
  bool early;
  const cgroup::Cgroup* cgroup;  // to join its v1 hierarchies (self_join)
  Target* target;
  // Born of an intermediate that exits: its parent dies at once, so the
  // death signal is set once the caller (its new parent) sends Go.
  bool orphan = false;
};

// In the child, up to the executable to run.
Result<std::string> exec_setup(const ExecChild& c, Channel& chan) {
  const oci::Process& proc = *c.proc;
  TRY(chan.expect(Msg::Go));
  if (c.orphan) ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (c.cgroup) TRY(c.cgroup->join_self_v1());
  for (auto& [n, fd] : c.target->joins)
    if (::setns(fd.get(), n->flag) < 0) return errno_error("join {} namespace", n->type);
  c.target->joins.clear();
  if (c.target->chroot_dir &&
      (::fchdir(c.target->chroot_dir.get()) < 0 || ::chroot(".") < 0 || ::chdir("/") < 0))
    return errno_error("chroot into the container's root");
  c.target->chroot_dir.reset();
  if (proc.terminal) {
    auto pty = TRY(open_pty("/dev/pts/ptmx"));
    TRY(set_console_size(pty.first.get(), proc.console_size));
    TRY(chan.send(Msg::ConsoleFd, "", pty.first.get()));
    TRY(become_session_leader_on(pty.second.get()));
  }
  if (c.spec->linux && c.spec->linux->personality)
    TRY(set_personality(*c.spec->linux->personality));
  UniqueFd listener;
  TRY(finalize_process(proc, c.seccomp, c.early, &listener));
  if (listener) TRY(chan.send(Msg::SeccompFd, "", listener.get()));
  return find_executable(proc.args[0], proc.env);
}

[[noreturn]] void exec_child(const ExecChild& c, Channel& chan, int preserve_fds) {
  forget_exe_mount_in_child();
  if (!c.orphan) ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  auto exe = exec_setup(c, chan);
  if (!exe) {
    (void)chan.send(Msg::ErrorMsg, exe.error().message);
    _exit(1);
  }
  prepare_fds_for_exec(preserve_fds, {chan.fd()});
  ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  (void)chan.send(Msg::Ready);
  chan.close();
  exec_workload(*exe, *c.proc, c.seccomp && !c.early ? c.seccomp : nullptr);
}

// In the intermediate, joined to the container's user namespace: its pid
// namespace, for the fork of the process.
Result<pid_t> fork_in_userns(const ExecChild& c, int userns, const CgroupEntry& entry,
                             Channel& child_chan, int preserve_fds) {
  if (::setns(userns, CLONE_NEWUSER) < 0) return errno_error("join user namespace");
  if (c.target->pidns && ::setns(c.target->pidns.get(), CLONE_NEWPID) < 0)
    return errno_error("join pid namespace");
  pid_t pid = entry.self_join ? clone_into(0, entry.v2dir.get()) : ::fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) exec_child(c, child_chan, preserve_fds);
  return pid;
}

// As crun and runc exec in a rootless container: an intermediate child joins
// the container's user namespace first (a single-threaded process may, and
// then holds every capability in it; the caller would lose its own ids for
// good), then its pid namespace, forks the process, sends its pid (InitPid,
// as the tree builder sends the init's) and exits.
// We are a child subreaper meanwhile, so the process becomes our child as on
// the privileged path: waitpid, signals and its exit status pass as they do.
Result<pid_t> fork_through_userns(const ExecChild& c, int userns, const CgroupEntry& entry,
                                  Channel& parent_chan, Channel& child_chan, int preserve_fds) {
  int was = 0;
  ::prctl(PR_GET_CHILD_SUBREAPER, &was, 0, 0, 0);
  if (!was && ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    return errno_error("become a child subreaper");
  pid_t mid = ::fork();
  if (mid == 0) {
    parent_chan.close();
    forget_exe_mount_in_child();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    auto pid = fork_in_userns(c, userns, entry, child_chan, preserve_fds);
    if (!pid) {
      (void)child_chan.send(Msg::ErrorMsg, pid.error().message);
      _exit(1);
    }
    (void)child_chan.send(Msg::InitPid, std::to_string(*pid));
    _exit(0);
  }
  int fork_errno = errno;
  child_chan.close();
  int ws;
  while (mid > 0 && ::waitpid(mid, &ws, 0) < 0 && errno == EINTR) {
  }
  if (!was) ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
  if (mid < 0) {
    errno = fork_errno;
    return errno_error("fork");
  }
  auto msg = parent_chan.recv();
  if (!msg) return make_error("exec: the intermediate process ended before forking");
  if (msg->type == Msg::ErrorMsg) return Error{0, msg->payload};
  auto pid = parse_int<pid_t>(msg->payload);
  if (msg->type != Msg::InitPid || !pid || *pid <= 0)
    return make_error("exec: unexpected message from the intermediate process");
  return *pid;
}

// The privileged path: this process joins the pid namespace for the fork.
Result<pid_t> fork_here(const ExecChild& child, const CgroupEntry& entry, Channel& parent_chan,
                        Channel& child_chan, int preserve_fds) {
  const Target& target = *child.target;
  // The pid namespace is joined for the fork only: afterwards this process's
  // children (a sanitizer's tracer, say) are born in its own again.
  UniqueFd own_pidns;
  if (target.pidns) {
    own_pidns.reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    if (!own_pidns) return errno_error("open /proc/self/ns/pid");
    if (::setns(target.pidns.get(), CLONE_NEWPID) < 0) return errno_error("join pid namespace");
  }
  pid_t pid = entry.self_join ? clone_into(0, entry.v2dir.get()) : ::fork();
  if (pid == 0) {
    parent_chan.close();
    exec_child(child, child_chan, preserve_fds);
  }
  if (own_pidns) {  // joining one's own active pid namespace cannot fail
    int fork_errno = errno;
    (void)::setns(own_pidns.get(), CLONE_NEWPID);
    errno = fork_errno;
  }
  if (pid < 0) return errno_error("fork");
  child_chan.close();
  return pid;
}

// In the runtime: the child into its cgroup, Go, then its console and
// seccomp listener until Ready.
Result<void> serve_exec(const oci::Spec& spec, const State& s, const ExecOptions& opts,
                        const cgroup::Cgroup* cg, const CgroupEntry& entry, pid_t pid,
                        Channel& chan) {
  if (cg) TRY(finish_cgroup_entry(*cg, entry, pid));
  TRY(chan.send(Msg::Go));
  for (;;) {
    auto msg = TRY(chan.recv());
    switch (msg.type) {
      case Msg::ErrorMsg:
        return Error{0, msg.payload};
      case Msg::Ready:
        return ok();
      case Msg::SeccompFd:
        TRY_CTX(seccomp::send_listener(msg.fd.get(), *spec.linux->seccomp,
                                       state_json(s, Status::Running).dump()),
                "linux.seccomp.listenerPath");
        break;
      case Msg::ConsoleFd:
        if (opts.console_out)
          *opts.console_out = std::move(msg.fd);
        else
          TRY(send_fd_to_socket(opts.console_socket, msg.fd.get(), "/dev/ptmx"));
        break;
      default:
        break;
    }
  }
}

}  // namespace

Result<oci::Process> exec_base_process(const Store& store, const std::string& id) {
  auto spec = TRY(oci::load_spec(store.config(id)));
  if (!spec.process) return make_error("container {} has no process config", id);
  oci::Process p = *spec.process;
  p.terminal = false;
  p.console_size.reset();
  return p;
}

Result<pid_t> exec(const Store& store, const std::string& id, const ExecOptions& opts) {
  State s = TRY(store.load(id));
  Status st = current_status(store, s);
  if (st == Status::Stopped) return make_error("cannot exec in a stopped container");
  if (st == Status::Paused) return make_error("cannot exec in a paused container");
  const oci::Process& proc = opts.process;
  if (proc.args.empty()) return make_error("exec: process.args must not be empty");
  if (proc.cwd.empty() || proc.cwd[0] != '/')
    return make_error("exec: cwd must be an absolute path");
  if (proc.terminal && opts.console_socket.empty() && !opts.console_out)
    return make_error(
        "cannot allocate tty if berth-oci will detach without setting console socket");
  auto spec = TRY(oci::load_spec(store.config(id)));
  std::optional<seccomp::Program> sc;
  if (spec.linux && spec.linux->seccomp)
    sc = TRY(seccomp::compile(*spec.linux->seccomp, store.cache() + "/seccomp"));
  std::optional<cgroup::Cgroup> cg;
  if (!s.cgroup.is_null()) cg = TRY(cgroup::Cgroup::from_json(s.cgroup));
  Target target = TRY(open_target(s));
  // Not root, and the container in a user namespace we are not in: through it.
  UniqueFd userns;
  auto user = std::find_if(target.joins.begin(), target.joins.end(),
                           [](auto& j) { return j.first->flag == CLONE_NEWUSER; });
  if (::geteuid() != 0 && user != target.joins.end()) {
    userns = std::move(user->second);
    target.joins.erase(user);
  }
  // The init may have died while we looked.
  auto again = process_start_time(s.pid);
  if (!again || *again != s.start_time) return make_error("cannot exec in a stopped container");

  auto [parent_chan, child_chan] = TRY(Channel::pair());
  CgroupEntry entry;
  if (cg) entry = cgroup_entry(*cg);
  ExecChild child{&spec,
                  &proc,
                  sc ? &*sc : nullptr,
                  sc && filter_early(proc, *sc),
                  entry.self_join ? &*cg : nullptr,
                  &target,
                  bool(userns)};
  pid_t pid = -1;
  if (userns)
    pid = TRY(fork_through_userns(child, userns.get(), entry, parent_chan, child_chan,
                                  opts.preserve_fds));
  else
    pid = TRY(fork_here(child, entry, parent_chan, child_chan, opts.preserve_fds));
  auto r = serve_exec(spec, s, opts, cg ? &*cg : nullptr, entry, pid, parent_chan);
  if (r) r = write_pid_file(opts.pid_file, pid);
  if (!r) {
    ::kill(pid, SIGKILL);
    int status;
    ::waitpid(pid, &status, 0);
    return std::move(r).error();
  }
  return pid;
}

}  // namespace berth::engine
