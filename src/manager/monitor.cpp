// The per-container monitor: network first, then the engine's container,
// its output into a bounded log, readiness, reaping and the lifecycle
// (poweroff, reboot, failure with restart and backoff, stop).
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "base/files.h"
#include "decl/init.h"
#include "decl/spec.h"
#include "engine/container.h"
#include "engine/sealed_exe.h"
#include "manager/console.h"
#include "manager/dns_forwarder.h"
#include "manager/init_control.h"
#include "manager/launch_spec.h"
#include "manager/live.h"
#include "manager/manager.h"
#include "manager/monitor_parts.h"
#include "manager/private_root.h"
#include "manager/resolv.h"
#include "manager/runtime.h"
#include "manager/slirp.h"
#include "net/container_network.h"
#include "net/netns.h"

namespace berth::manager {

namespace {

class Monitor {
 public:
  Monitor(const decl::Paths& paths, std::string name, const MonitorOptions& opts)
      : paths_(paths),
        name_(std::move(name)),
        rd_(paths, name_),
        opts_(opts),
        log_(paths.container_log(name_)) {}

  int run() {
    auto r = setup();
    if (!r) {
      fail_start(r.error().message);
      return finish(1);
    }
    if (auto l = launch(); !l) {
      fail_start(l.error().message);
      return finish(1);
    }
    return loop();
  }

 private:
  Result<void> setup() {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    auto [sig_r, sig_w] = TRY(catch_signals());
    sig_r_ = std::move(sig_r), sig_w_ = std::move(sig_w);
    // The container's stdout/stderr (and the engine's messages) come through
    // a pipe so that the log stays bounded.
    out_r_ = TRY(output_pipe());

    st_.state = "starting";
    st_.monitor_pid = ::getpid();
    st_.monitor_start = engine::process_start_time(::getpid()).value_or(0);
    TRY(mkdir_p(rd_.dir, 0700));
    TRY(write_status(rd_, st_));

    auto declared = TRY(load_declared(paths_, name_));
    c_ = std::move(declared.c);
    uid_base_ = declared.uid_base;
    rootless_ = std::move(declared.rootless);
    nat_all_ = declared.nat_all;
    st_.user_ns = rootless_ ? describe_maps(rootless_->maps.uids) : "";
    st_.limits = rootless_ ? rootless_->limits_note : "";
    TRY(save_snapshot(rd_, c_));
    log_.note(fmt::format("monitor {} starting container {}", ::getpid(), name_));

    ctl_ = TRY(bind_unix(rd_.control(), SOCK_STREAM));
    TRY(mkdir_p(rd_.notify_dir(), 0755));
    notify_ = TRY(bind_unix(rd_.notify_sock(), SOCK_DGRAM));
    ::chmod(rd_.notify_sock().c_str(), 0777);
    if (wants_console(c_)) {
      console_ =
          std::make_unique<ConsoleServer>(name_, [this](std::string_view s) { log_.write(s); });
      TRY(console_->listen(console_socket(rd_)));
    }

    if (!c_.boot && c_.stub_init)
      stub_init_ = TRY_CTX(engine::open_protected_sibling("berth-init"),
                           "the stub init (stub_init = false runs the command as PID 1)");
    if (c_.share_host) TRY_CTX(decl::prepare_share_host_root(c_, paths_), "prepare the root");
    test_pause_at("monitor-network");
    if (c_.private_network && !rootless_) TRY(setup_network());
    if (netns_ && uid_base_) TRY_CTX(open_netns_to_userns(netns_.get()), "network");
    test_pause_at("monitor-init");
    ready_deadline_ = monotonic_seconds() + std::chrono::duration<double>(c_.timeout_start).count();
    return ok();
  }

  // The namespace is made here and configured from the host before the
  // container's init exists, so its network is up when it starts.
  Result<void> setup_network() {
    netw_ = TRY(network_of(c_, paths_, nat_all_));
    UniqueFd host = TRY(net::open_current_netns());
    if (::unshare(CLONE_NEWNET) < 0) return errno_error("unshare network namespace");
    netns_.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    int saved = errno;
    if (::setns(host.get(), CLONE_NEWNET) < 0)
      return errno_error("return to the host network namespace");
    if (!netns_) {
      errno = saved;
      return errno_error("open the new network namespace");
    }
    net_up_ = true;  // teardown is harmless even for a half-built network
    TRY_CTX(net::setup_container_network(netw_, net::kCurrentNetns, netns_.get()), "network");
    if (auto at = dns_forwarder_addresses(c_); !at.empty())
      dns_ = TRY(DnsForwarder::listen(at, hosts_file(paths_), host_resolv_conf(paths_)));
    return ok();
  }

  Result<void> launch() {
    auto r = launch_once();  // then free what it needed: supervising holds little
    release_launch_caches();
    trim_pending_ = true;  // malloc_trim at the first idle sleep, off the start's path
    return r;
  }

  Result<void> launch_once() {
    auto store = rd_.store();
    (void)engine::remove(store, name_, true);  // a stale one from a crashed run
    // What `update`/`apply` changed live holds for a reboot or restart too.
    if (auto snap = load_snapshot(rd_, name_)) c_ = with_live_keys(c_, *snap);
    ::unlink(rd_.environment().c_str());  // the new init's is the declared one
    LaunchInputs in;
    in.uid_base = uid_base_;
    if (rootless_) in.rootless_maps = rootless_->maps;
    in.terminal = console_ != nullptr;
    if (netns_) in.netns_path = fmt::format("/proc/{}/fd/{}", ::getpid(), netns_.get());
    // An image's overlay is mounted meanwhile (private_root.h EarlyRoot).
    EarlyRoot early;
    TRY(start_image_root(paths_, rd_, c_, uid_base_, early));
    auto spec = TRY(launch_spec(paths_, c_, in));
    TRY(write_file_atomic(rd_.spec(), oci::to_json(spec).dump(), 0600, false));
    if (c_.boot) detect_init();
    if (c_.boot && rootless_ && init_kind_ == decl::InitKind::Systemd)
      return make_error(
          "systemd does not boot rootless yet: it needs a cgroup tree of its own, which an "
          "unprivileged berth has no delegated cgroup for (an init that needs none, as busybox "
          "init, boots)");
    TRY(prepare_tree(paths_, rd_, c_, spec, uid_base_, log_, &early));
    engine::CreateOptions co;
    co.id = name_;
    co.bundle = rd_.dir;
    co.use_cgroups = !rootless_ || rootless_->limits_note.empty();
    if (stub_init_) {
      co.init_fd = stub_init_.get();
      co.init_name = "berth-init";
    }
    UniqueFd console_master;
    if (console_) co.console_out = &console_master;
    co.console_ctty = !c_.boot;  // a booting init takes its console itself
    UniqueFd userns, netns;      // a rootless private network's (slirp.h)
    if (rootless_ && c_.private_network) co.userns_out = &userns, co.netns_out = &netns;
    pid_t pid = TRY_CTX(engine::create(store, spec, co), "create");
    init_ = pid;
    if (netns)
      slirp_ = TRY_CTX(Slirp::start(userns.get(), netns.get(), slirp_socket(rd_.dir),
                                    rd_.dir + "/slirp4netns.log", c_.forward_ports),
                       "network");
    killed_ = false;
    // systemd in a user namespace manages its own cgroup subtree.
    if (c_.boot && uid_base_ && spec.linux)
      TRY_CTX(delegate_cgroup(spec.linux->cgroups_path, *uid_base_), "delegate the cgroup");
    halted_ = false;
    if (console_) console_->set_master(std::move(console_master));
    if (auto s = engine::start(store, name_); !s) {
      ::kill(pid, SIGKILL);
      return std::move(s).error().wrap("start");
    }
    st_.pid = pid;
    st_.started_at = now_epoch();
    st_.state = ready_ && !reready_ ? "running" : "starting";
    (void)write_status(rd_, st_);
    // A command, or an init that says nothing (ready = started): ready once
    // exec'd. systemd (ready = notify): on its READY=1.
    waiting_exec_ = !c_.boot || !notify_ready_;
    log_.note(fmt::format("container {} started, pid {}", name_, pid));
    test_pause_at("monitor-ready");
    return ok();
  }

  // Ready once the process is exec'd (a command, or an init that says
  // nothing). An init is checked before the first wait too: engine::start
  // returns once it has exec'd, and the wait would only add its timeout. A
  // command gets that first wait (1 ms) to fail at once, which then is a
  // failed start rather than a start and an exit.
  void check_execd() {
    if (!waiting_exec_ || init_ <= 0) return;
    if (auto e = stub_init_ ? command_execd(init_) : has_execd(init_); e && *e) {
      waiting_exec_ = false;
      mark_ready();
    }
  }

  int loop() {
    for (;;) {
      if (done_) return exit_code_;
      if (c_.boot) check_execd();
      // Signals come through a pipe and each wait has its deadline below:
      // an idle monitor sleeps until something happens (no periodic tick).
      double now = monotonic_seconds();
      double next = std::numeric_limits<double>::infinity();
      if (waiting_exec_) next = now + 0.001;  // a check costs ~20 us
      bool watch_halt =
          stopping_ && init_ > 0 && !killed_ && c_.boot && init_kind_ == decl::InitKind::Busybox;
      if (watch_halt) next = std::min(next, now + 0.01);
      if (!ready_) next = std::min(next, ready_deadline_);
      if (kill_at_ > 0) next = std::min(next, kill_at_);
      if (resend_at_ > 0) next = std::min(next, resend_at_);
      if (restart_at_ > 0) next = std::min(next, restart_at_);
      if (auto d = dns_ ? dns_->next_deadline() : std::nullopt) next = std::min(next, *d);
      double ms = std::ceil((next - now) * 1000 - 1e-6);  // 1 ms is 1, not ceil(1.0000001)
      int timeout = std::isinf(next) ? -1 : std::max(0, static_cast<int>(ms));
      if (timeout < 0 && trim_pending_) ::malloc_trim(0), trim_pending_ = false;
      // At most once a second: a chatty container wakes it often.
      if (timeout < 0 && now - stack_released_at_ >= 1.0)
        release_stack_below(), stack_released_at_ = now;

      std::vector<struct pollfd> pfds = {{sig_r_.get(), POLLIN, 0},
                                         {ctl_.get(), POLLIN, 0},
                                         {notify_.get(), POLLIN, 0},
                                         {out_r_.get(), POLLIN, 0}};
      if (console_) console_->add_pollfds(pfds);
      if (dns_) dns_->add_pollfds(pfds);
      int n = ::poll(pfds.data(), pfds.size(), timeout);
      if (n < 0 && errno != EINTR) return finish(1);
      if (pfds[0].revents) drain_signals();
      reap();
      if (done_) return exit_code_;
      if (pfds[1].revents) accept_control();
      if (pfds[2].revents) read_notify();
      if (pfds[3].revents) drain_output();
      if (console_) console_->handle(pfds);
      now = monotonic_seconds();
      if (dns_) {
        dns_->handle(pfds, now);
        dns_->expire(now);
      }
      check_execd();
      if (!ready_ && !stopping_ && now >= ready_deadline_) {
        fail_start(fmt::format("not ready after {}", format_duration(c_.timeout_start)));
        kill_all_now();
      }
      if (watch_halt && init_ > 0 && halted_busybox_waits(init_)) {
        log_.note("busybox init has ended every process and only pauses: its halt is done");
        halted_ = true;
        kill_all_now();
      }
      if (resend_at_ > 0 && stopping_ && init_ > 0 && !killed_ && now >= resend_at_) {
        signal_init(init_, init_kind_, decl::halt_signal_of(c_, init_kind_), false);
        resend_at_ = now + 1.0;
      }
      if (kill_at_ > 0 && now >= kill_at_) {
        log_.note("stop timeout: killing everything in the container");
        kill_all_now();
        kill_at_ = 0;
      }
      if (restart_at_ > 0 && now >= restart_at_ && !stopping_) {
        restart_at_ = 0;
        if (auto l = launch(); !l) {
          log_.note(fmt::format("restart failed: {}", l.error().message));
          st_.last_exit = l.error().message;
          if (!ready_) fail_start(l.error().message);
          return finish(1);
        }
      }
      if (restart_at_ > 0 && stopping_) return finish(0);
      if (stopping_ && init_ == 0) return finish(0);
    }
  }

  void drain_signals() {
    unsigned char buf[64];
    ssize_t n;
    while ((n = ::read(sig_r_.get(), buf, sizeof(buf))) > 0)
      for (ssize_t i = 0; i < n; ++i)
        if (buf[i] == SIGTERM || buf[i] == SIGINT) request_stop(false);
  }

  void reap() {
    int ws;
    pid_t p;
    while ((p = ::waitpid(-1, &ws, WNOHANG)) > 0)
      if (p == init_)
        on_init_exit(ws);
      else if (slirp_ && p == slirp_->pid())
        slirp_->reaped(), log_.note("slirp4netns exited: the container has no network");
  }

  void drain_output() {
    char buf[4096];  // the loop's deepest frame: its stack stays a few pages
    ssize_t n;
    while ((n = ::read(out_r_.get(), buf, sizeof(buf))) > 0)
      log_.write({buf, static_cast<size_t>(n)});
  }

  void accept_control() {
    for (;;) {
      UniqueFd c(::accept4(ctl_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!c) return;
      struct timeval tv = {1, 0};
      ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      std::string line;
      char ch;
      while (line.size() < 256 && ::read(c.get(), &ch, 1) == 1 && ch != '\n') line += ch;
      if (line == "stop" || line == "terminate") {
        request_stop(line == "terminate");
        waiters_.push_back(std::move(c));
      } else if (line == "reboot") {
        (void)write_all(c.get(), request_reboot());
      } else if (line == "ping") {
        (void)write_all(c.get(), "ok\n");
      } else {
        (void)write_all(c.get(), "error: unknown request\n");
      }
    }
  }

  void read_notify() {
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(notify_.get(), buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0)
      if (notify_says_ready({buf, static_cast<size_t>(n)}) && init_ > 0) {
        waiting_exec_ = false;
        mark_ready();
      }
  }

  void request_stop(bool now) {
    if (!stopping_) {
      stopping_ = true;
      st_.state = "stopping";
      (void)write_status(rd_, st_);
      if (!ready_) fail_start("stopped before it was ready");
      if (init_ > 0) {
        int sig = c_.boot ? decl::halt_signal_of(c_, init_kind_) : c_.halt_signal.value_or(SIGTERM);
        log_.note(fmt::format("stopping: sending {} to the init{}", decl::signal_name(sig),
                              c_.boot ? fmt::format(" ({})", decl::init_name(init_kind_)) : ""));
        signal_init(init_, c_.boot ? init_kind_ : decl::InitKind::Unknown, sig, false);
        kill_at_ = monotonic_seconds() + std::chrono::duration<double>(c_.timeout_stop).count();
        // runit acts on signals only in its stage 2 ("signals only work in
        // stage 2"): a stop during stage 1 is said again every second.
        if (c_.boot && init_kind_ == decl::InitKind::RunitInit)
          resend_at_ = monotonic_seconds() + 1.0;
      }
    }
    if (now && init_ > 0) kill_all_now();
  }

  // `berth reboot`: the init's reboot signal; it ends itself as a reboot
  // (SIGHUP), and on_init_exit starts it again.
  std::string request_reboot() {
    if (!c_.boot) return "error: only a boot = true container reboots (restart it)\n";
    if (stopping_ || init_ <= 0) return "error: not running\n";
    int sig = decl::reboot_signal_of(c_, init_kind_);
    log_.note(fmt::format("reboot: sending {} to the init ({})", decl::signal_name(sig),
                          decl::init_name(init_kind_)));
    if (signal_init(init_, init_kind_, sig, true) < 0)
      return fmt::format("error: kill: {}\n", strerror(errno));
    return "ok\n";
  }

  void detect_init() {
    auto info = decl::container_init(c_, paths_);
    init_kind_ = info.kind;
    notify_ready_ = decl::waits_for_notify(c_, init_kind_);
    st_.init = std::string(decl::init_name(init_kind_));
    st_.ready_on = notify_ready_ ? "notify" : "started";
    log_.note(fmt::format("init: {} ({}): ready {}, halt {}, reboot {}", st_.init, info.path,
                          notify_ready_ ? "on its READY=1" : "once it runs",
                          decl::signal_name(decl::halt_signal_of(c_, init_kind_)),
                          decl::signal_name(decl::reboot_signal_of(c_, init_kind_))));
  }

  void kill_all_now() {
    if (init_ <= 0) return;
    killed_ = true;
    (void)engine::kill(rd_.store(), name_, SIGKILL, true);
    ::kill(init_, SIGKILL);
  }

  void on_init_exit(int ws) {
    // Ended by us once its halt was done: a poweroff, not a kill.
    std::string how =
        halted_ ? "halted (the last pauses of its halt cut short)" : describe_exit(ws);
    init_ = 0;
    // A command that ran and ended before the exec was seen: the engine's
    // own failures before the exec end the init with 1 or 127, never 0, so
    // an exit 0 means the command did run (it was ready, then powered off).
    if (waiting_exec_ && !ready_ && WIFEXITED(ws) && WEXITSTATUS(ws) == 0) mark_ready();
    waiting_exec_ = false;
    drain_output();
    if (console_) console_->drop_master();
    slirp_.reset();
    if (auto d = engine::destroy(rd_.store(), name_); !d)
      log_.note(fmt::format("clean up the container: {}", d.error().message));
    st_.last_exit = how;
    st_.pid = 0;
    log_.note(fmt::format("container {}", how));
    // reboot(2) in a pid namespace ends its init with SIGINT for a poweroff
    // or halt and SIGHUP for a reboot; a plain init powers off by exiting 0.
    bool reboot = WIFSIGNALED(ws) && WTERMSIG(ws) == SIGHUP;
    bool poweroff =
        (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) || (WIFSIGNALED(ws) && WTERMSIG(ws) == SIGINT);
    if (stopping_ || failed_) {
      if (stopping_ && ((poweroff && !killed_) || halted_)) log_.note("powered off");
      finish(0);
      return;
    }
    if (reboot) {
      log_.note("reboot requested: starting it again");
      reready_ = ready_;  // "starting" again until its init is ready once more
      if (auto l = launch(); !l) {
        log_.note(fmt::format("reboot failed: {}", l.error().message));
        if (!ready_) fail_start(l.error().message);
        finish(1);
      }
      return;
    }
    if (poweroff && c_.restart != decl::Restart::Always) {
      log_.note("powered off");
      if (!ready_) fail_start(fmt::format("{} before it was ready", how));
      finish(0);
      return;
    }
    if (c_.restart == decl::Restart::No) {
      if (!ready_) fail_start(how);
      finish(1);
      return;
    }
    double delay = std::min(10.0, 0.2 * static_cast<double>(1 << std::min(backoff_, 6)));
    ++backoff_;
    if (!ready_ && monotonic_seconds() + delay >= ready_deadline_) {
      fail_start(fmt::format("{} (not ready within {})", how, format_duration(c_.timeout_start)));
      finish(1);
      return;
    }
    st_.restarts++;
    st_.state = "restarting";
    (void)write_status(rd_, st_);
    log_.note(fmt::format("restarting in {:.1f}s (restart {})", delay, st_.restarts));
    restart_at_ = monotonic_seconds() + delay;
  }

  void mark_ready() {
    if (reready_) {
      reready_ = false;
      st_.state = "running";
      (void)write_status(rd_, st_);
      log_.note("ready");
      return;
    }
    if (ready_) return;
    ready_ = true;
    st_.state = "running";
    (void)write_status(rd_, st_);
    log_.note("ready");
    if (opts_.ready_fd >= 0) {
      (void)write_all(opts_.ready_fd, "ok\n");
      ::close(opts_.ready_fd);
      opts_.ready_fd = -1;
    }
    engine::release_exe_mount();  // now that nobody waits (sealed_exe.h)
    if (opts_.notify_systemd) sd_notify_systemd(fmt::format("READY=1\nMAINPID={}\n", ::getpid()));
  }

  void fail_start(const std::string& reason) {
    if (failed_ || ready_) return;
    failed_ = true;
    log_.note(fmt::format("start failed: {}", reason));
    if (opts_.ready_fd >= 0) {
      (void)write_all(opts_.ready_fd, "error: " + reason + "\n");
      ::close(opts_.ready_fd);
      opts_.ready_fd = -1;
    }
  }

  // The macvlans and moved interfaces as `apply` left them (live.h).
  void live_links() {
    auto snap = load_snapshot(rd_, name_);
    if (auto n = snap ? network_of(*snap, paths_, nat_all_) : Result<net::ContainerNetwork>(netw_))
      netw_.interfaces = n->interfaces, netw_.macvlans = n->macvlans;
  }

  int finish(int code) {
    if (done_) return exit_code_;
    if (init_ > 0) {
      kill_all_now();
      int ws;
      while (::waitpid(init_, &ws, 0) < 0 && errno == EINTR) {
      }
      init_ = 0;
      (void)engine::destroy(rd_.store(), name_);
    }
    slirp_.reset();
    remove_empty_cgroup_parent();
    test_pause_at("monitor-stopping");
    // Reap whatever was reparented to us.
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    dns_.reset();
    if (net_up_) {
      live_links();
      if (auto t = net::teardown_container_network(netw_, net::kCurrentNetns, netns_.get()); !t)
        log_.note(fmt::format("network teardown: {}", t.error().message));
      net_up_ = false;
    }
    netns_.reset();
    drain_output();
    if (console_) {
      console_->drop_master();
      console_->close(fmt::format("container {} stopped ({})", name_,
                                  st_.last_exit.empty() ? "stopped" : st_.last_exit));
    }
    log_.note(
        fmt::format("monitor exiting ({})", st_.last_exit.empty() ? "stopped" : st_.last_exit));
    // What `status` says of a container that is down: how its last run ended.
    if (!st_.last_exit.empty()) {
      std::string dir = paths_.container_state(name_);
      if (auto m = mkdir_p(dir, 0755); m)
        (void)write_file_atomic(last_exit_file(paths_, name_), st_.last_exit + "\n", 0644, false);
    }
    ctl_.reset();
    notify_.reset();
    remove_runtime_files(rd_);
    for (auto& w : waiters_) (void)write_all(w.get(), "ok\n");
    waiters_.clear();
    if (opts_.notify_systemd) sd_notify_systemd("STOPPING=1\n");
    if (auto l = Lock::try_acquire(rd_)) l->remove_if_idle(rd_);
    done_ = true;
    exit_code_ = code;
    return code;
  }

  decl::Paths paths_;
  std::string name_;
  RunDir rd_;
  MonitorOptions opts_;
  LogWriter log_;
  decl::Container c_;
  bool nat_all_ = false;
  std::optional<uint32_t> uid_base_;     // of its user namespace, if any
  std::optional<RootlessRun> rootless_;  // a rootless berth's container
  std::unique_ptr<Slirp> slirp_;         // and its private network
  UniqueFd sig_r_, sig_w_, out_r_, ctl_, notify_, netns_;
  UniqueFd stub_init_;  // berth-init, protected (engine/sealed_exe.h), for command containers
  std::unique_ptr<ConsoleServer> console_;  // boot containers: the console pty
  std::unique_ptr<DnsForwarder> dns_;       // resolv_conf = "auto" with a private network
  net::ContainerNetwork netw_;
  bool net_up_ = false;
  MonitorStatus st_;
  pid_t init_ = 0;
  bool ready_ = false, failed_ = false, stopping_ = false, waiting_exec_ = false, done_ = false;
  bool killed_ = false;  // SIGKILLed by us (stop timeout, terminate): not a clean poweroff
  bool halted_ = false;  // killed once its halt was done (busybox's pauses)
  decl::InitKind init_kind_ = decl::InitKind::Unknown;  // of a boot container
  bool notify_ready_ = false;                           // ready on READY=1
  bool reready_ = false;  // rebooted after having been ready: waiting for it again
  int exit_code_ = 0;
  int backoff_ = 0;
  double ready_deadline_ = 0, kill_at_ = 0, restart_at_ = 0, resend_at_ = 0;
  double stack_released_at_ = 0;  // monotonic seconds of the last release_stack_below
  bool trim_pending_ = false;     // a launch's memory is to go back at the next idle sleep
  std::vector<UniqueFd> waiters_;
};

}  // namespace

int run_monitor(const decl::Paths& paths, const std::string& name, const MonitorOptions& opts) {
  Monitor m(paths, name, opts);
  return m.run();
}

}  // namespace berth::manager
