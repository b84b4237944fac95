#include "engine/init.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "base/files.h"
#include "base/parse.h"
#include "engine/console.h"
#include "engine/hooks.h"
#include "engine/process.h"
#include "engine/rootfs.h"
#include "engine/sealed_exe.h"
#include "engine/spawn.h"
#include "engine/workload.h"

namespace berth::engine {
namespace {

// Receives until `want`, noting what the runtime sends in between (Go's
// pid, CgroupJoined, idmapped trees).
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
      plan.mount_fds[*index] = std::move(m.fd);
      continue;
    }
    if (m.type == want) return ok();
    return make_error("unexpected message {} from the runtime", static_cast<uint32_t>(m.type));
  }
}

// Through root + "/proc/sys" (root: "" after pivot_root, or the tree's path).
Result<void> write_sysctls(const std::map<std::string, std::string>& sysctl,
                           const std::string& root = "") {
  for (auto& [k, v] : sysctl) {
    if (k.find("..") != std::string::npos) return make_error("linux.sysctl: invalid key \"{}\"", k);
    std::string rel = k;
    std::replace(rel.begin(), rel.end(), '.', '/');
    if (auto r = write_existing(root + "/proc/sys/" + rel, v); !r)
      return std::move(r).error().wrap(fmt::format("linux.sysctl.{}", k));
  }
  return ok();
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

// Go from the runtime (maps written), then the cgroups and namespaces the
// init enters itself, as root of a new user namespace.
Result<void> enter_namespaces(InitPlan& plan, Channel& chan) {
  TRY(recv_until(plan, chan, Msg::Go));
  if (plan.self_join && plan.cgroup) TRY(plan.cgroup->join_self_v1());
  for (auto& [ns, path] : plan.ns.joins)
    if (setns_path(path, ns->flag) < 0) return errno_error("join {} namespace {}", ns->type, path);
  if (plan.ns.new_user && (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0))
    return errno_error("become root in the user namespace");
  if (plan.ns.new_time) TRY(setup_time_namespace(*plan.spec->linux));
  return ok();
}

// Host and domain name, and a session keyring of the container's own, so
// that it sees none of the host's keys.
Result<void> set_names(const InitPlan& plan) {
  const oci::Spec& spec = *plan.spec;
  if (!spec.hostname.empty()) {
    if (!(plan.ns.clone_flags & CLONE_NEWUTS) && !(spec.linux && spec.linux->find_namespace("uts")))
      return make_error("hostname requires a uts namespace");
    if (::sethostname(spec.hostname.data(), spec.hostname.size()) < 0)
      return errno_error("sethostname");
  }
  if (!spec.domainname.empty() &&
      ::setdomainname(spec.domainname.data(), spec.domainname.size()) < 0)
    return errno_error("setdomainname");
  if (!plan.opts->no_new_keyring)
    ::syscall(SYS_keyctl, 1 /*KEYCTL_JOIN_SESSION_KEYRING*/, plan.opts->id.c_str());
  return ok();
}

// A user-namespaced tree: the host's root builds it in the mount namespace we
// share with it (builder_main); the sysctls are written as the container's
// root, in its namespaces, before /proc/sys is made read-only. Then our own
// copy of it, which our user namespace owns, so the kernel locks it: no flag
// of a mount in it can be cleared, no mount removed from what it covers.
Result<void> take_built_tree(InitPlan& plan) {
  const oci::Spec& spec = *plan.spec;
  TRY(plan.tree->expect(Msg::TreeMounted));
  if (spec.linux) TRY(write_sysctls(spec.linux->sysctl, plan.rootfs));
  TRY(plan.tree->send(Msg::SysctlsDone));
  TRY(plan.tree->expect(Msg::TreeReady));
  plan.tree->close();
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
  return ok();
}

// The tree built by the init itself, in its own mount namespace or (none of
// its own) in the runtime's, where `delete` detaches it again.
Result<void> build_own_tree(InitPlan& plan, Channel& chan) {
  const oci::Spec& spec = *plan.spec;
  RootfsContext ctx;
  ctx.shared_mountns = !plan.ns.own_mount();
  ctx.spec = &spec;
  ctx.rootfs = plan.rootfs;
  ctx.bundle = plan.opts->bundle;
  ctx.userns = plan.ns.new_user;
  ctx.cgroupns = plan.ns.new_cgroup || (spec.linux && spec.linux->find_namespace("cgroup"));
  ctx.cgroup = plan.cgroup;
  if (!plan.mount_fds.empty() || std::any_of(spec.mounts.begin(), spec.mounts.end(), wants_idmap)) {
    // The runtime sends the idmapped trees right after Go.
    while (!plan.cgroup_joined) TRY(recv_until(plan, chan, Msg::CgroupJoined));
  }
  for (auto& [i, fd] : plan.mount_fds) ctx.mount_fds[i] = fd.get();
  TRY(setup_mounts(ctx));
  plan.mount_fds.clear();
  return ok();
}

// With process.terminal: a pty whose peer is bound over the tree's
// /dev/console; the master goes to the runtime, the peer is returned.
Result<UniqueFd> attach_console(const InitPlan& plan, Channel& chan) {
  const oci::Process& proc = *plan.spec->process;
  if (!proc.terminal) return UniqueFd();
  std::string ptmx = plan.rootfs + "/dev/pts/ptmx";
  if (!path_exists(ptmx)) ptmx = "/dev/ptmx";
  auto [master, peer] = TRY(open_pty(ptmx));
  UniqueFd root(::open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return errno_error("open rootfs {}", plan.rootfs);
  auto con = TRY(open_in_root(root.get(), "/dev/console", Create::File));
  std::string src = "/proc/self/fd/" + std::to_string(peer.get());
  std::string dst = "/proc/self/fd/" + std::to_string(con.get());
  if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) < 0)
    return errno_error("bind /dev/console");
  TRY(set_console_size(master.get(), proc.console_size));
  TRY(chan.send(Msg::ConsoleFd, "", master.get()));
  return std::move(peer);
}

// The hooks of the created container: prestart and createRuntime in the
// runtime (asked for over chan), createContainer here.
Result<void> run_create_hooks(InitPlan& plan, Channel& chan) {
  const oci::Hooks& hooks = plan.spec->hooks;
  if (!hooks.prestart.empty() || !hooks.create_runtime.empty()) {
    TRY(chan.send(Msg::RunHooks));
    TRY(recv_until(plan, chan, Msg::HooksDone));
  }
  if (!hooks.create_container.empty())
    TRY(run_hooks(hooks.create_container, init_state(plan, Status::Creating), "createContainer"));
  return ok();
}

// Everything between clone and Ready; returns the executable to run.
Result<std::string> init_setup(InitPlan& plan, Channel& chan) {
  const oci::Spec& spec = *plan.spec;
  const oci::Process& proc = *spec.process;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  // An unprivileged runtime (rootless) writes our id maps through
  // /proc/PID, which a non-dumpable process in an unmapped user namespace
  // keeps from it: dumpable until they are written (Go, in
  // enter_namespaces); the caller owns us either way.
  if (!plan.rootless) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  TRY(enter_namespaces(plan, chan));
  if (plan.rootless) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  TRY(set_names(plan));
  if (plan.builder)
    TRY(take_built_tree(plan));
  else
    TRY(build_own_tree(plan, chan));
  UniqueFd console = TRY(attach_console(plan, chan));
  TRY(run_create_hooks(plan, chan));
  bool own_mount = plan.ns.own_mount();
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
  if (plan.ns.new_cgroup && ::unshare(CLONE_NEWCGROUP) < 0)
    return errno_error("unshare cgroup namespace");
  if (spec.linux && spec.linux->personality) TRY(set_personality(*spec.linux->personality));
  if (console) {
    TRY(become_session_leader_on(console.get(), plan.opts->console_ctty));
    console.reset();
  }
  UniqueFd listener;
  TRY(finalize_process(proc, plan.seccomp ? &*plan.seccomp : nullptr, plan.seccomp_early,
                       &listener));
  // The runtime hands the notify listener to linux.seccomp.listenerPath.
  if (listener) TRY(chan.send(Msg::SeccompFd, "", listener.get()));
  return find_executable(proc.args[0], proc.env);
}

// Blocks until `start` writes to exec.fifo. A fifo no writer has opened yet
// never polls readable, so this waits without spinning. The fifo stays open
// until execve closes it: `start` waits for that.
void wait_for_start(int fifo_fd) {
  for (;;) {
    struct pollfd pfd = {fifo_fd, POLLIN, 0};
    int n = ::poll(&pfd, 1, -1);
    if (n < 0 && errno == EINTR) continue;
    char c;
    ssize_t got = ::read(fifo_fd, &c, 1);
    if (got == 1) return;
    if (got < 0 && errno == EAGAIN) continue;
    _exit(1);  // the fifo was closed without a start
  }
}

// In the tree builder's mounter, joined to the init's namespaces (its pid
// namespace's proc, its network's sysfs, its ipc's mqueue): mounts the tree
// of a user-namespaced container as the host's root, and as its root's ids
// for what it creates (fsuid/fsgid, with every capability kept effective).
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
  ctx.cgroupns = plan.ns.new_cgroup || spec.linux->find_namespace("cgroup");
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

[[noreturn]] void fail_to(Channel& to, const Error& e) {
  (void)to.send(Msg::ErrorMsg, e.message);
  _exit(1);
}

// The builder joins the init's net, ipc and pid namespaces (pid for its
// children: the mounter) where they differ from its own.
void join_init_namespaces(pid_t init, Channel& tree) {
  const std::pair<const char*, int> joined[] = {
      {"net", CLONE_NEWNET}, {"ipc", CLONE_NEWIPC}, {"pid", CLONE_NEWPID}};
  for (auto& [proc, flag] : joined) {
    std::string theirs = fmt::format("/proc/{}/ns/{}", init, proc);
    struct stat a, b;
    if (::stat(theirs.c_str(), &a) < 0) fail_to(tree, errno_error("stat {}", theirs));
    if (::stat(fmt::format("/proc/self/ns/{}", proc).c_str(), &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev)
      continue;
    if (setns_path(theirs, flag) < 0)
      fail_to(tree, errno_error("join the container's {} namespace", proc));
  }
}

}  // namespace

void init_main(InitPlan& plan, Channel& chan) {
  forget_exe_mount_in_child();  // the runtime holds it (sealed_exe.h)
  auto exe = init_setup(plan, chan);
  if (!exe) {
    (void)chan.send(Msg::ErrorMsg, exe.error().message);
    _exit(1);
  }
  const oci::Spec& spec = *plan.spec;
  prepare_fds_for_exec(plan.opts->preserve_fds, {plan.fifo_fd, chan.fd(), plan.opts->init_fd});
  ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  (void)chan.send(Msg::Ready);
  chan.close();
  wait_for_start(plan.fifo_fd);
  if (!spec.hooks.start_container.empty()) {
    if (auto h = run_hooks(spec.hooks.start_container, init_state(plan, Status::Created),
                           "startContainer");
        !h) {
      dprintf(2, "%s\n", h.error().message.c_str());
      _exit(1);
    }
  }
  exec_workload(*exe, *spec.process, plan.seccomp && !plan.seccomp_early ? &*plan.seccomp : nullptr,
                StubInit{plan.opts->init_fd, plan.opts->init_name});
}

void builder_main(InitPlan& plan, Channel& runtime, Channel& init_chan) {
  forget_exe_mount_in_child();  // the runtime holds it (sealed_exe.h)
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (::unshare(CLONE_NEWNS) < 0) fail_to(runtime, errno_error("unshare mount namespace"));
  // Nothing mounted here may propagate back to the host.
  if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
    fail_to(runtime, errno_error("make / rslave"));
  auto chans = Channel::pair();
  if (!chans) fail_to(runtime, chans.error());
  Channel& tree = chans->first;
  if (plan.builder_join && plan.cgroup)
    if (auto j = plan.cgroup->join_self_v1(); !j) fail_to(runtime, j.error());
  pid_t init = clone_into((plan.ns.clone_flags & ~CLONE_NEWNS) | CLONE_PARENT, -1);
  if (init == 0) {
    runtime.close();
    tree.close();
    plan.tree = &chans->second;
    init_main(plan, init_chan);
  }
  if (init < 0) fail_to(runtime, errno_error("clone"));
  init_chan.close();
  chans->second.close();
  if (!runtime.send(Msg::InitPid, std::to_string(init))) _exit(1);
  // Maps written: the init's user namespace can own idmapped mounts.
  if (auto go = runtime.expect(Msg::Go); !go) _exit(1);
  runtime.close();
  join_init_namespaces(init, tree);
  pid_t mounter = ::fork();
  if (mounter < 0) fail_to(tree, errno_error("fork"));
  if (mounter == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (auto r = build_tree(plan, init, tree); !r) fail_to(tree, r.error());
    _exit(0);
  }
  int st = 0;
  while (::waitpid(mounter, &st, 0) < 0 && errno == EINTR) {
  }
  _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
}

}  // namespace berth::engine
