// create: the runtime's side of making a container. Checks the spec and
// works out the namespaces and seccomp program, makes the state dir, the
// exec fifo and the cgroup, clones the init (or forks the tree builder of a
// user-namespaced container), writes its id maps, sends it the idmapped
// trees, puts it into its cgroup, and answers its requests (console, seccomp
// listener, hooks) until it reports Ready. Anything half-made is undone on
// an error (CreateGuard).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>

#include "base/files.h"
#include "base/parse.h"
#include "engine/container.h"
#include "engine/hooks.h"
#include "engine/init.h"
#include "engine/plan.h"
#include "engine/rootfs.h"
#include "engine/spawn.h"
#include "engine/workload.h"

namespace berth::engine {
namespace {

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

// The spec's limits with, as runc, every device denied but the defaults and
// the spec's, also when it has no linux.resources at all.
oci::Resources resources_of(const oci::Spec& spec) {
  oci::Resources res =
      spec.linux && spec.linux->resources ? *spec.linux->resources : oci::Resources{};
  if (spec.linux) {
    auto extra = cgroup::allow_rules_for(spec.linux->devices);
    res.devices.insert(res.devices.end(), extra.begin(), extra.end());
  }
  return res;
}

// An unprivileged caller's (rootless) cgroup that cannot be made where the
// host delegates nothing to it: the container runs in the caller's cgroups,
// as crun and runc run rootless ones on cgroup v1, unless the spec sets a
// limit, which would then silently not hold.
bool rootless_without_cgroups(const oci::Spec& spec, const Error& e) {
  if (e.code != EACCES && e.code != EPERM && e.code != EROFS) return false;
  if (!spec.linux || !spec.linux->resources) return true;
  const oci::Resources& r = *spec.linux->resources;
  return !r.memory && !r.cpu && !r.pids_limit && !r.block_io && r.hugepage_limits.empty() &&
         !r.network && r.unified.empty();
}

// Namespaces the runtime enters for the clone and leaves again after it.
// An init in a new user namespace cannot join namespaces its parent's user
// namespace owns (setns needs CAP_SYS_ADMIN over their owner): the runtime
// enters them for the clone instead, as runc's nsexec joins them before it
// unshares the user namespace (a private network made by berth's monitor).
// A pid namespace joined by path is the init's: the runtime joins it for the
// clone only, and its later children (a sanitizer's tracer, say) are born in
// its own again.
class Entered {
 public:
  ~Entered() { leave(); }
  Result<void> enter(const NsInfo& ns, const std::string& path) {
    UniqueFd cur(
        ::open(fmt::format("/proc/thread-self/ns/{}", ns.proc).c_str(), O_RDONLY | O_CLOEXEC));
    if (!cur || setns_path(path, ns.flag) < 0)
      return errno_error("join {} namespace {}", ns.type, path);
    entered_.emplace_back(ns.flag, std::move(cur));
    return ok();
  }
  // Back into the runtime's own namespaces (joining one's own cannot fail);
  // errno is kept.
  void leave() {
    int e = errno;
    for (auto& [flag, fd] : entered_) (void)::setns(fd.get(), flag);
    entered_.clear();
    errno = e;
  }

 private:
  std::vector<std::pair<int, UniqueFd>> entered_;
};

Result<void> enter_for_clone(InitPlan& plan, Entered& entered) {
  if (plan.ns.join_pid) TRY(entered.enter(*plan.ns.join_pid, plan.ns.join_pid_path));
  if (!plan.ns.new_user) return ok();
  auto& joins = plan.ns.joins;
  for (auto it = joins.begin(); it != joins.end();) {
    if (it->first->flag == CLONE_NEWUSER || it->first->flag == CLONE_NEWNS) {
      ++it;
      continue;
    }
    TRY(entered.enter(*it->first, it->second));
    it = joins.erase(it);
  }
  return ok();
}

// The idmapped trees of the spec's mounts, made by the runtime (only the
// host's root may idmap a mount) and sent to the init; with a tree builder,
// the builder makes them.
Result<void> send_idmapped_trees(const InitPlan& plan, pid_t pid, Channel& chan) {
  const oci::Spec& spec = *plan.spec;
  for (size_t i = 0; i < spec.mounts.size(); i++) {
    auto& m = spec.mounts[i];
    if (!wants_idmap(m)) continue;
    if (!plan.ns.new_user)
      return make_error("mounts[{}]: an idmapped mount needs a new user namespace", i);
    if ((!m.uid_mappings.empty() && m.uid_mappings.size() != spec.linux->uid_mappings.size()) ||
        (!m.gid_mappings.empty() && m.gid_mappings.size() != spec.linux->gid_mappings.size()))
      return make_error(
          "mounts[{}]: idmapped mounts with mappings other than the container's are not supported",
          i);
    if (plan.builder) continue;
    UniqueFd userns(::open(fmt::format("/proc/{}/ns/user", pid).c_str(), O_RDONLY | O_CLOEXEC));
    if (!userns) return errno_error("open the container's user namespace");
    auto tree = make_idmapped_tree(m, plan.opts->bundle, userns.get());
    if (!tree) return std::move(tree).error().wrap(fmt::format("mounts[{}]", i));
    TRY(chan.send(Msg::MountFd, std::to_string(i), tree->get()));
  }
  return ok();
}

// Answers the init until it is Ready: its console, its seccomp listener,
// the hooks that run in the runtime.
Result<void> serve_init(const oci::Spec& spec, const CreateOptions& opts, const State& state,
                        Channel& chan, CreateGuard& guard) {
  for (;;) {
    auto msg = chan.recv();
    if (!msg) {
      int status = 0;
      ::waitpid(guard.pid, &status, 0);
      guard.pid = -1;
      return make_error("container init exited during setup ({})",
                        WIFSIGNALED(status) ? fmt::format("signal {}", WTERMSIG(status))
                                            : fmt::format("status {}", WEXITSTATUS(status)));
    }
    switch (msg->type) {
      case Msg::ErrorMsg:
        return Error{0, msg->payload};
      case Msg::Ready:
        return ok();
      case Msg::ConsoleFd:
        if (opts.console_out)
          *opts.console_out = std::move(msg->fd);
        else
          TRY(send_fd_to_socket(opts.console_socket, msg->fd.get(), "/dev/ptmx"));
        break;
      case Msg::SeccompFd:
        TRY_CTX(seccomp::send_listener(msg->fd.get(), *spec.linux->seccomp,
                                       state_json(state, Status::Creating).dump()),
                "linux.seccomp.listenerPath");
        break;
      case Msg::RunHooks: {
        // runtime-tools' hooks_stdin expects "created" for prestart, and runc
        // passes prestart and createRuntime the same state.
        std::string sj = state_json(state, Status::Created).dump();
        TRY(run_hooks(spec.hooks.prestart, sj, "prestart"));
        TRY(run_hooks(spec.hooks.create_runtime, sj, "createRuntime"));
        TRY(chan.send(Msg::HooksDone));
        break;
      }
      default:
        return make_error("unexpected message {} from container init",
                          static_cast<uint32_t>(msg->type));
    }
  }
}

// Clones the init, or forks the tree builder that clones it; returns the
// init's pid (guard.builder set for a builder).
Result<pid_t> spawn_init(InitPlan& plan, const CgroupEntry& entry, Channel& child_chan,
                         Channel& parent_chan, CreateGuard& guard) {
  Entered entered;
  TRY(enter_for_clone(plan, entered));
  Channel builder_chan;
  pid_t pid;
  if (plan.builder) {
    auto bchans = TRY(Channel::pair());
    // Born in the v2 cgroup (the init it clones inherits it: a clone3 with
    // CLONE_PARENT may not set an exit signal, so it cannot be put there).
    pid = plan.builder_join ? clone_into(0, entry.v2dir.get()) : ::fork();
    if (pid == 0) {
      parent_chan.close();
      bchans.first.close();
      builder_main(plan, bchans.second, child_chan);
    }
    builder_chan = std::move(bchans.first);
  } else {
    pid = clone_into(plan.ns.clone_flags, entry.v2dir.get());
    if (pid == 0) {
      parent_chan.close();
      init_main(plan, child_chan);
    }
  }
  entered.leave();
  if (pid < 0) return errno_error("{}", plan.builder ? "fork" : "clone");
  child_chan.close();
  if (!plan.builder) return pid;
  guard.builder = pid;
  auto m = TRY(builder_chan.expect(Msg::InitPid));
  auto init = parse_int<pid_t>(m.payload);
  if (!init) return make_error("bad pid \"{}\" from the tree builder", m.payload);
  guard.pid = *init;
  const oci::Linux& l = *plan.spec->linux;
  TRY_CTX(write_id_map(*init, "uid_map", l.uid_mappings), "linux.uidMappings");
  TRY_CTX(write_id_map(*init, "gid_map", l.gid_mappings), "linux.gidMappings");
  TRY(builder_chan.send(Msg::Go));
  return *init;
}

// The init's id maps. An unprivileged caller (rootless) may write only its
// own ids, and its gid only once setgroups(2) is denied in the namespace
// (user_namespaces(7)); more than that (its subordinate ids) goes through
// newuidmap/newgidmap, which leave setgroups allowed.
Result<void> write_maps(const InitPlan& plan, pid_t pid) {
  const oci::Linux& l = *plan.spec->linux;
  if (plan.rootless && !maps_only(l.uid_mappings, ::geteuid()))
    TRY_CTX(write_id_map_with_helper(pid, "newuidmap", l.uid_mappings), "linux.uidMappings");
  else
    TRY_CTX(write_id_map(pid, "uid_map", l.uid_mappings), "linux.uidMappings");
  if (plan.rootless && !maps_only(l.gid_mappings, ::getegid())) {
    TRY_CTX(write_id_map_with_helper(pid, "newgidmap", l.gid_mappings), "linux.gidMappings");
    return ok();
  }
  if (plan.rootless)
    TRY_CTX(write_existing(fmt::format("/proc/{}/setgroups", pid), "deny"), "linux.gidMappings");
  TRY_CTX(write_id_map(pid, "gid_map", l.gid_mappings), "linux.gidMappings");
  return ok();
}
}  // namespace

Result<pid_t> create(const Store& store, const oci::Spec& spec, const CreateOptions& opts) {
  TRY(validate_id(opts.id));
  TRY(validate_for_create(spec, opts));
  InitPlan plan;
  plan.spec = &spec;
  plan.opts = &opts;
  plan.rootfs = TRY(resolve_rootfs(spec, opts.bundle));
  plan.ns = TRY(plan_namespaces(spec));
  if (spec.linux && spec.linux->seccomp) {
    auto prog = seccomp::compile(*spec.linux->seccomp, store.cache() + "/seccomp");
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
  if (!plan.ns.own_mount()) guard.shared_rootfs = plan.rootfs;
  TRY(write_file_atomic(store.config(opts.id), oci::to_json(spec).dump(), 0600, false));
  if (::mkfifo(store.fifo(opts.id).c_str(), 0600) < 0) return errno_error("mkfifo exec.fifo");
  UniqueFd fifo(::open(store.fifo(opts.id).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo) return errno_error("open exec.fifo");
  plan.fifo_fd = fifo.get();
  // Not the host's root: an unprivileged caller's (rootless) container.
  plan.rootless = ::geteuid() != 0;
  if (opts.use_cgroups) {
    auto made = cgroup::Cgroup::create(spec.linux ? spec.linux->cgroups_path : "", opts.id);
    if (!made && !(plan.rootless && rootless_without_cgroups(spec, made.error())))
      return std::move(made).error().wrap("linux.cgroupsPath");
    if (made) {
      cg = std::move(*made);  // the guard removes it from here on
      TRY(cg->apply(resources_of(spec)));
      plan.cgroup = &*cg;
    }
  }

  // A user namespace with a new mount namespace: the tree is built outside
  // it, so that the kernel locks it (builder_main). Processes enter their
  // cgroups themselves (v1: "0" to tasks skips the RCU grace period that
  // moving another process costs): the init, or with a builder the builder,
  // whose clone of the init is born in them (the init, in its user
  // namespace, may not write the host's cgroup files). A user namespace
  // without a builder: the runtime moves the init.
  CgroupEntry entry;
  // Only the host's root can build a tree outside the user namespace: an
  // unprivileged caller's (rootless) container builds its own, as crun's.
  plan.builder = plan.ns.new_user && (plan.ns.clone_flags & CLONE_NEWNS) && !plan.rootless;
  if (cg && (!plan.ns.new_user || plan.builder)) entry = cgroup_entry(*cg);
  plan.self_join = entry.self_join && !plan.builder;
  plan.builder_join = entry.self_join && plan.builder;
  auto [parent_chan, child_chan] = TRY(Channel::pair());
  pid_t pid = TRY(spawn_init(plan, entry, child_chan, parent_chan, guard));
  fifo.reset();
  guard.pid = pid;
  if (plan.ns.new_user && !plan.builder) TRY(write_maps(plan, pid));
  for (auto [out, ns] : {std::pair{opts.userns_out, "user"}, std::pair{opts.netns_out, "net"}}) {
    std::string path = fmt::format("/proc/{}/ns/{}", pid, ns);
    if (out && !(*out = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC))))
      return errno_error("open {}", path);
  }
  TRY(parent_chan.send(Msg::Go, std::to_string(pid)));
  TRY(send_idmapped_trees(plan, pid, parent_chan));
  if (cg) TRY(finish_cgroup_entry(*cg, entry, pid));
  if (spec.process->oom_score_adj)
    TRY_CTX(write_existing(fmt::format("/proc/{}/oom_score_adj", pid),
                           std::to_string(*spec.process->oom_score_adj)),
            "process.oomScoreAdj");
  TRY(parent_chan.send(Msg::CgroupJoined));

  State state;
  state.id = opts.id;
  state.pid = pid;
  state.bundle = opts.bundle;
  state.rootfs = plan.rootfs;
  state.created = now_rfc3339();
  state.annotations = spec.annotations;
  state.namespaces = plan.ns.types;
  if (cg) state.cgroup = cg->to_json();
  state.start_time = process_start_time(pid).value_or(0);
  TRY(serve_init(spec, opts, state, parent_chan, guard));
  TRY(store.save(state));
  TRY(write_pid_file(opts.pid_file, pid));
  guard.armed = false;
  return pid;
}

Result<pid_t> create_from_bundle(const Store& store, const CreateOptions& opts) {
  auto spec = TRY(oci::load_spec(opts.bundle + "/config.json"));
  return create(store, spec, opts);
}

}  // namespace berth::engine
