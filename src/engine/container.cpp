#include "engine/container.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/nsfs.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <filesystem>
#include <map>

#include "base/fdpass.h"
#include "base/files.h"
#include "base/log.h"
#include "base/parse.h"
#include "cgroup/cgroup.h"
#include "engine/hooks.h"
#include "engine/process.h"
#include "engine/rootfs.h"
#include "engine/sync.h"
#include "seccomp/seccomp.h"

extern char** environ;

namespace berth::engine {
namespace {

struct NsInfo {
  const char* type;  // OCI name
  const char* proc;  // /proc/PID/ns/<proc>
  int flag;
};
constexpr NsInfo kNamespaces[] = {
    {"user", "user", CLONE_NEWUSER},       {"mount", "mnt", CLONE_NEWNS},
    {"uts", "uts", CLONE_NEWUTS},          {"ipc", "ipc", CLONE_NEWIPC},
    {"network", "net", CLONE_NEWNET},      {"pid", "pid", CLONE_NEWPID},
    {"cgroup", "cgroup", CLONE_NEWCGROUP}, {"time", "time", CLONE_NEWTIME},
};

const NsInfo* ns_info(const std::string& type) {
  for (auto& n : kNamespaces)
    if (type == n.type) return &n;
  return nullptr;
}

std::string cgroups_path_for(const oci::Spec& spec) {
  return spec.linux ? spec.linux->cgroups_path : std::string();
}

Result<void> write_pid_file(const std::string& path, pid_t pid) {
  if (path.empty()) return ok();
  std::string abs = std::filesystem::absolute(path).string();
  return write_file_atomic(abs, std::to_string(pid), 0644, false);
}

Result<void> write_id_map(pid_t pid, const char* file, const std::vector<oci::IdMapping>& maps) {
  std::string text;
  for (auto& m : maps) text += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
  return write_existing(fmt::format("/proc/{}/{}", pid, file), text);
}

// Everything the init needs, computed by the runtime before clone.
struct InitPlan {
  const oci::Spec* spec;
  const CreateOptions* opts;
  std::string rootfs;
  int clone_flags = 0;
  bool new_user = false, new_cgroup = false, new_time = false;
  std::vector<std::pair<const NsInfo*, std::string>> joins;  // setns in the child, user first
  std::optional<seccomp::Program> seccomp;
  bool seccomp_early = false;  // see filter_early
  int fifo_fd = -1;
  const cgroup::Cgroup* cgroup = nullptr;
  // Joining a v1 cgroup costs an RCU grace period (milliseconds), so the
  // runtime does it while the init builds its mounts; the init waits for
  // CgroupJoined only where it matters (before its cgroup namespace).
  bool cgroup_joined = false;
  std::map<size_t, int> mount_fds;  // idmapped trees from the runtime
  pid_t host_pid = 0;               // the init's pid as the runtime sees it (for hook state)
  // The init joins its v1 cgroups itself (the v2 one at clone): see join_cgroups.
  bool self_join = false;
  // A user-namespaced container with a mount namespace of its own: its tree
  // is built by the host's root (builder_main), told over `tree` in the init.
  bool builder = false;
  Channel* tree = nullptr;
};

// Moving another process into a cgroup takes the global threadgroup lock
// for writing, which costs an RCU grace period (milliseconds). A
// single-threaded process moving itself through v1's per-thread `tasks`
// file does not, and clone3(CLONE_INTO_CGROUP) places the child in its v2
// cgroup at birth. So the init joins its own v1 cgroups.
Result<void> join_v1_cgroups_self(const cgroup::Cgroup& cg) {
  auto layout = TRY(cgroup::detect());
  for (auto& [mp, dir] : cg.paths()) {
    if (mp == layout.unified) continue;
    TRY_CTX(write_existing(dir + "/tasks", "0"), "join cgroup {}", dir);
  }
  return ok();
}

// After clone_into with a v2 cgroup dir: where clone3 fell back to clone,
// puts pid in its v2 cgroup the usual way.
Result<void> join_v2_if_clone_fell_back(const cgroup::Cgroup& cg, pid_t pid) {
  auto layout = TRY(cgroup::detect());
  auto procs = read_file(fmt::format("/proc/{}/cgroup", pid));
  if (procs && procs->find("0::" + cg.relative() + "\n") != std::string::npos) return ok();
  TRY_CTX(write_existing(cg.paths().at(layout.unified) + "/cgroup.procs", std::to_string(pid)),
          "join v2 cgroup");
  return ok();
}

// fork-like clone into new namespaces, straight into the v2 cgroup when
// cgroup_fd >= 0. Returns -1 with errno on failure.
pid_t clone_into(int flags, int cgroup_fd) {
  if (cgroup_fd >= 0) {
    struct clone_args args = {};
    args.flags = static_cast<uint64_t>(flags) | CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
    long r = ::syscall(SYS_clone3, &args, sizeof args);
    if (r >= 0 || (errno != ENOSYS && errno != EINVAL && errno != E2BIG && errno != EOPNOTSUPP))
      return static_cast<pid_t>(r);
  }
  return static_cast<pid_t>(
      ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
}

// Receives until `want`, noting a CgroupJoined that arrives in between.
Result<void> recv_until(InitPlan& plan, Channel& chan, Msg want) {
  for (;;) {
    auto m = TRY(chan.recv());
    if (m.type == Msg::ErrorMsg) return Error{0, m.payload};
    if (m.type == Msg::Go) {
      auto pid = parse_int<pid_t>(m.payload);
      if (!pid) return make_error("bad pid \"{}\" from the runtime", m.payload);
      plan.host_pid = *pid;
    }
    if (m.type == Msg::CgroupJoined) {
      plan.cgroup_joined = true;
      if (want == Msg::CgroupJoined) return ok();
      continue;
    }
    if (m.type == Msg::MountFd) {
      auto index = parse_int<size_t>(m.payload);
      if (!index) return make_error("bad mount index \"{}\" from the runtime", m.payload);
      plan.mount_fds[*index] = m.fd.release();
      continue;
    }
    if (m.type == want) return ok();
    return make_error("unexpected message {} from the runtime", static_cast<uint32_t>(m.type));
  }
}

int sys_setns_path(const std::string& path, int flag) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int r = ::setns(fd, flag);
  int e = errno;
  ::close(fd);
  errno = e;
  return r;
}

// Through root + "/proc/sys" (root: "" after pivot_root, or the tree's path).
Result<void> write_sysctls(const std::map<std::string, std::string>& sysctl,
                           const std::string& root = "") {
  for (auto& [k, v] : sysctl) {
    std::string rel = k;
    std::replace(rel.begin(), rel.end(), '.', '/');
    std::string path = root + "/proc/sys/" + rel;
    if (k.find("..") != std::string::npos) return make_error("linux.sysctl: invalid key \"{}\"", k);
    if (auto r = write_existing(path, v); !r)
      return std::move(r).error().wrap(fmt::format("linux.sysctl.{}", k));
  }
  return ok();
}

Result<void> setup_time_namespace(const oci::Linux& l) {
  if (::unshare(CLONE_NEWTIME) < 0) return errno_error("unshare time namespace");
  std::string text;
  for (auto& [clock, off] : l.time_offsets) {
    if (clock != "monotonic" && clock != "boottime")
      return make_error("linux.timeOffsets: unknown clock \"{}\"", clock);
    text += fmt::format("{} {} {}\n", clock, off.secs, off.nanosecs);
  }
  if (!text.empty()) TRY(write_existing("/proc/self/timens_offsets", text));
  if (sys_setns_path("/proc/self/ns/time_for_children", CLONE_NEWTIME) < 0)
    return errno_error("enter the new time namespace");
  return ok();
}

// Opens a new pty from the devpts mounted in the container (or the host's).
Result<std::pair<UniqueFd, UniqueFd>> open_pty(const std::string& ptmx) {
  UniqueFd master(::open(ptmx.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return errno_error("open {}", ptmx);
  int unlock = 0;
  if (::ioctl(master.get(), TIOCSPTLCK, &unlock) < 0) return errno_error("unlock pty");
  // TIOCGPTPEER opens the peer through the master, never by a path the
  // container could have replaced (CVE-2025-52565).
  int slave = ::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return errno_error("open pty peer");
  return std::pair<UniqueFd, UniqueFd>{std::move(master), UniqueFd(slave)};
}

Result<void> set_console_size(int fd, const std::optional<oci::ConsoleSize>& size) {
  if (!size) return ok();
  struct winsize ws = {};
  ws.ws_row = static_cast<unsigned short>(size->height);
  ws.ws_col = static_cast<unsigned short>(size->width);
  if (::ioctl(fd, TIOCSWINSZ, &ws) < 0) return errno_error("set console size");
  return ok();
}

Result<void> become_session_leader_on(int slave, bool ctty = true) {
  if (::setsid() < 0) return errno_error("setsid");
  if (ctty && ::ioctl(slave, TIOCSCTTY, 0) < 0) return errno_error("set controlling terminal");
  for (int i = 0; i < 3; i++)
    if (::dup2(slave, i) < 0) return errno_error("dup2 console");
  return ok();
}

// Closes every fd >= 3 + preserve except `keep` (which are close-on-exec),
// and clears close-on-exec on the preserved ones: nothing the caller had
// open leaks into the container (CVE-2024-21626), not even while it waits.
void prepare_fds_for_exec(int preserve, std::vector<int> keep) {
  for (int fd = 3; fd < 3 + preserve; fd++) {
    int fl = ::fcntl(fd, F_GETFD);
    if (fl >= 0) ::fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
  }
  std::sort(keep.begin(), keep.end());
  unsigned from = static_cast<unsigned>(3 + preserve);
  for (int k : keep) {
    if (k < static_cast<int>(from)) continue;
    if (static_cast<unsigned>(k) > from)
      ::syscall(SYS_close_range, from, static_cast<unsigned>(k) - 1, 0);
    from = static_cast<unsigned>(k) + 1;
  }
  ::syscall(SYS_close_range, from, ~0U, 0);
}

Result<void> verify_cwd() {
  char buf[PATH_MAX];
  if (!::getcwd(buf, sizeof buf)) return errno_error("getcwd");
  if (buf[0] != '/')
    return make_error("current working directory is outside of the container: {}", buf);
  return ok();
}

// Whether the seccomp filter must be loaded before the process takes its
// final capabilities instead of right before execve, as runc and crun decide:
// a notify filter's listener goes to the runtime before `Ready`, and without
// no_new_privs loading a filter needs CAP_SYS_ADMIN, which the final
// capabilities may not hold.
bool filter_early(const oci::Process& p, const seccomp::Program& prog) {
  if (prog.uses_notify) return true;
  if (p.no_new_privileges) return false;
  if (!p.capabilities) return p.user.uid != 0;
  auto& eff = p.capabilities->effective;
  return std::none_of(eff.begin(), eff.end(), [](const std::string& c) {
    auto v = capability_from_name(c);
    return v && *v == CAP_SYS_ADMIN;
  });
}

// Loads the filter while CAP_SYS_ADMIN is still permitted (an early filter
// without no_new_privs, after a change to a non-root uid cleared the
// effective set).
Result<void> load_filter_early(const seccomp::Program& prog, UniqueFd* listener) {
  cap_t caps = cap_get_proc();
  if (caps) {
    cap_value_t admin = CAP_SYS_ADMIN;
    cap_flag_value_t permitted = CAP_CLEAR;
    cap_get_flag(caps, admin, CAP_PERMITTED, &permitted);
    if (permitted == CAP_SET) {
      cap_set_flag(caps, CAP_EFFECTIVE, 1, &admin, CAP_SET);
      (void)cap_set_proc(caps);
    }
    cap_free(caps);
  }
  int r = seccomp::install(prog);
  if (r < 0) return code_error(-r, "load seccomp filter");
  if (r > 0) listener->reset(r);
  return ok();
}

// Applies the process config that is common to init and exec, after the
// namespaces and rootfs are in place. Runs as root in the container. An early
// filter is loaded as late as it can be: after the identity change and the
// working directory, before the final capabilities; a late one is left to
// exec_workload.
Result<void> finalize_process(const oci::Process& p, const seccomp::Program* seccomp,
                              bool seccomp_early, UniqueFd* listener) {
  if (p.oom_score_adj)
    (void)write_existing("/proc/self/oom_score_adj", std::to_string(*p.oom_score_adj));
  if (p.io_priority) TRY(set_io_priority(*p.io_priority));
  if (p.scheduler) TRY(set_scheduler(*p.scheduler));
  TRY(set_rlimits(p.rlimits));
  // As runc: into cwd as root if it can, else (root squashed on NFS, ...)
  // as the user.
  bool in_cwd = ::chdir(p.cwd.c_str()) == 0;
  if (p.capabilities) TRY(drop_bounding(*p.capabilities));
  TRY(switch_user(p.user));
  if (!in_cwd && ::chdir(p.cwd.c_str()) < 0)
    return errno_error("chdir to cwd (\"{}\") set in config.json", p.cwd);
  TRY(verify_cwd());
  if (seccomp && seccomp_early) TRY(load_filter_early(*seccomp, listener));
  if (p.capabilities) TRY(apply_capabilities(*p.capabilities));
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return errno_error("set no_new_privs");
  return ok();
}

// late_filter (when not loaded early) is the last thing before execve, so a
// profile may deny any syscall the runtime itself makes (getcwd, prctl, ...).
// With opts->init_fd, the stub init is exec'd with the workload as its
// arguments (the workload's exe was resolved inside the container already).
[[noreturn]] void exec_workload(const std::string& exe, const oci::Process& proc,
                                const seccomp::Program* late_filter,
                                const CreateOptions* opts = nullptr) {
  // The workload starts with default signal dispositions and nothing blocked,
  // whatever its caller (a monitor, a shell with SIGPIPE ignored) had.
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<char*> argv, envp;
  for (auto& a : proc.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : proc.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  if (late_filter) {
    int r = seccomp::install(*late_filter);
    if (r < 0) {
      dprintf(2, "load seccomp filter: %s\n", strerror(-r));
      _exit(1);
    }
  }
  if (opts && opts->init_fd >= 0) {
    std::vector<char*> stub = {const_cast<char*>(opts->init_name.c_str()), const_cast<char*>("-e"),
                               const_cast<char*>(exe.c_str()), const_cast<char*>("--")};
    stub.insert(stub.end(), argv.begin(), argv.end());
    ::syscall(SYS_execveat, opts->init_fd, "", stub.data(), envp.data(), AT_EMPTY_PATH);
    dprintf(2, "exec %s: %s\n", opts->init_name.c_str(), strerror(errno));
    _exit(127);
  }
  ::execve(exe.c_str(), argv.data(), envp.data());
  dprintf(2, "exec %s: %s\n", exe.c_str(), strerror(errno));
  _exit(127);
}

// The state the hooks that run in the init (createContainer, startContainer)
// read on stdin: the runtime's view of the same container.
std::string init_state(const InitPlan& plan, Status status) {
  State s;
  s.id = plan.opts->id;
  s.pid = plan.host_pid;
  s.bundle = plan.opts->bundle;
  s.rootfs = plan.rootfs;
  s.annotations = plan.spec->annotations;
  return state_json(s, status).dump();
}

// The container's init, between clone and exec. Only returns on error.
Result<void> init_setup(InitPlan& plan, Channel& chan, std::string& exe) {
  const oci::Spec& spec = *plan.spec;
  const oci::Process& proc = *spec.process;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  TRY(recv_until(plan, chan, Msg::Go));
  if (plan.self_join && plan.cgroup) TRY(join_v1_cgroups_self(*plan.cgroup));
  for (auto& [ns, path] : plan.joins) {
    if (sys_setns_path(path, ns->flag) < 0)
      return errno_error("join {} namespace {}", ns->type, path);
  }
  if (plan.new_user) {
    if (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0)
      return errno_error("become root in the user namespace");
  }
  if (plan.new_time) TRY(setup_time_namespace(*spec.linux));
  bool new_uts = plan.clone_flags & CLONE_NEWUTS;
  if (!spec.hostname.empty()) {
    if (!new_uts && !(spec.linux && spec.linux->find_namespace("uts")))
      return make_error("hostname requires a uts namespace");
    if (::sethostname(spec.hostname.data(), spec.hostname.size()) < 0)
      return errno_error("sethostname");
  }
  if (!spec.domainname.empty() &&
      ::setdomainname(spec.domainname.data(), spec.domainname.size()) < 0)
    return errno_error("setdomainname");
  if (!plan.opts->no_new_keyring) {
    // A session keyring of the container's own, so it sees none of the host's keys.
    ::syscall(SYS_keyctl, 1 /*KEYCTL_JOIN_SESSION_KEYRING*/, plan.opts->id.c_str());
  }

  // A mount namespace of the container's own, new or joined by path, is
  // where its rootfs is built and pivoted into. Without one the mounts are
  // made in the runtime's mount namespace and the init chroots, as runc and
  // crun do; `delete` detaches them again.
  bool own_mount = (plan.clone_flags & CLONE_NEWNS) != 0 ||
                   std::any_of(plan.joins.begin(), plan.joins.end(),
                               [](auto& j) { return j.first->flag == CLONE_NEWNS; });
  UniqueFd master, slave;
  if (plan.builder) {
    // The host's root builds the tree in the mount namespace we share with
    // it (builder_main); the sysctls are written as the container's root, in
    // its namespaces, before /proc/sys is made read-only.
    TRY(plan.tree->expect(Msg::TreeMounted));
    if (spec.linux) TRY(write_sysctls(spec.linux->sysctl, plan.rootfs));
    TRY(plan.tree->send(Msg::SysctlsDone));
    TRY(plan.tree->expect(Msg::TreeReady));
    plan.tree->close();
    // Our copy of it is owned by our user namespace, so the kernel locks it:
    // no flag of a mount in it can be cleared, no mount removed from what it covers.
    if (::unshare(CLONE_NEWNS) < 0) return errno_error("unshare mount namespace");
    // pivot_root refuses a locked new root; a bind of the tree made here is
    // not locked itself, and every mount in it still is.
    if (::mount(plan.rootfs.c_str(), plan.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
      if (errno == EACCES)
        return errno_error(
            "bind rootfs {} (the container's root, in its user namespace, must be able to reach "
            "it: every directory above it must be searchable by others, o+x)",
            plan.rootfs);
      return errno_error("bind rootfs {}", plan.rootfs);
    }
  } else {
    RootfsContext ctx;
    ctx.shared_mountns = !own_mount;
    ctx.spec = &spec;
    ctx.rootfs = plan.rootfs;
    ctx.bundle = plan.opts->bundle;
    ctx.userns = plan.new_user;
    ctx.cgroupns = plan.new_cgroup || (spec.linux && spec.linux->find_namespace("cgroup"));
    ctx.cgroup = plan.cgroup;
    if (!plan.mount_fds.empty() ||
        std::any_of(spec.mounts.begin(), spec.mounts.end(), wants_idmap)) {
      // The runtime sends the idmapped trees right after Go.
      while (!plan.cgroup_joined) TRY(recv_until(plan, chan, Msg::CgroupJoined));
    }
    ctx.mount_fds = plan.mount_fds;
    TRY(setup_mounts(ctx));
    for (auto& [i, fd] : plan.mount_fds) ::close(fd);
  }
  if (proc.terminal) {
    std::string ptmx = plan.rootfs + "/dev/pts/ptmx";
    if (!path_exists(ptmx)) ptmx = "/dev/ptmx";
    auto pty = TRY(open_pty(ptmx));
    master = std::move(pty.first);
    slave = std::move(pty.second);
    UniqueFd root(::open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    auto con = TRY(open_in_root(root.get(), "/dev/console", Create::File));
    std::string src = "/proc/self/fd/" + std::to_string(slave.get());
    std::string dst = "/proc/self/fd/" + std::to_string(con.get());
    if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) < 0)
      return errno_error("bind /dev/console");
  }
  if (master) {
    TRY(set_console_size(master.get(), proc.console_size));
    TRY(chan.send(Msg::ConsoleFd, "", master.get()));
    master.reset();
  }
  if (!spec.hooks.prestart.empty() || !spec.hooks.create_runtime.empty()) {
    TRY(chan.send(Msg::RunHooks));
    TRY(recv_until(plan, chan, Msg::HooksDone));
  }
  if (!spec.hooks.create_container.empty())
    TRY(run_hooks(spec.hooks.create_container, init_state(plan, Status::Creating),
                  "createContainer"));
  TRY(enter_rootfs(plan.rootfs, own_mount
                                    ? (plan.opts->no_pivot ? Enter::MoveRoot : Enter::PivotRoot)
                                    : Enter::Chroot));
  if (!plan.builder) {
    if (spec.linux) TRY(write_sysctls(spec.linux->sysctl));
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return errno_error("open /");
    TRY(finish_rootfs(spec, root.get(), false));
  }
  TRY(set_rootfs_propagation(spec));
  if (!plan.cgroup_joined) TRY(recv_until(plan, chan, Msg::CgroupJoined));
  if (plan.new_cgroup && ::unshare(CLONE_NEWCGROUP) < 0)
    return errno_error("unshare cgroup namespace");
  if (spec.linux && spec.linux->personality) TRY(set_personality(*spec.linux->personality));
  if (slave) {
    TRY(become_session_leader_on(slave.get(), plan.opts->console_ctty));
    slave.reset();
  }
  const seccomp::Program* sc = plan.seccomp ? &*plan.seccomp : nullptr;
  UniqueFd listener;
  TRY(finalize_process(proc, sc, plan.seccomp_early, &listener));
  // The runtime hands the notify listener to linux.seccomp.listenerPath.
  if (listener) TRY(chan.send(Msg::SeccompFd, "", listener.get()));
  exe = TRY(find_executable(proc.args[0], proc.env));
  return ok();
}

[[noreturn]] void init_main(InitPlan& plan, Channel& chan) {
  std::string exe;
  auto r = init_setup(plan, chan, exe);
  if (!r) {
    (void)chan.send(Msg::ErrorMsg, r.error().message);
    _exit(1);
  }
  const oci::Spec& spec = *plan.spec;
  const oci::Process& proc = *spec.process;
  prepare_fds_for_exec(plan.opts->preserve_fds, {plan.fifo_fd, chan.fd(), plan.opts->init_fd});
  ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  (void)chan.send(Msg::Ready);
  chan.close();
  // Blocked until `start` writes to exec.fifo. A fifo no writer has opened
  // yet never polls readable, so this waits without spinning.
  for (;;) {
    struct pollfd pfd = {plan.fifo_fd, POLLIN, 0};
    int n = ::poll(&pfd, 1, -1);
    if (n < 0 && errno == EINTR) continue;
    char c;
    ssize_t got = ::read(plan.fifo_fd, &c, 1);
    if (got == 1) break;
    if (got < 0 && errno == EAGAIN) continue;
    _exit(1);  // the fifo was closed without a start
  }
  // plan.fifo_fd stays open until execve closes it: `start` waits for that.
  if (!spec.hooks.start_container.empty()) {
    if (auto h = run_hooks(spec.hooks.start_container, init_state(plan, Status::Created),
                           "startContainer");
        !h) {
      dprintf(2, "%s\n", h.error().message.c_str());
      _exit(1);
    }
  }
  exec_workload(exe, proc, plan.seccomp && !plan.seccomp_early ? &*plan.seccomp : nullptr,
                plan.opts);
}

// In the tree builder, joined to the init's namespaces (its pid namespace's
// proc, its network's sysfs, its ipc's mqueue): mounts the tree of a
// user-namespaced container as the host's root, and as its root's ids for
// what it creates (fsuid/fsgid, with every capability kept effective).
Result<void> build_tree(const InitPlan& plan, pid_t init, Channel& tree) {
  const oci::Spec& spec = *plan.spec;
  auto uid = host_id(spec.linux->uid_mappings, 0);
  auto gid = host_id(spec.linux->gid_mappings, 0);
  if (gid) ::setfsgid(*gid);
  if (uid) ::setfsuid(*uid);
  // A change of fsuid away from 0 clears the file capabilities from the
  // effective set; they stay permitted.
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::capget(&hdr, data) < 0) return errno_error("capget");
  for (auto& d : data) d.effective = d.permitted;
  if (::capset(&hdr, data) < 0) return errno_error("capset");

  RootfsContext ctx;
  ctx.spec = &spec;
  ctx.rootfs = plan.rootfs;
  ctx.bundle = plan.opts->bundle;
  ctx.userns = true;
  ctx.cgroupns = plan.new_cgroup || spec.linux->find_namespace("cgroup");
  ctx.cgroup = plan.cgroup;
  ctx.uid_maps = &spec.linux->uid_mappings;
  ctx.gid_maps = &spec.linux->gid_mappings;
  std::vector<UniqueFd> trees;
  for (size_t i = 0; i < spec.mounts.size(); i++) {
    if (!wants_idmap(spec.mounts[i])) continue;
    UniqueFd userns(::open(fmt::format("/proc/{}/ns/user", init).c_str(), O_RDONLY | O_CLOEXEC));
    if (!userns) return errno_error("open the container's user namespace");
    auto t = make_idmapped_tree(spec.mounts[i], plan.opts->bundle, userns.get());
    if (!t) return std::move(t).error().wrap(fmt::format("mounts[{}]", i));
    ctx.mount_fds[i] = t->get();
    trees.push_back(std::move(*t));
  }
  TRY(setup_mounts(ctx));
  trees.clear();
  TRY(tree.send(Msg::TreeMounted));
  TRY(tree.expect(Msg::SysctlsDone));
  UniqueFd root(::open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return errno_error("open rootfs {}", plan.rootfs);
  TRY(finish_rootfs(spec, root.get(), true));
  return tree.send(Msg::TreeReady);
}

// The builder of a user-namespaced container's tree: forked by the runtime,
// in a new mount namespace that the host's user namespace owns. It clones the
// init (CLONE_PARENT: the runtime's child, as without a builder) into every
// new namespace but the mount one, which the init shares until the tree is
// built here; then the init takes a copy of it that its own user namespace
// owns, and in that copy the kernel locks every mount (mount_namespaces(7)).
// Errors go to the runtime until the init exists, then to the init.
[[noreturn]] void builder_main(InitPlan& plan, Channel& runtime, Channel& init_chan) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  auto fail = [](Channel& to, const Error& e) {
    (void)to.send(Msg::ErrorMsg, e.message);
    _exit(1);
  };
  if (::unshare(CLONE_NEWNS) < 0) fail(runtime, errno_error("unshare mount namespace"));
  // Nothing mounted here may propagate back to the host.
  if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
    fail(runtime, errno_error("make / rslave"));
  auto chans = Channel::pair();
  if (!chans) fail(runtime, chans.error());
  Channel& tree = chans->first;
  pid_t init = clone_into((plan.clone_flags & ~CLONE_NEWNS) | CLONE_PARENT, -1);
  if (init == 0) {
    runtime.close();
    tree.close();
    plan.tree = &chans->second;
    init_main(plan, init_chan);
  }
  if (init < 0) fail(runtime, errno_error("clone"));
  init_chan.close();
  chans->second.close();
  if (!runtime.send(Msg::InitPid, std::to_string(init))) _exit(1);
  // Maps written: the init's user namespace can own idmapped mounts.
  if (auto go = runtime.expect(Msg::Go); !go) _exit(1);
  runtime.close();
  // net and ipc apply at once; pid to the children: the mounter below.
  const std::pair<const char*, int> joined[] = {
      {"net", CLONE_NEWNET}, {"ipc", CLONE_NEWIPC}, {"pid", CLONE_NEWPID}};
  for (auto& [proc, flag] : joined) {
    std::string theirs = fmt::format("/proc/{}/ns/{}", init, proc);
    struct stat a, b;
    if (::stat(theirs.c_str(), &a) < 0) fail(tree, errno_error("stat {}", theirs));
    if (::stat(fmt::format("/proc/self/ns/{}", proc).c_str(), &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev)
      continue;
    if (sys_setns_path(theirs, flag) < 0)
      fail(tree, errno_error("join the container's {} namespace", proc));
  }
  pid_t mounter = ::fork();
  if (mounter < 0) fail(tree, errno_error("fork"));
  if (mounter == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (auto r = build_tree(plan, init, tree); !r) fail(tree, r.error());
    _exit(0);
  }
  int st = 0;
  while (::waitpid(mounter, &st, 0) < 0 && errno == EINTR) {
  }
  _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
}

// Undoes a half-made container unless dismissed.
struct CreateGuard {
  const Store* store;
  std::string id;
  pid_t pid = -1;
  std::optional<cgroup::Cgroup>* cg = nullptr;
  std::string shared_rootfs;  // mounts made in the runtime's mount namespace
  pid_t builder = -1;
  bool armed = true;
  ~CreateGuard() {
    // With a builder, the init is killed first and the builder left to reap
    // its mounter (which the init's death kills): a killed builder would
    // leave the mounter to our subreaper (the monitor) as a zombie in the
    // init's pid namespace, and the init's exit waits for every process of
    // that namespace to be reaped, so waiting for the init would never end.
    // The builder's channel is closed by now, so a builder still waiting
    // for Go ends by itself; one that has not sent the init's pid is killed.
    if (armed && pid > 0) ::kill(pid, SIGKILL);
    if (builder > 0) {
      if (armed && pid <= 0) ::kill(builder, SIGKILL);
      int st;
      while (::waitpid(builder, &st, 0) < 0 && errno == EINTR) {
      }
    }
    if (!armed) return;
    if (pid > 0) {
      int st;
      while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
    }
    if (cg && *cg) (void)(*cg)->destroy();
    if (!shared_rootfs.empty()) detach_mounts_below(shared_rootfs);
    (void)remove_tree(store->dir(id));
  }
};

Result<std::string> resolve_rootfs(const oci::Spec& spec, const std::string& bundle) {
  std::string p = spec.root.path;
  if (p.empty()) return make_error("root.path: is required");
  if (p[0] != '/') p = bundle + "/" + p;
  char buf[PATH_MAX];
  if (!::realpath(p.c_str(), buf)) return errno_error("root.path {}", p);
  struct stat st;
  if (::stat(buf, &st) < 0 || !S_ISDIR(st.st_mode))
    return make_error("root.path {} is not a directory", buf);
  return std::string(buf);
}

Result<void> validate_for_create(const oci::Spec& spec) {
  if (!spec.process) return make_error("process: is required to create a container");
  if (spec.process->args.empty()) return make_error("process.args: must not be empty");
  if (spec.process->cwd.empty() || spec.process->cwd[0] != '/')
    return make_error("process.cwd: must be an absolute path, got \"{}\"", spec.process->cwd);
  if (spec.linux) {
    for (auto& ns : spec.linux->namespaces)
      if (!ns_info(ns.type)) return make_error("linux.namespaces: unknown type \"{}\"", ns.type);
    bool user = spec.linux->find_namespace("user") != nullptr;
    if (!user && (!spec.linux->uid_mappings.empty() || !spec.linux->gid_mappings.empty()))
      return make_error("linux.uidMappings: requires a user namespace");
    if (!spec.linux->time_offsets.empty() && !spec.linux->find_namespace("time"))
      return make_error("linux.timeOffsets: requires a time namespace");
  }
  return ok();
}

std::string seccomp_cache_dir(const Store& store) {
  return store.cache() + "/seccomp";
}

}  // namespace

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

Result<pid_t> create(const Store& store, const oci::Spec& spec, const CreateOptions& opts) {
  TRY(validate_id(opts.id));
  TRY(validate_for_create(spec));
  if (spec.process->terminal && opts.console_socket.empty() && !opts.console_out)
    return make_error(
        "cannot allocate tty if berth-oci will detach without setting console socket");
  if (!spec.process->terminal && !opts.console_socket.empty())
    return make_error(
        "cannot use console socket if the container has no terminal (process.terminal is false)");
  std::string rootfs = TRY(resolve_rootfs(spec, opts.bundle));

  InitPlan plan;
  plan.spec = &spec;
  plan.opts = &opts;
  plan.rootfs = rootfs;
  const NsInfo* join_pid = nullptr;
  std::string join_pid_path;
  State state;
  if (spec.linux) {
    for (auto& ns : spec.linux->namespaces) {
      const NsInfo* info = ns_info(ns.type);
      state.namespaces.push_back(ns.type);
      if (ns.path.empty()) {
        if (info->flag == CLONE_NEWCGROUP)
          plan.new_cgroup = true;
        else if (info->flag == CLONE_NEWTIME)
          plan.new_time = true;
        else
          plan.clone_flags |= info->flag;
        if (info->flag == CLONE_NEWUSER) plan.new_user = true;
      } else if (info->flag == CLONE_NEWPID) {
        join_pid = info;
        join_pid_path = ns.path;
      } else {
        struct stat st;
        if (::stat(ns.path.c_str(), &st) < 0)
          return errno_error("linux.namespaces: {} namespace path {}", ns.type, ns.path);
        plan.joins.emplace_back(info, ns.path);
      }
    }
    std::stable_sort(plan.joins.begin(), plan.joins.end(), [](auto& a, auto& b) {
      return a.first->flag == CLONE_NEWUSER && b.first->flag != CLONE_NEWUSER;
    });
    if (plan.new_user && join_pid)
      return make_error(
          "linux.namespaces: joining a pid namespace together with a new user namespace is not "
          "supported");
    for (auto& [ns, path] : plan.joins)
      if (ns->flag == CLONE_NEWUSER && (plan.clone_flags & ~CLONE_NEWUSER))
        return make_error(
            "linux.namespaces: joining a user namespace by path while creating other namespaces is "
            "not supported");
    if (plan.new_user && (spec.linux->uid_mappings.empty() || spec.linux->gid_mappings.empty()))
      return make_error(
          "linux.uidMappings: a new user namespace needs uidMappings and gidMappings");
  }
  if (spec.linux && spec.linux->seccomp) {
    auto prog = seccomp::compile(*spec.linux->seccomp, seccomp_cache_dir(store));
    if (!prog) return std::move(prog).error().wrap("linux.seccomp");
    plan.seccomp = std::move(*prog);
    plan.seccomp_early = filter_early(*spec.process, *plan.seccomp);
  }

  TRY(mkdir_p(store.root(), 0700));
  if (::mkdir(store.dir(opts.id).c_str(), 0700) < 0) {
    if (errno == EEXIST) return make_error("container with id \"{}\" already exists", opts.id);
    return errno_error("create state dir {}", store.dir(opts.id));
  }
  std::optional<cgroup::Cgroup> cg;
  CreateGuard guard{&store, opts.id, -1, &cg};
  if (!spec.linux || !spec.linux->find_namespace("mount")) guard.shared_rootfs = rootfs;
  TRY(write_file_atomic(store.config(opts.id), oci::to_json(spec).dump(), 0600, false));
  if (::mkfifo(store.fifo(opts.id).c_str(), 0600) < 0) return errno_error("mkfifo exec.fifo");
  UniqueFd fifo(::open(store.fifo(opts.id).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo) return errno_error("open exec.fifo");
  plan.fifo_fd = fifo.get();

  if (opts.use_cgroups) {
    auto c = cgroup::Cgroup::create(cgroups_path_for(spec), opts.id);
    if (!c) return std::move(c).error().wrap("linux.cgroupsPath");
    cg = std::move(*c);
    // As runc: deny every device but the defaults and the spec's, also when
    // the config has no linux.resources at all.
    oci::Resources res =
        spec.linux && spec.linux->resources ? *spec.linux->resources : oci::Resources{};
    if (spec.linux) {
      auto extra = cgroup::allow_rules_for(spec.linux->devices);
      res.devices.insert(res.devices.end(), extra.begin(), extra.end());
    }
    TRY(cg->apply(res));
    plan.cgroup = &*cg;
  }

  auto [parent_chan, child_chan] = TRY(Channel::pair());
  UniqueFd v2dir;
  if (cg && !plan.new_user) {
    auto layout = TRY(cgroup::detect());
    auto it = cg->paths().find(layout.unified);
    if (!layout.unified.empty() && it != cg->paths().end())
      v2dir.reset(::open(it->second.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    // Without a v2 dir to clone into, the init still joins its v1 cgroups.
    plan.self_join = layout.mode != cgroup::Mode::Unified;
    if (layout.mode == cgroup::Mode::Unified && !v2dir) plan.self_join = false;
  }
  // An init in a new user namespace cannot join namespaces its parent's user
  // namespace owns (setns needs CAP_SYS_ADMIN over their owner): the runtime
  // enters them for the clone instead, as runc's nsexec joins them before it
  // unshares the user namespace (a private network made by berth's monitor).
  std::vector<std::pair<int, UniqueFd>> entered;
  auto leave = [&] {
    for (auto& [flag, fd] : entered) (void)::setns(fd.get(), flag);
    entered.clear();
  };
  // A pid namespace joined by path is the init's: the runtime joins it for
  // the clone only, and its later children (a sanitizer's tracer, say) are
  // born in its own again.
  if (join_pid) {
    UniqueFd cur(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    if (!cur || sys_setns_path(join_pid_path, CLONE_NEWPID) < 0)
      return errno_error("join pid namespace {}", join_pid_path);
    entered.emplace_back(CLONE_NEWPID, std::move(cur));
  }
  if (plan.new_user) {
    for (auto it = plan.joins.begin(); it != plan.joins.end();) {
      const NsInfo* ns = it->first;
      if (ns->flag == CLONE_NEWUSER || ns->flag == CLONE_NEWNS) {
        ++it;
        continue;
      }
      UniqueFd cur(
          ::open(fmt::format("/proc/thread-self/ns/{}", ns->proc).c_str(), O_RDONLY | O_CLOEXEC));
      if (!cur || sys_setns_path(it->second, ns->flag) < 0) {
        int e = errno;
        leave();
        errno = e;
        return errno_error("join {} namespace {}", ns->type, it->second);
      }
      entered.emplace_back(ns->flag, std::move(cur));
      it = plan.joins.erase(it);
    }
  }
  // A user namespace with a new mount namespace: the tree is built outside
  // the user namespace, so that the kernel locks it (builder_main).
  plan.builder = plan.new_user && (plan.clone_flags & CLONE_NEWNS);
  Channel builder_chan;
  pid_t pid;
  if (plan.builder) {
    auto bchans = TRY(Channel::pair());
    pid = ::fork();
    if (pid == 0) {
      parent_chan.close();
      bchans.first.close();
      builder_main(plan, bchans.second, child_chan);
    }
    builder_chan = std::move(bchans.first);
  } else {
    pid = clone_into(plan.clone_flags, v2dir.get());
    if (pid == 0) {
      parent_chan.close();
      init_main(plan, child_chan);
    }
  }
  int clone_errno = errno;
  leave();
  errno = clone_errno;
  if (pid < 0) return errno_error("{}", plan.builder ? "fork" : "clone");
  child_chan.close();
  fifo.reset();
  if (plan.builder) {
    guard.builder = pid;
    auto m = TRY(builder_chan.expect(Msg::InitPid));
    auto init = parse_int<pid_t>(m.payload);
    if (!init) return make_error("bad pid \"{}\" from the tree builder", m.payload);
    pid = *init;
  }
  guard.pid = pid;

  if (plan.new_user) {
    TRY_CTX(write_id_map(pid, "uid_map", spec.linux->uid_mappings), "linux.uidMappings");
    TRY_CTX(write_id_map(pid, "gid_map", spec.linux->gid_mappings), "linux.gidMappings");
  }
  TRY(parent_chan.send(Msg::Go, std::to_string(pid)));
  for (size_t i = 0; i < spec.mounts.size(); i++) {
    if (!wants_idmap(spec.mounts[i])) continue;
    if (!plan.new_user)
      return make_error("mounts[{}]: an idmapped mount needs a new user namespace", i);
    auto& mm = spec.mounts[i];
    if ((!mm.uid_mappings.empty() && mm.uid_mappings.size() != spec.linux->uid_mappings.size()) ||
        (!mm.gid_mappings.empty() && mm.gid_mappings.size() != spec.linux->gid_mappings.size()))
      return make_error(
          "mounts[{}]: idmapped mounts with mappings other than the container's are not supported",
          i);
    if (plan.builder) continue;  // the builder makes it
    UniqueFd userns(::open(fmt::format("/proc/{}/ns/user", pid).c_str(), O_RDONLY | O_CLOEXEC));
    if (!userns) return errno_error("open the container's user namespace");
    auto tree = make_idmapped_tree(mm, opts.bundle, userns.get());
    if (!tree) return std::move(tree).error().wrap(fmt::format("mounts[{}]", i));
    TRY(parent_chan.send(Msg::MountFd, std::to_string(i), tree->get()));
  }
  if (plan.builder) {
    TRY(builder_chan.send(Msg::Go));
    builder_chan.close();
  }
  // Without self-join (a user namespace: the init may not write host
  // cgroup files) or when clone3 could not place it, the runtime moves it.
  if (cg && !plan.self_join) TRY(cg->add_process(pid));
  if (cg && plan.self_join && v2dir) TRY(join_v2_if_clone_fell_back(*cg, pid));
  if (spec.process->oom_score_adj)
    TRY_CTX(write_existing(fmt::format("/proc/{}/oom_score_adj", pid),
                           std::to_string(*spec.process->oom_score_adj)),
            "process.oomScoreAdj");
  TRY(parent_chan.send(Msg::CgroupJoined));

  state.id = opts.id;
  state.pid = pid;
  state.bundle = opts.bundle;
  state.rootfs = rootfs;
  state.created = now_rfc3339();
  state.annotations = spec.annotations;
  if (cg) state.cgroup = cg->to_json();
  auto st = process_start_time(pid);
  state.start_time = st.value_or(0);

  for (;;) {
    auto msg = parent_chan.recv();
    if (!msg) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      guard.pid = -1;
      return make_error("container init exited during setup ({})",
                        WIFSIGNALED(status) ? fmt::format("signal {}", WTERMSIG(status))
                                            : fmt::format("status {}", WEXITSTATUS(status)));
    }
    if (msg->type == Msg::ErrorMsg) return Error{0, msg->payload};
    if (msg->type == Msg::Ready) break;
    if (msg->type == Msg::ConsoleFd) {
      if (opts.console_out)
        *opts.console_out = std::move(msg->fd);
      else
        TRY(send_fd_to_socket(opts.console_socket, msg->fd.get(), "/dev/ptmx"));
    } else if (msg->type == Msg::SeccompFd) {
      TRY_CTX(seccomp::send_listener(msg->fd.get(), *spec.linux->seccomp,
                                     state_json(state, Status::Creating).dump()),
              "linux.seccomp.listenerPath");
    } else if (msg->type == Msg::RunHooks) {
      // runtime-tools' hooks_stdin expects "created" for prestart, and runc
      // passes prestart and createRuntime the same state.
      std::string sj = state_json(state, Status::Created).dump();
      TRY(run_hooks(spec.hooks.prestart, sj, "prestart"));
      TRY(run_hooks(spec.hooks.create_runtime, sj, "createRuntime"));
      TRY(parent_chan.send(Msg::HooksDone));
    } else {
      return make_error("unexpected message {} from container init",
                        static_cast<uint32_t>(msg->type));
    }
  }
  TRY(store.save(state));
  TRY(write_pid_file(opts.pid_file, pid));
  guard.armed = false;
  return pid;
}

Result<pid_t> create_from_bundle(const Store& store, const CreateOptions& opts) {
  auto spec = TRY(oci::load_spec(opts.bundle + "/config.json"));
  return create(store, spec, opts);
}

Result<void> start(const Store& store, const std::string& id) {
  State s = TRY(store.load(id));
  Status st = current_status(store, s);
  if (st == Status::Stopped) return make_error("cannot start a container that has stopped");
  if (st != Status::Created) return make_error("cannot start an already running container");
  UniqueFd fifo(::open(store.fifo(id).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo) {
    if (errno == ENXIO) return make_error("cannot start a container that has stopped");
    return errno_error("open exec.fifo");
  }
  if (::write(fifo.get(), "0", 1) != 1) return errno_error("write exec.fifo");
  ::unlink(store.fifo(id).c_str());
  // The init holds the read end until its execve closes it (close-on-exec):
  // POLLERR on our end means the workload runs (or the init died), so the
  // startContainer hooks are done before the poststart ones begin.
  for (;;) {
    struct pollfd p = {fifo.get(), 0, 0};
    int n = ::poll(&p, 1, 10000);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) log::warn("container {} has not exec'd its process after 10 s", id);
    break;
  }
  fifo.reset();
  auto spec = oci::load_spec(store.config(id));
  if (spec && !spec->hooks.poststart.empty())
    run_hooks_warn(spec->hooks.poststart, state_json(s, Status::Running).dump(), "poststart");
  return ok();
}

Result<int> parse_signal(const std::string& in) {
  static const std::map<std::string, int> names = {
      {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
      {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
      {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
      {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
      {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
      {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
      {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
      {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
      {"SYS", SIGSYS}};
  std::string s = in;
  if (s.empty()) return make_error("invalid signal \"\"");
  if (std::all_of(s.begin(), s.end(), ::isdigit)) {
    auto n = parse_int<int>(s);
    if (!n || *n <= 0 || *n > SIGRTMAX) return make_error("invalid signal \"{}\"", in);
    return *n;
  }
  for (auto& c : s) c = static_cast<char>(toupper(c));
  if (s.rfind("SIG", 0) == 0) s = s.substr(3);
  if (auto it = names.find(s); it != names.end()) return it->second;
  auto rt = [&](const std::string& base, int origin, int dir) -> std::optional<int> {
    if (s.rfind(base, 0) != 0) return std::nullopt;
    std::string rest = s.substr(base.size());
    if (rest.empty()) return origin;
    if (rest[0] == '+' || rest[0] == '-') {
      auto n = parse_int<int>(std::string_view(rest).substr(1));
      if (!n || *n < 0 || *n > SIGRTMAX) return std::nullopt;
      int v = origin + *n * (rest[0] == '+' ? 1 : -1) * dir;
      if (v >= SIGRTMIN && v <= SIGRTMAX) return v;
    }
    return std::nullopt;
  };
  if (auto v = rt("RTMIN", SIGRTMIN, 1)) return *v;
  if (auto v = rt("RTMAX", SIGRTMAX, 1)) return *v;
  return make_error("invalid signal \"{}\"", in);
}

Result<void> kill(const Store& store, const std::string& id, int sig, bool all) {
  State s = TRY(store.load(id));
  Status st = current_status(store, s);
  if (st == Status::Stopped) {
    if (all) return ok();
    return make_error("container not running");
  }
  if (all && !s.cgroup.is_null()) {
    auto cg = TRY(cgroup::Cgroup::from_json(s.cgroup));
    return cg.kill_all(sig);
  }
  if (::kill(s.pid, sig) < 0) {
    if (errno == ESRCH) return make_error("container not running");
    return errno_error("kill {}", s.pid);
  }
  return ok();
}

namespace {

// Waits (up to timeout_ms) for a process that is not our child to go away.
bool wait_gone(pid_t pid, uint64_t start_time, int timeout_ms) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    auto st = process_start_time(pid);
    if (!st || *st != start_time) return true;
    if (pidfd) {
      struct pollfd p = {pidfd.get(), POLLIN, 0};
      if (::poll(&p, 1, 10) > 0) {
        // Exited; it may stay a zombie until its parent reaps it.
        int st2;
        ::waitpid(pid, &st2, WNOHANG);
        return true;
      }
    } else {
      ::usleep(10000);
    }
  }
  return false;
}

}  // namespace

Result<void> destroy(const Store& store, const std::string& id) {
  State s = TRY(store.load(id));
  if (!s.cgroup.is_null()) {
    if (auto cg = cgroup::Cgroup::from_json(s.cgroup); cg) {
      (void)cg->thaw();
      (void)cg->kill_all(SIGKILL);
      if (auto r = cg->destroy(); !r) log::warn("remove cgroup: {}", r.error().message);
      // The default parent "/berth" is berth's own: remove it once empty.
      if (cg->relative().rfind("/berth/", 0) == 0) {
        for (auto& [mp, dir] : cg->paths()) {
          (void)mp;
          ::rmdir(std::filesystem::path(dir).parent_path().c_str());
        }
      }
    }
  }
  if (std::find(s.namespaces.begin(), s.namespaces.end(), "mount") == s.namespaces.end())
    detach_mounts_below(s.rootfs);
  auto spec = oci::load_spec(store.config(id));
  if (spec && !spec->hooks.poststop.empty())
    run_hooks_warn(spec->hooks.poststop, state_json(s, Status::Stopped).dump(), "poststop");
  return remove_tree(store.dir(id));
}

Result<void> remove(const Store& store, const std::string& id, bool force) {
  auto loaded = store.load(id);
  if (!loaded) {
    if (force && loaded.error().code == ENOENT) {
      if (validate_id(id)) (void)remove_tree(store.dir(id));
      return ok();
    }
    return std::move(loaded).error();
  }
  State s = std::move(*loaded);
  Status st = current_status(store, s);
  if (st == Status::Running || st == Status::Paused) {
    if (!force)
      return make_error("cannot delete container {} that is not stopped: {}", id, status_name(st));
  }
  if (st != Status::Stopped) {
    if (!s.cgroup.is_null()) {
      if (auto cg = cgroup::Cgroup::from_json(s.cgroup); cg) {
        (void)cg->kill_all(SIGKILL);
        (void)cg->thaw();
      }
    }
    ::kill(s.pid, SIGKILL);
    if (!wait_gone(s.pid, s.start_time, 5000))
      return make_error("container {} init (pid {}) did not die", id, s.pid);
  }
  return destroy(store, id);
}

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
    sc = TRY(seccomp::compile(*spec.linux->seccomp, seccomp_cache_dir(store)));
  std::optional<cgroup::Cgroup> cg;
  if (!s.cgroup.is_null()) cg = TRY(cgroup::Cgroup::from_json(s.cgroup));

  // Namespaces of the init that differ from ours, user first.
  std::vector<std::pair<const NsInfo*, UniqueFd>> joins;
  UniqueFd pidns;
  for (auto& n : kNamespaces) {
    std::string theirs = fmt::format("/proc/{}/ns/{}", s.pid, n.proc);
    std::string ours = fmt::format("/proc/self/ns/{}", n.proc);
    struct stat a, b;
    if (::stat(theirs.c_str(), &a) < 0 || ::stat(ours.c_str(), &b) < 0) continue;
    if (a.st_ino == b.st_ino && a.st_dev == b.st_dev) continue;
    UniqueFd fd(::open(theirs.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return errno_error("open {}", theirs);
    if (n.flag == CLONE_NEWPID)
      pidns = std::move(fd);
    else
      joins.emplace_back(&n, std::move(fd));
  }
  // Without a mount namespace of its own the container is the init's chroot.
  UniqueFd chroot_dir;
  if (std::find(s.namespaces.begin(), s.namespaces.end(), "mount") == s.namespaces.end()) {
    chroot_dir.reset(
        ::open(fmt::format("/proc/{}/root", s.pid).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!chroot_dir) return errno_error("open the root of container {}", id);
  }
  // Namespaces the init's user namespace does not own (a network made for it
  // by berth's monitor) cannot be joined from inside that user namespace:
  // those go first, while we still hold our capabilities over them.
  auto user = std::find_if(joins.begin(), joins.end(),
                           [](auto& j) { return j.first->flag == CLONE_NEWUSER; });
  if (user != joins.end()) {
    struct stat target;
    if (::fstat(user->second.get(), &target) == 0) {
      auto foreign = [&](const std::pair<const NsInfo*, UniqueFd>& j) {
        if (j.first->flag == CLONE_NEWUSER) return false;
        UniqueFd owner(::ioctl(j.second.get(), NS_GET_USERNS));
        struct stat st;
        return owner && ::fstat(owner.get(), &st) == 0 &&
               (st.st_ino != target.st_ino || st.st_dev != target.st_dev);
      };
      std::stable_partition(joins.begin(), joins.end(), foreign);
    }
  }
  // The init may have died while we looked.
  auto again = process_start_time(s.pid);
  if (!again || *again != s.start_time) return make_error("cannot exec in a stopped container");

  // Named, not a structured binding: lambdas below capture them (clang 14).
  auto chans = TRY(Channel::pair());
  auto& parent_chan = chans.first;
  auto& child_chan = chans.second;
  // The pid namespace is joined for the fork only: afterwards this process's
  // children (a sanitizer's tracer, say) are born in its own again.
  UniqueFd own_pidns;
  if (pidns) {
    own_pidns.reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    if (!own_pidns) return errno_error("open /proc/self/ns/pid");
    if (::setns(pidns.get(), CLONE_NEWPID) < 0) return errno_error("join pid namespace");
  }
  // As the init: the process joins its v1 cgroups itself and is cloned
  // into its v2 one (a join made by another process waits for an RCU grace
  // period on v1); the runtime moves it when that cannot be done.
  UniqueFd v2dir;
  bool self_join = false;
  if (cg) {
    auto layout = TRY(cgroup::detect());
    auto it = layout.unified.empty() ? cg->paths().end() : cg->paths().find(layout.unified);
    if (it != cg->paths().end())
      v2dir.reset(::open(it->second.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    self_join = layout.mode != cgroup::Mode::Unified || v2dir;
  }
  pid_t pid = self_join ? clone_into(0, v2dir.get()) : ::fork();
  if (pid != 0 && own_pidns) {  // joining one's own active pid namespace cannot fail
    int fork_errno = errno;
    (void)::setns(own_pidns.get(), CLONE_NEWPID);
    errno = fork_errno;
  }
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    parent_chan.close();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    std::string exe;
    bool early = sc && filter_early(proc, *sc);
    auto setup = [&]() -> Result<void> {
      TRY(child_chan.expect(Msg::Go));
      if (self_join) TRY(join_v1_cgroups_self(*cg));
      for (auto& [n, fd] : joins)
        if (::setns(fd.get(), n->flag) < 0) return errno_error("join {} namespace", n->type);
      joins.clear();
      if (chroot_dir && (::fchdir(chroot_dir.get()) < 0 || ::chroot(".") < 0 || ::chdir("/") < 0))
        return errno_error("chroot into the container's root");
      chroot_dir.reset();
      if (proc.terminal) {
        auto pty = TRY(open_pty("/dev/pts/ptmx"));
        TRY(set_console_size(pty.first.get(), proc.console_size));
        TRY(child_chan.send(Msg::ConsoleFd, "", pty.first.get()));
        TRY(become_session_leader_on(pty.second.get()));
      }
      if (spec.linux && spec.linux->personality) TRY(set_personality(*spec.linux->personality));
      UniqueFd listener;
      TRY(finalize_process(proc, sc ? &*sc : nullptr, early, &listener));
      if (listener) TRY(child_chan.send(Msg::SeccompFd, "", listener.get()));
      exe = TRY(find_executable(proc.args[0], proc.env));
      return ok();
    };
    if (auto r = setup(); !r) {
      (void)child_chan.send(Msg::ErrorMsg, r.error().message);
      _exit(1);
    }
    prepare_fds_for_exec(opts.preserve_fds, {child_chan.fd()});
    ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    (void)child_chan.send(Msg::Ready);
    child_chan.close();
    exec_workload(exe, proc, sc && !early ? &*sc : nullptr);
  }
  child_chan.close();
  auto fail = [&](Error e) -> Error {
    ::kill(pid, SIGKILL);
    int stt;
    ::waitpid(pid, &stt, 0);
    return e;
  };
  if (cg && !self_join) {
    if (auto r = cg->add_process(pid); !r) return fail(std::move(r).error());
  }
  if (cg && self_join && v2dir) {
    if (auto r = join_v2_if_clone_fell_back(*cg, pid); !r) return fail(std::move(r).error());
  }
  if (auto r = parent_chan.send(Msg::Go); !r) return fail(std::move(r).error());
  for (;;) {
    auto msg = parent_chan.recv();
    if (!msg) return fail(std::move(msg).error());
    if (msg->type == Msg::ErrorMsg) return fail(Error{0, msg->payload});
    if (msg->type == Msg::Ready) break;
    if (msg->type == Msg::SeccompFd) {
      if (auto r = seccomp::send_listener(msg->fd.get(), *spec.linux->seccomp,
                                          state_json(s, Status::Running).dump());
          !r)
        return fail(std::move(r).error().wrap("linux.seccomp.listenerPath"));
      continue;
    }
    if (msg->type == Msg::ConsoleFd) {
      if (opts.console_out) {
        *opts.console_out = std::move(msg->fd);
      } else if (auto r = send_fd_to_socket(opts.console_socket, msg->fd.get(), "/dev/ptmx"); !r) {
        return fail(std::move(r).error());
      }
    }
  }
  if (auto r = write_pid_file(opts.pid_file, pid); !r) return fail(std::move(r).error());
  return pid;
}

Result<void> pause(const Store& store, const std::string& id) {
  State s = TRY(store.load(id));
  Status st = current_status(store, s);
  if (st != Status::Running && st != Status::Created) return make_error("container not running");
  if (s.cgroup.is_null()) return make_error("cannot pause a container without a cgroup");
  auto cg = TRY(cgroup::Cgroup::from_json(s.cgroup));
  return cg.freeze();
}

Result<void> resume(const Store& store, const std::string& id) {
  State s = TRY(store.load(id));
  if (current_status(store, s) != Status::Paused) return make_error("container not paused");
  auto cg = TRY(cgroup::Cgroup::from_json(s.cgroup));
  return cg.thaw();
}

Result<void> update(const Store& store, const std::string& id, const oci::Resources& r) {
  State s = TRY(store.load(id));
  if (current_status(store, s) == Status::Stopped) return make_error("container not running");
  if (s.cgroup.is_null()) return make_error("container {} has no cgroup to update", id);
  auto cg = TRY(cgroup::Cgroup::from_json(s.cgroup));
  TRY(cg.apply(r, true));
  // Keep the stored config in step, so `berth-oci state`/restarts see the new limits.
  auto spec = oci::load_spec(store.config(id));
  if (spec) {
    if (!spec->linux) spec->linux = oci::Linux{};
    auto merged = oci::to_json(spec->linux->resources.value_or(oci::Resources{}));
    merged.merge_patch(oci::to_json(r));
    if (auto m = oci::parse_resources(merged); m) spec->linux->resources = *m;
    TRY(write_file_atomic(store.config(id), oci::to_json(*spec).dump(), 0600, false));
  }
  return ok();
}

Result<nlohmann::json> stats(const Store& store, const std::string& id) {
  State s = TRY(store.load(id));
  if (current_status(store, s) == Status::Stopped) return make_error("container not running");
  if (s.cgroup.is_null()) return make_error("container {} has no cgroup", id);
  auto cg = TRY(cgroup::Cgroup::from_json(s.cgroup));
  return cg.stats();
}

Result<std::vector<pid_t>> pids(const Store& store, const std::string& id) {
  State s = TRY(store.load(id));
  if (current_status(store, s) == Status::Stopped) return std::vector<pid_t>{};
  if (s.cgroup.is_null()) return std::vector<pid_t>{s.pid};
  auto cg = TRY(cgroup::Cgroup::from_json(s.cgroup));
  return cg.pids();
}

}  // namespace berth::engine
