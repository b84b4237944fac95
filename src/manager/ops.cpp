// The lifecycle verbs on one container: start (spawning a daemonized
// monitor), stop/terminate (through the monitor, or the engine state when the
// monitor is gone), status, run, logs.
#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/clone_vm.h"
#include "base/files.h"
#include "base/json.h"
#include "decl/init.h"
#include "decl/spec.h"
#include "engine/container.h"
#include "engine/sealed_exe.h"
#include "manager/bind.h"
#include "manager/console.h"
#include "manager/init_control.h"
#include "manager/live.h"
#include "manager/manager.h"
#include "manager/monitor_parts.h"
#include "manager/private_root.h"
#include "manager/runtime.h"
#include "net/netns.h"

namespace berth::manager {

namespace {

// Waits until pid (not our child) is gone or a zombie.
bool wait_gone(pid_t pid, int timeout_ms) {
  auto start = engine::process_start_time(pid);
  if (!start) return true;
  // A pidfd polls readable the moment the process ends (Linux 5.3+); it is
  // the same process if its start time is still the one read before.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (pidfd) {
    if (engine::process_start_time(pid) != start) return true;
    struct pollfd p = {pidfd.get(), POLLIN, 0};
    int n;
    while ((n = ::poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
    }
    return n > 0;
  }
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    auto st = engine::process_start_time(pid);
    if (!st || st != start) return true;
    ::usleep(10000);
  }
  return false;
}

// Stops what the engine state says runs, without a monitor; then the network.
Result<void> stop_orphan(const decl::Paths& paths, const RunDir& rd, const std::string& name,
                         bool terminate, std::chrono::milliseconds timeout) {
  auto snap = load_snapshot(rd, name);
  auto store = rd.store();
  if (auto pid = engine_pid(rd, name)) {
    if (!terminate) {
      // The init the tree has now (the monitor that knew is gone).
      auto kind =
          snap && snap->boot ? decl::container_init(*snap, paths).kind : decl::InitKind::Unknown;
      int sig = snap && snap->boot ? decl::halt_signal_of(*snap, kind)
                : snap             ? snap->halt_signal.value_or(SIGTERM)
                                   : SIGTERM;
      signal_init(*pid, kind, sig, false);
      wait_gone(*pid, static_cast<int>(timeout.count()));
    }
    (void)engine::kill(store, name, SIGKILL, true);
    ::kill(*pid, SIGKILL);
    if (!wait_gone(*pid, 5000)) return make_error("the init (pid {}) did not die", *pid);
  }
  test_pause_at("stop-orphan");
  Result<void> first = ok();
  if (path_exists(rd.oci())) {
    auto ids = store.ids();
    if (ids && !ids->empty())
      if (auto r = engine::remove(store, name, true); !r)
        first = std::move(r).error().wrap("remove");
  }
  if (snap && snap->private_network) {
    auto n = network_of(*snap, paths, false);
    if (n) {
      // NAT rules are looked up by the container's comment, so nat need not match.
      n->nat = true;
      if (auto t = net::teardown_container_network(*n, net::kCurrentNetns); !t && first)
        first = std::move(t).error().wrap("network teardown");
    }
  }
  remove_runtime_files(rd);
  remove_empty_cgroup_parent();
  return first;
}

std::string human_bytes(uint64_t b) {
  if (b >= (1ull << 30)) return fmt::format("{:.1f} GiB", static_cast<double>(b) / (1ull << 30));
  if (b >= (1ull << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1ull << 20));
  if (b >= 1024) return fmt::format("{:.1f} KiB", static_cast<double>(b) / 1024);
  return fmt::format("{} B", b);
}

std::string human_secs(double s) {
  if (!(s >= 0)) s = 0;  // a clock set back since the start (or a NaN)
  long t = s < 1e15 ? static_cast<long>(s) : static_cast<long>(1e15);
  if (t < 60) return fmt::format("{}s", t);
  if (t < 3600) return fmt::format("{}min {}s", t / 60, t % 60);
  return fmt::format("{}h {}min", t / 3600, (t % 3600) / 60);
}

// A monitor's environment: this one with glibc's per-thread cache of freed
// chunks turned off. Those chunks pin dirty heap pages in every monitor
// (~60 kB of a supervisor's PSS, measured), and a monitor allocates little
// once it supervises.
std::vector<std::string> monitor_environment() {
  constexpr std::string_view kVar = "GLIBC_TUNABLES=";
  constexpr std::string_view kNoCache = "glibc.malloc.tcache_count=0";
  std::vector<std::string> out;
  bool set = false;
  for (char** e = environ; *e; e++) {
    std::string v = *e;
    if (v.starts_with(kVar)) {
      v += (v.size() > kVar.size() ? ":" : "") + std::string(kNoCache);
      set = true;
    }
    out.push_back(std::move(v));
  }
  if (!set) out.push_back(std::string(kVar) + std::string(kNoCache));
  return out;
}

// What the two children that start a monitor need, all made beforehand.
struct MonitorSpawn {
  int ready_w = -1;  // becomes the monitor's fd 3
  const char* log = nullptr;
  int exe_fd = -1;
  engine::PreparedExec* exec = nullptr;  // the protected binary, or null
  const char* self = nullptr;            // else this path
  char** argv = nullptr;
  char** env = nullptr;
  sigset_t mask;  // the caller's signal mask, for the monitor
  VmStack* stack2 = nullptr;
};

BERTH_NO_ASAN int monitor_grandchild(void* arg) {
  auto& sp = *static_cast<MonitorSpawn*>(arg);
  // It shares the caller's memory until its exec: no handler of the
  // caller's may run here (signals stay blocked until they are defaults).
  for (int sig = 1; sig < _NSIG; ++sig) {
    struct sigaction sa;
    if (::sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler != SIG_DFL &&
        sa.sa_handler != SIG_IGN) {
      sa.sa_handler = SIG_DFL;
      sa.sa_flags = 0;
      ::sigaction(sig, &sa, nullptr);
    }
  }
  ::dup2(sp.ready_w, 3);  // dup2 clears close-on-exec
  int logfd = ::open(sp.log, O_WRONLY | O_CREAT | O_APPEND, 0640);
  int devnull = ::open("/dev/null", O_RDWR);
  if (devnull >= 0) ::dup2(devnull, 0);
  if (logfd >= 0) {
    ::dup2(logfd, 1);
    ::dup2(logfd, 2);
  }
  // Nothing else of ours reaches the monitor (close-on-exec for all of
  // them: exe_fd is exec'd below).
  if (::syscall(SYS_close_range, 4U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    for (int fd = 4; fd < 1024; ++fd)
      if (fd != sp.exe_fd) ::close(fd);
  ::sigprocmask(SIG_SETMASK, &sp.mask, nullptr);
  // The overlay's mount fd goes to the monitor, which closes it after it
  // has reported (engine::release_exe_mount): our copy's close is cheap.
  if (sp.exec) engine::exec_prepared(*sp.exec);
  ::execve(sp.self, sp.argv, sp.env);
  static constexpr char kMsg[] = "berth: cannot exec the monitor\n";
  (void)!::write(2, kMsg, sizeof(kMsg) - 1);
  _exit(127);
}

BERTH_NO_ASAN int monitor_child(void* arg) {
  auto& sp = *static_cast<MonitorSpawn*>(arg);
  ::setsid();
  if (::chdir("/") < 0) _exit(1);  // pin no mount
  pid_t gc = clone_vm(monitor_grandchild, arg, *sp.stack2, true);
  _exit(gc < 0 ? 1 : 0);  // once the grandchild has exec'd (CLONE_VFORK)
}

// Starts the monitor as posix_spawn starts a program: a child and a
// grandchild that share this process's memory (base/clone_vm.h) instead of
// two forks that copy it (milliseconds each for a process of berth's size).
// The child makes a new session and exits once the grandchild has exec'd the
// monitor, which init (or a subreaper) then adopts. Returns the child, to be
// reaped.
Result<pid_t> spawn_monitor(MonitorSpawn& sp) {
  VmStack child_stack, grandchild_stack;
  sp.stack2 = &grandchild_stack;
  // Both children are done with this memory when it returns (CLONE_VFORK).
  pid_t child = clone_vm(monitor_child, &sp, child_stack, true, &sp.mask);
  if (child < 0) return errno_error("clone");
  return child;
}

}  // namespace

bool is_running(const decl::Paths& paths, const std::string& name) {
  RunDir rd(paths, name);
  auto st = read_status(rd);
  if (st && monitor_alive(*st)) return true;
  return engine_pid(rd, name).has_value();
}

std::vector<std::string> runtime_names(const decl::Paths& paths) {
  std::vector<std::string> out;
  DIR* d = ::opendir(paths.run.c_str());
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.starts_with(".")) continue;  // ., .. and .cache (RunDir::cache)
    if (e->d_type == DT_DIR) out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

Result<StartResult> start(const decl::Paths& paths, const decl::Container& c,
                          const std::string& self_exe) {
  RunDir rd(paths, c.name);
  Lock lock = TRY(Lock::acquire(rd));
  auto st = read_status(rd);
  bool alive = st && monitor_alive(*st);
  if (alive) return StartResult{true};
  if (engine_pid(rd, c.name))
    return make_error("{} runs without its monitor (monitor died); stop or terminate it first",
                      c.name);
  // Leftovers of a monitor that died with nothing running.
  if (st || path_exists(rd.oci()))
    TRY(stop_orphan(paths, rd, c.name, true, std::chrono::milliseconds(0)));

  TRY(mkdir_p(paths.log, 0755));
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd r(p[0]), w(p[1]);
  // The monitor enters the container (it clones the init): it runs from the
  // protected binary (engine/sealed_exe.h), opened here and exec'd at once
  // rather than exec'd and then re-exec'd by the monitor itself.
  auto protected_exe = self_exe == "/proc/self/exe"
                           ? engine::open_protected_self()
                           : Result<engine::ProtectedExe>(make_error("not self"));
  // Made before the fork: apply starts monitors from several threads. A
  // rootless berth's monitor finds its layout in the same environment.
  std::vector<std::string> argv_s = {"berth", "--root",     paths.root, "monitor",
                                     c.name,  "--ready-fd", "3"};
  if (paths.user) argv_s.erase(argv_s.begin() + 1, argv_s.begin() + 3);
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = monitor_environment();
  std::vector<char*> env;
  for (auto& e : env_s) env.push_back(e.data());
  env.push_back(nullptr);
  // Made before the children: they allocate nothing (apply starts monitors
  // from several threads; an allocator's lock may be held by another).
  const std::string log = paths.container_log(c.name);
  std::optional<engine::PreparedExec> exec;
  if (protected_exe) exec = engine::prepare_exec(*protected_exe, argv.data(), env.data());
  MonitorSpawn sp;
  sp.ready_w = w.get();
  sp.log = log.c_str();
  sp.exe_fd = protected_exe ? protected_exe->exe.get() : -1;
  sp.exec = exec ? &*exec : nullptr;
  sp.self = self_exe.c_str();
  sp.argv = argv.data();
  sp.env = env.data();
  pid_t child = TRY(spawn_monitor(sp));
  w.reset();
  int ws;
  while (::waitpid(child, &ws, 0) < 0 && errno == EINTR) {
  }
  std::string line;
  int budget_ms = static_cast<int>(c.timeout_start.count()) + 30000;
  for (int waited = 0; line.find('\n') == std::string::npos;) {
    struct pollfd pfd = {r.get(), POLLIN, 0};
    int n = ::poll(&pfd, 1, 200);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      waited += 200;
      if (waited > budget_ms) return make_error("no word from the monitor after {} ms", budget_ms);
      continue;
    }
    char buf[512];
    ssize_t got = ::read(r.get(), buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    line.append(buf, static_cast<size_t>(got));
  }
  if (auto nl = line.find('\n'); nl != std::string::npos) line.resize(nl);
  if (line == "ok") return StartResult{false};
  // The monitor has failed: make sure it is gone before the lock is released.
  if (auto s2 = read_status(rd); s2 && monitor_alive(*s2)) wait_gone(s2->monitor_pid, 10000);
  lock.remove_if_idle(rd);
  if (line.starts_with("error: ")) return make_error("{}", line.substr(7));
  return make_error("the monitor exited without saying why (see {})", paths.container_log(c.name));
}

Result<void> stop(const decl::Paths& paths, const std::string& name, bool terminate,
                  std::optional<std::chrono::milliseconds> timeout) {
  RunDir rd(paths, name);
  if (!path_exists(rd.dir)) return ok();
  Lock lock = TRY(Lock::acquire(rd));
  auto snap = load_snapshot(rd, name);
  auto t = timeout.value_or(snap ? snap->timeout_stop : std::chrono::milliseconds(10000));
  auto st = read_status(rd);
  Result<void> result = ok();
  if (st && monitor_alive(*st)) {
    test_pause_at("stop");
    auto reply =
        control_request(rd, terminate ? "terminate" : "stop", static_cast<int>(t.count()) + 30000);
    if (reply && *reply == "ok") {
      wait_gone(st->monitor_pid, 10000);
    } else if (!monitor_alive(*st)) {
      result = stop_orphan(paths, rd, name, terminate, t);
    } else {
      result = make_error("the monitor did not stop the container: {}",
                          reply ? *reply : reply.error().message);
    }
  } else {
    result = stop_orphan(paths, rd, name, terminate, t);
  }
  lock.remove_if_idle(rd);
  return result;
}

Result<void> reboot(const decl::Paths& paths, const std::string& name) {
  RunDir rd(paths, name);
  auto st = read_status(rd);
  if (!st || !monitor_alive(*st)) return make_error("{} is not running (or has no monitor)", name);
  auto reply = TRY(control_request(rd, "reboot", 10000));
  if (reply != "ok")
    return make_error("{}", reply.starts_with("error: ") ? reply.substr(7) : reply);
  return ok();
}

nlohmann::json Status::to_json() const {
  nlohmann::json j = {{"name", name},
                      {"state", state},
                      {"declared", declared},
                      {"monitor", monitor_alive},
                      {"monitor_died", monitor_died},
                      {"restarts", restarts},
                      {"addresses", addresses},
                      {"host_links", host_links}};
  j["monitor_pid"] = monitor_pid > 0 ? nlohmann::json(monitor_pid) : nlohmann::json(nullptr);
  j["pid"] = pid > 0 ? nlohmann::json(pid) : nlohmann::json(nullptr);
  j["uptime_sec"] = pid > 0 ? nlohmann::json(uptime_sec) : nlohmann::json(nullptr);
  j["memory_bytes"] = memory_bytes ? nlohmann::json(*memory_bytes) : nlohmann::json(nullptr);
  j["last_exit"] = last_exit.empty() ? nlohmann::json(nullptr) : nlohmann::json(last_exit);
  j["uid_base"] = uid_base ? nlohmann::json(*uid_base) : nlohmann::json(nullptr);
  j["capabilities"] = capabilities;
  j["privileged"] = !privileged_reason.empty();
  j["privileged_reason"] =
      privileged_reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(privileged_reason);
  j["init"] = init.empty() ? nlohmann::json(nullptr) : nlohmann::json(init);
  j["ready_on"] = ready_on.empty() ? nlohmann::json(nullptr) : nlohmann::json(ready_on);
  if (!user_ns.empty()) j["user_namespace"] = user_ns;
  if (!limits.empty()) j["limits"] = limits;
  j["binds"] = nlohmann::json::array();
  for (auto& b : binds)
    j["binds"].push_back(
        {{"path", b.path}, {"host_path", b.host_path}, {"read_only", b.read_only}});
  return j;
}

std::string Status::text() const {
  std::string s = fmt::format("{}: {}{}\n", name, state, monitor_died ? " (monitor died)" : "");
  if (pid > 0) {
    s += fmt::format("  pid: {}\n", pid);
    s += fmt::format("  uptime: {}\n", human_secs(uptime_sec));
  }
  for (auto& a : addresses) s += fmt::format("  address: {}\n", a);
  for (auto& l : host_links) s += fmt::format("  host link: {}\n", l);
  if (uid_base)
    s += fmt::format("  user namespace: uids 0-65535 are {}-{} on the host\n", *uid_base,
                     *uid_base + decl::kPrivateUsersRange - 1);
  if (!user_ns.empty()) s += fmt::format("  user namespace: ids {} on the host\n", user_ns);
  if (!limits.empty()) s += fmt::format("  limits: {}\n", limits);
  if (!capabilities.empty()) s += fmt::format("  capabilities: {}\n", fmt::join(capabilities, " "));
  if (!privileged_reason.empty())
    s += fmt::format("  privileged: root in it can take over the host ({})\n", privileged_reason);
  if (!init.empty())
    s += fmt::format("  init: {} (ready {})\n", init,
                     ready_on == "notify" ? "on its READY=1" : "once started");
  for (auto& b : binds)
    s += fmt::format("  bind: {} from {}{} (transient)\n", b.path, b.host_path,
                     b.read_only ? ", read-only" : "");
  if (memory_bytes) s += fmt::format("  memory: {}\n", human_bytes(*memory_bytes));
  if (state != "down" && state != "gone") s += fmt::format("  restarts: {}\n", restarts);
  if (!last_exit.empty()) s += fmt::format("  last exit: {}\n", last_exit);
  if (!s.empty()) s.pop_back();
  return s;
}

Status status(const decl::Paths& paths, const std::string& name, const decl::Container* d) {
  RunDir rd(paths, name);
  Status out;
  out.name = name;
  out.declared = d != nullptr;
  auto st = read_status(rd);
  out.monitor_alive = st && monitor_alive(*st);
  if (out.monitor_alive) out.monitor_pid = st->monitor_pid;
  auto epid = engine_pid(rd, name);
  if (out.monitor_alive) {
    out.state = st->state == "running" ? "up" : st->state;
    out.restarts = st->restarts;
    out.last_exit = st->last_exit;
    out.init = st->init;
    out.ready_on = st->ready_on;
    out.user_ns = st->user_ns;
    out.limits = st->limits;
  } else if (epid) {
    out.state = "up";
    out.monitor_died = true;
    if (st) out.restarts = st->restarts;
  } else {
    out.state = d ? "down" : "gone";
    if (auto le = read_file(last_exit_file(paths, name)); le) {
      out.last_exit = *le;
      while (!out.last_exit.empty() && out.last_exit.back() == '\n') out.last_exit.pop_back();
    }
  }
  if (epid) {
    out.pid = *epid;
    out.binds = transient_binds(paths, name);
    if (st && st->started_at > 0) out.uptime_sec = now_epoch() - st->started_at;
    if (auto stats = engine::stats(rd.store(), name)) {
      try {
        const nlohmann::json* m = &(*stats)["memory"]["usage"];
        if (m->is_object() && m->contains("usage")) m = &(*m)["usage"];
        if (auto bytes = json_integer<uint64_t>(*m)) out.memory_bytes = *bytes;
      } catch (const std::exception&) {
      }
    }
  }
  std::optional<decl::Container> snap;
  const decl::Container* a = d;
  if (!a && (snap = load_snapshot(rd, name))) a = &*snap;
  if (a) {
    if (a->host_address) out.addresses.push_back("host " + a->host_address->str());
    if (a->local_address) out.addresses.push_back("local " + a->local_address->str());
    if (a->host_address6) out.addresses.push_back("host " + a->host_address6->str());
    if (a->local_address6) out.addresses.push_back("local " + a->local_address6->str());
    if (a->private_network)
      if (auto n = network_of(*a, paths, false)) {
        if (n->has_veth()) out.host_links.push_back(n->host_link());
        for (auto& e : n->extra_veths) out.host_links.push_back(e.name);
      }
    if (a->private_users.mode == decl::PrivateUsers::Mode::Base)
      out.uid_base = a->private_users.base;
    if (a->private_users.mode == decl::PrivateUsers::Mode::Pick)
      out.uid_base = recorded_uid_base(paths, name);
    out.capabilities = decl::capabilities_of(*a);
    out.privileged_reason = decl::host_takeover_reason(*a);
  }
  return out;
}

Result<int> run_in(const decl::Paths& paths, const std::string& name,
                   const std::vector<std::string>& argv) {
  RunDir rd(paths, name);
  if (!engine_pid(rd, name)) return make_error("{} is not running", name);
  auto store = rd.store();
  engine::ExecOptions eo;
  eo.process = TRY(run_base_process(paths, name));
  eo.process.args = argv;
  pid_t pid = TRY(engine::exec(store, name, eo));
  // The command runs: the overlay this process came from goes now, its grace
  // period overlapping the command rather than delaying anything.
  engine::release_exe_mount();
  // Like a shell: ^C goes to the process, not to us.
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGQUIT, SIG_IGN);
  int ws;
  while (::waitpid(pid, &ws, 0) < 0)
    if (errno != EINTR) return errno_error("wait for {}", pid);
  if (WIFEXITED(ws)) return WEXITSTATUS(ws);
  if (WIFSIGNALED(ws)) return 128 + WTERMSIG(ws);
  return 1;
}

Result<void> print_logs(const decl::Paths& paths, const std::string& name, bool follow) {
  std::string path = paths.container_log(name);
  if (!path_exists(path) && !path_exists(path + ".1")) return make_error("no log for {}", name);
  if (auto old = read_file(path + ".1")) std::fwrite(old->data(), 1, old->size(), stdout);
  off_t pos = 0;
  ino_t ino = 0;
  RunDir rd(paths, name);
  for (;;) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd) {
      struct stat stt;
      ::fstat(fd.get(), &stt);
      if (stt.st_ino != ino || stt.st_size < pos) pos = 0;  // rotated
      ino = stt.st_ino;
      ::lseek(fd.get(), pos, SEEK_SET);
      char buf[65536];
      ssize_t n;
      while ((n = ::read(fd.get(), buf, sizeof(buf))) > 0) {
        std::fwrite(buf, 1, static_cast<size_t>(n), stdout);
        pos += n;
      }
      std::fflush(stdout);
    }
    if (!follow) return ok();
    auto st = read_status(rd);
    if (!(st && monitor_alive(*st))) {
      // One more pass picks up the monitor's last lines.
      follow = false;
      continue;
    }
    ::usleep(200000);
  }
}

Result<void> ensure_sealed_exe(char** argv) {
  return engine::ensure_sealed_exe(argv);
}

}  // namespace berth::manager
