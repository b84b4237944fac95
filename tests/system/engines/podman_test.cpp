// podman 4.3 (Debian) running its containers on berth-oci, and the same cases
// on crun so a failure on berth alone is berth's. Every case has a private
// podman store, containers.conf and cgroup parent, and removes them.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engines_support.h"

namespace berth::test::engines {
namespace {

const char* kImage = "berth-test/busybox:latest";

bool have(const std::string& tool) {
  return sh("command -v " + tool + " >/dev/null").status == 0;
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return trim(s);
}

// A podman store, containers.conf and cgroup parent of one test's own.
class Podman {
 public:
  Podman(const Runtime& rt, bool netns = false) : rt_(rt), dir_("berth-test-podman") {
    cgparent_ = "berth-test-podman-" + unique_id("p");
    NsHolder::Options o;
    o.hide_unified = rt.hide_unified;
    o.net = netns;
    // podman's bridge keeps state (netns bind mounts under /run/netns,
    // netavark's lock and state) in /run: give it a private, empty one.
    if (netns) o.tmpfs = {"/run"};
    if (rt.hide_unified || netns) holder_ = std::make_unique<NsHolder>(o);
    struct rlimit nofile {
    }, nproc{};
    getrlimit(RLIMIT_NOFILE, &nofile);
    getrlimit(RLIMIT_NPROC, &nproc);
    // Without CAP_SYS_RESOURCE no runtime may raise an rlimit; podman's
    // defaults (nofile 1048576, nproc = podman's own) are above ours.
    unsigned long np = std::min<unsigned long>(nproc.rlim_max, 32768);
    std::ofstream conf(dir_ / "containers.conf");
    conf << "[containers]\n"
         << "default_ulimits = [\"nofile=" << nofile.rlim_max << ":" << nofile.rlim_max
         << "\", \"nproc=" << np << ":" << np << "\"]\n"
         << "[engine]\n"
         << "runtime = \"" << rt.name << "\"\n"
         << "cgroup_manager = \"cgroupfs\"\n"
         << "events_logger = \"file\"\n"
         << "events_logfile_path = \"" << (dir_ / "events.log") << "\"\n"
         << "tmp_dir = \"" << (dir_ / "tmp") << "\"\n"
         << "volume_path = \"" << (dir_ / "volumes") << "\"\n"
         << "[engine.runtimes]\n"
         << rt.name << " = [\"" << rt.path << "\"]\n"
         << "[network]\n"
         << "network_config_dir = \"" << (dir_ / "networks") << "\"\n";
  }

  ~Podman() { cleanup(); }

  bool ready(std::string* why) {
    if (holder_ && !holder_->ok()) {
      *why = holder_->error();
      return false;
    }
    auto r = sh("tar -C " + test_rootfs() + " -c . | " + join(base()) + " import - " + kImage,
                opts(120, env()));
    if (r.status != 0) {
      *why = "podman import: " + describe(r);
      return false;
    }
    return true;
  }

  std::vector<std::string> base(bool with_runtime_flag = false) const {
    std::vector<std::string> v;
    if (holder_) v = holder_->prefix();
    v.insert(v.end(), {"podman", "--root", dir_ / "root", "--runroot", dir_ / "runroot", "--tmpdir",
                       dir_ / "tmp", "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs",
                       "--events-backend", "file"});
    if (with_runtime_flag) v.insert(v.end(), {"--runtime", rt_.path});
    return v;
  }

  std::map<std::string, std::string> env() const {
    return {{"CONTAINERS_CONF", dir_ / "containers.conf"}, {"XDG_RUNTIME_DIR", dir_ / "xdg"}};
  }

  // podman ARGS; run/create get the test's cgroup parent and --network none
  // unless the caller names a network.
  RunResult operator()(std::vector<std::string> args, RunOptions opts = {}) const {
    return cmd(std::move(args), std::move(opts), false);
  }
  RunResult with_runtime_flag(std::vector<std::string> args, RunOptions opts = {}) const {
    return cmd(std::move(args), std::move(opts), true);
  }

  std::string command_line(std::vector<std::string> args) const {
    std::vector<std::string> v = base();
    expand(args);
    v.insert(v.end(), args.begin(), args.end());
    return join(v);
  }

  std::string inspect(const std::string& c, const std::string& fmt) const {
    return trim((*this)({"inspect", "--format", fmt, c}).out);
  }

  pid_t pid_of(const std::string& c) const {
    std::string s = inspect(c, "{{.State.Pid}}");
    return s.empty() ? 0 : std::stoi(s);
  }

  const std::string& dir() const { return dir_.path(); }
  const std::string& cgparent() const { return cgparent_; }
  pid_t holder_pid() const { return holder_ ? holder_->pid() : 0; }

  // Removes everything the way a user would (no `system reset`), then
  // asserts nothing of this test is left: processes, mounts, cgroups.
  void cleanup() {
    if (cleaned_) return;
    cleaned_ = true;
    std::vector<std::string> ids;
    for (auto& l : split_lines((*this)({"ps", "-aq", "--no-trunc"}).out)) ids.push_back(l);
    // podman 4.3's rm races its own `container cleanup` process over the
    // shm mount of a --uidmap container ("unlinkat .../shm: device or
    // resource busy", with crun and berth alike): a second rm finishes it.
    (*this)({"stop", "-a", "-t", "0"}, opts(60));
    auto rm = (*this)({"rm", "-af", "-t", "0"}, opts(60));
    for (int i = 0;
         i < 3 && rm.status != 0 && rm.err.find("device or resource busy") != std::string::npos;
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      rm = (*this)({"rm", "-af", "-t", "0"}, opts(60));
    }
    EXPECT_EQ(rm.status, 0) << "podman rm -af: " << describe(rm);
    auto rmi = (*this)({"rmi", "-af"}, opts(60));
    EXPECT_EQ(rmi.status, 0) << "podman rmi -af: " << describe(rmi);
    (*this)({"system", "prune", "-af"}, opts(60));
    // The overlay driver keeps its own mount of the store until unmounted.
    std::vector<std::string> left = mounts_under(dir_.path(), holder_pid());
    // Podman keeps `root/overlay` mounted (a private bind) by design; that
    // one is its storage driver's, not a container's.
    std::vector<std::string> container_mounts;
    for (auto& m : left)
      if (m != dir_ / "root/overlay") container_mounts.push_back(m);
    EXPECT_TRUE(container_mounts.empty()) << "mounts left: " << join(container_mounts);
    unmount_under(dir_.path(), holder_pid());
    auto procs = processes_mentioning(dir_.path());
    EXPECT_TRUE(procs.empty()) << procs.size() << " processes still mention " << dir_.path();
    for (pid_t p : procs) kill(p, SIGKILL);
    for (auto& id : ids) {
      auto cg = cgroups_matching(id.substr(0, 12));
      EXPECT_TRUE(cg.empty()) << "cgroups left for " << id << ": " << join(cg);
    }
    holder_.reset();
    remove_cgroup_tree(cgparent_);
    auto cg = cgroups_matching(cgparent_);
    EXPECT_TRUE(cg.empty()) << "cgroups left: " << join(cg);
    reap_children();
  }

  static std::vector<std::string> split_lines(const std::string& s) {
    std::vector<std::string> v;
    std::stringstream ss(s);
    std::string l;
    while (std::getline(ss, l))
      if (!trim(l).empty()) v.push_back(trim(l));
    return v;
  }

  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (auto& x : v) {
      if (!s.empty()) s += ' ';
      s += quote(x);
    }
    return s;
  }

  static std::string quote(const std::string& x) {
    if (x.find_first_of(" '\"$;&|<>()*?\\\n\t{}") == std::string::npos && !x.empty()) return x;
    std::string q = "'";
    for (char c : x) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  }

 private:
  void expand(std::vector<std::string>& args) const {
    if (args.empty()) return;
    if (args[0] == "run" || args[0] == "create") {
      std::vector<std::string> extra = {"--cgroup-parent", "/" + cgparent_};
      bool has_net = false;
      for (auto& a : args)
        if (a.rfind("--network", 0) == 0 || a == "--net") has_net = true;
      if (!has_net) extra.push_back("--network=none");
      args.insert(args.begin() + 1, extra.begin(), extra.end());
    }
  }

  RunResult cmd(std::vector<std::string> args, RunOptions opts, bool rtflag) const {
    std::vector<std::string> v = base(rtflag);
    expand(args);
    v.insert(v.end(), args.begin(), args.end());
    for (auto& [k, val] : env()) opts.env.emplace(k, val);
    return run(v, opts);
  }

  Runtime rt_;
  TempDir dir_;
  std::string cgparent_;
  std::unique_ptr<NsHolder> holder_;
  bool cleaned_ = false;
};

class PodmanTest : public ::testing::TestWithParam<Runtime> {
 protected:
  void SetUp() override {
    SKIP_UNLESS_ROOT();
    if (!have("podman")) GTEST_SKIP() << "podman not installed (scripts/install-deps.sh system)";
    if (access(GetParam().path.c_str(), X_OK) != 0) GTEST_SKIP() << GetParam().path << " missing";
  }
  std::unique_ptr<Podman> make(bool netns = false) {
    auto p = std::make_unique<Podman>(GetParam(), netns);
    std::string why;
    if (!p->ready(&why)) {
      ADD_FAILURE() << why;
      return nullptr;
    }
    return p;
  }
};

#define MAKE_PODMAN(var, ...)           \
  auto var##_owner = make(__VA_ARGS__); \
  ASSERT_TRUE(var##_owner);             \
  Podman& var = *var##_owner

TEST_P(PodmanTest, RunRmExitStatus) {
  MAKE_PODMAN(p);
  auto r = p({"run", "--rm", kImage, "true"});
  EXPECT_EQ(r.status, 0) << describe(r);
  r = p({"run", "--rm", kImage, "sh", "-c", "echo out-$((40+2)); exit 3"});
  EXPECT_EQ(r.status, 3) << describe(r);
  EXPECT_EQ(trim(r.out), "out-42");
  // The same through `podman --runtime PATH` instead of containers.conf.
  r = p.with_runtime_flag({"run", "--rm", kImage, "sh", "-c", "exit 5"});
  EXPECT_EQ(r.status, 5) << describe(r);
  EXPECT_EQ(trim(p({"ps", "-aq"}).out), "") << "--rm left a container";
}

TEST_P(PodmanTest, RunTtyOutput) {
  MAKE_PODMAN(p);
  auto r = p({"run", "--rm", "-t", kImage, "sh", "-c", "tty; exit 4"});
  EXPECT_EQ(r.status, 4) << describe(r);
  EXPECT_NE(r.out.find("/dev/pts/0"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("\r\n"), std::string::npos) << "no onlcr: not a terminal? " << describe(r);
}

TEST_P(PodmanTest, RunInteractiveTty) {
  if (!have("script")) GTEST_SKIP() << "script(1) not installed";
  MAKE_PODMAN(p);
  // script(1) gives podman a real terminal; the shell in the container reads
  // our input through it and the console socket.
  std::string cl = p.command_line({"run", "--rm", "-it", kImage, "sh"});
  auto r = run({"script", "-qec", cl, "/dev/null"},
               opts(60, p.env(), "echo in-tty-$((6*7)) $(tty)\nexit 6\n"));
  EXPECT_EQ(r.status, 6) << describe(r);
  EXPECT_NE(r.out.find("in-tty-42 /dev/pts/0"), std::string::npos) << describe(r);
}

TEST_P(PodmanTest, DetachExecLogsTopRm) {
  MAKE_PODMAN(p);
  auto r = p({"run", "-d", "--name", "c1", kImage, "sh", "-c", "echo started; exec sleep 1000"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(p.inspect("c1", "{{.State.Status}}"), "running");
  r = p({"exec", "c1", "sh", "-c", "echo in-exec $$; exit 7"});
  EXPECT_EQ(r.status, 7) << describe(r);
  EXPECT_EQ(r.out.rfind("in-exec ", 0), 0u) << describe(r);
  r = p({"exec", "-t", "c1", "tty"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("/dev/pts/"), std::string::npos) << describe(r);
  // Wait for the log to be written by conmon.
  std::string logs;
  for (int i = 0; i < 20 && logs.find("started") == std::string::npos; ++i) {
    logs = p({"logs", "c1"}).out;
    if (logs.find("started") == std::string::npos)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(trim(logs), "started");
  r = p({"top", "c1"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("sleep 1000"), std::string::npos) << describe(r);
  pid_t pid = p.pid_of("c1");
  ASSERT_GT(pid, 0);
  r = p({"rm", "-f", "c1"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(trim(p({"ps", "-aq"}).out), "");
  for (int i = 0; i < 50 && pid_alive(pid); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(pid_alive(pid)) << "container init " << pid << " survived rm -f";
}

TEST_P(PodmanTest, StopEscalatesToKillAfterTimeout) {
  MAKE_PODMAN(p);
  // PID 1 without a TERM handler ignores TERM; the loop keeps it busy.
  auto r = p({"run", "-d", "--name", "deaf", "--stop-timeout", "2", kImage, "sh", "-c",
              "trap '' TERM; while :; do sleep 0.2; done"});
  ASSERT_EQ(r.status, 0) << describe(r);
  auto t0 = std::chrono::steady_clock::now();
  r = p({"stop", "deaf"});
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_GE(secs, 1.8) << "stopped before the timeout: TERM was not ignored?";
  EXPECT_LT(secs, 15.0);
  EXPECT_EQ(p.inspect("deaf", "{{.State.Status}}"), "exited");
  EXPECT_EQ(p.inspect("deaf", "{{.State.ExitCode}}"), "137");

  // A container that handles TERM stops at once with its own status.
  r = p({"run", "-d", "--name", "polite", "--stop-timeout", "20", kImage, "sh", "-c",
         "trap 'exit 0' TERM; while :; do sleep 0.1; done"});
  ASSERT_EQ(r.status, 0) << describe(r);
  t0 = std::chrono::steady_clock::now();
  r = p({"stop", "polite"});
  secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_LT(secs, 10.0);
  EXPECT_EQ(p.inspect("polite", "{{.State.ExitCode}}"), "0");
}

TEST_P(PodmanTest, Kill) {
  MAKE_PODMAN(p);
  auto r = p({"run", "-d", "--name", "k", kImage, "sh", "-c",
              "trap 'exit 9' USR1; while :; do sleep 0.1; done"});
  ASSERT_EQ(r.status, 0) << describe(r);
  r = p({"kill", "-s", "USR1", "k"});
  EXPECT_EQ(r.status, 0) << describe(r);
  r = p({"wait", "k"});
  EXPECT_EQ(trim(r.out), "9") << describe(r);
  r = p({"run", "-d", "--name", "k2", kImage, "sleep", "1000"});
  ASSERT_EQ(r.status, 0) << describe(r);
  r = p({"kill", "k2"});
  EXPECT_EQ(r.status, 0) << describe(r);
  r = p({"wait", "k2"});
  EXPECT_EQ(trim(r.out), "137") << describe(r);
}

TEST_P(PodmanTest, PauseUnpause) {
  MAKE_PODMAN(p);
  auto r = p({"run", "-d", "--name", "pz", kImage, "sleep", "1000"});
  ASSERT_EQ(r.status, 0) << describe(r);
  pid_t pid = p.pid_of("pz");
  ASSERT_GT(pid, 0);
  r = p({"pause", "pz"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(p.inspect("pz", "{{.State.Status}}"), "paused");
  std::string fz = cgroup_of(pid, "freezer");
  ASSERT_FALSE(fz.empty());
  EXPECT_EQ(read_text(fz + "/freezer.state"), "FROZEN");
  EXPECT_NE(fz.find(p.cgparent()), std::string::npos)
      << "container cgroup " << fz << " not under --cgroup-parent";
  r = p({"unpause", "pz"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(p.inspect("pz", "{{.State.Status}}"), "running");
  EXPECT_EQ(read_text(fz + "/freezer.state"), "THAWED");
  r = p({"exec", "pz", "true"});
  EXPECT_EQ(r.status, 0) << describe(r);
}

TEST_P(PodmanTest, LimitsEnforced) {
  MAKE_PODMAN(p);
  auto r = p({"run", "-d", "--name", "lim", "--memory", "32m", "--memory-swap", "32m",
              "--pids-limit", "20", "--cpus", "0.5", kImage, "sleep", "1000"});
  ASSERT_EQ(r.status, 0) << describe(r);
  pid_t pid = p.pid_of("lim");
  ASSERT_GT(pid, 0);
  EXPECT_EQ(read_text(cgroup_of(pid, "memory") + "/memory.limit_in_bytes"), "33554432");
  EXPECT_EQ(read_text(cgroup_of(pid, "pids") + "/pids.max"), "20");
  std::string cpu = cgroup_of(pid, "cpu");
  EXPECT_EQ(read_text(cpu + "/cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(read_text(cpu + "/cpu.cfs_period_us"), "100000");
  // pids: 20 tasks at most, so the shell runs out of forks; the 30 s sleeps
  // it did start keep the cgroup full while we look from the host.
  r = p({"exec", "lim", "sh", "-c",
         "i=0; while [ $i -lt 40 ]; do sleep 30 >/dev/null 2>&1 & i=$((i+1)); done; echo done"});
  EXPECT_NE(r.err.find("can't fork"), std::string::npos) << "no fork failure seen: " << describe(r);
  std::string cur = read_text(cgroup_of(pid, "pids") + "/pids.current");
  ASSERT_FALSE(cur.empty());
  EXPECT_LE(std::stoi(cur), 20) << "more than --pids-limit tasks";
  EXPECT_GE(std::stoi(cur), 10) << "the background sleeps did not start";
  // memory: no swap here and memsw capped, so touching 64M gets OOM-killed.
  r = p({"run", "--rm", "--memory", "32m", "--memory-swap", "32m", kImage, "sh", "-c",
         "dd if=/dev/zero of=/dev/null bs=64M count=1"});
  EXPECT_EQ(r.status, 137) << "expected an OOM kill: " << describe(r);
}

TEST_P(PodmanTest, UpdateResources) {
  MAKE_PODMAN(p);
  auto r = p({"run", "-d", "--name", "up", "--memory", "128m", "--pids-limit", "100", kImage,
              "sleep", "1000"});
  ASSERT_EQ(r.status, 0) << describe(r);
  pid_t pid = p.pid_of("up");
  ASSERT_GT(pid, 0);
  // podman 4.3's `update` has --memory and --cpus but no --pids-limit (added
  // in 4.5 or later), so pids.max stays what `run` set.
  r = p({"update", "--memory", "64m", "--cpus", "0.25", "up"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(read_text(cgroup_of(pid, "memory") + "/memory.limit_in_bytes"), "67108864");
  EXPECT_EQ(read_text(cgroup_of(pid, "pids") + "/pids.max"), "100");
  EXPECT_EQ(read_text(cgroup_of(pid, "cpu") + "/cpu.cfs_quota_us"), "25000");
  EXPECT_EQ(p.inspect("up", "{{.State.Status}}"), "running");
}

TEST_P(PodmanTest, DefaultSeccompProfile) {
  MAKE_PODMAN(p);
  auto r = p({"run", "--rm", kImage, "grep", "^Seccomp:", "/proc/self/status"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("2"), std::string::npos) << describe(r);
  // The filter bites: podman's default profile denies unshare() to a
  // container without CAP_SYS_ADMIN.
  r = p({"run", "--rm", kImage, "sh", "-c", "unshare -m true 2>&1; echo rc=$?"});
  EXPECT_EQ(r.out.find("rc=0"), std::string::npos)
      << "unshare allowed in default profile: " << describe(r);
  r = p({"run", "--rm", "--security-opt", "seccomp=unconfined", kImage, "grep",
         "^Seccomp:", "/proc/self/status"});
  EXPECT_NE(r.out.find("0"), std::string::npos) << describe(r);
}

TEST_P(PodmanTest, UidMap) {
  MAKE_PODMAN(p);
  auto r =
      p({"run", "-d", "--name", "um", "--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536",
         kImage, "sh", "-c", "cat /proc/self/uid_map; id -u; exec sleep 1000"});
  ASSERT_EQ(r.status, 0) << describe(r);
  pid_t pid = p.pid_of("um");
  ASSERT_GT(pid, 0);
  std::ifstream st("/proc/" + std::to_string(pid) + "/status");
  std::string line, uid;
  while (std::getline(st, line))
    if (line.rfind("Uid:", 0) == 0) uid = line;
  EXPECT_NE(uid.find("100000"), std::string::npos) << uid;
  r = p({"exec", "um", "sh", "-c", "id -u; cat /proc/self/uid_map"});
  EXPECT_EQ(r.status, 0) << describe(r);
  auto lines = Podman::split_lines(r.out);
  ASSERT_GE(lines.size(), 2u) << describe(r);
  EXPECT_EQ(lines[0], "0");
  EXPECT_NE(lines[1].find("100000"), std::string::npos) << describe(r);
  // The container writes to its rootfs as its root (host uid 100000).
  r = p({"exec", "um", "sh", "-c", "echo x > /root/f && stat -c %u /root/f"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(trim(r.out), "0");
}

TEST_P(PodmanTest, NetworkNone) {
  MAKE_PODMAN(p);
  auto r = p({"run", "--rm", "--network", "none", kImage, "sh", "-c", "ls /sys/class/net"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(trim(r.out), "lo");
}

TEST_P(PodmanTest, BridgeNetworkInsideTestNetns) {
  if (!have("netavark") && access("/usr/lib/podman/netavark", X_OK) != 0)
    GTEST_SKIP() << "netavark not installed";
  std::string fwd_before = read_text("/proc/sys/net/ipv4/ip_forward");
  auto nft_before = sh("nft list ruleset 2>/dev/null | md5sum").out;
  auto ipt_before = sh("iptables-save 2>/dev/null | grep -v '^#' | md5sum").out;
  {
    MAKE_PODMAN(p, true);
    auto r = p({"run", "--rm", "--network", "podman", "--cap-add", "NET_RAW", kImage, "sh", "-c",
                "ip -4 -o addr show eth0; ip route; ping -c1 -W2 $(ip route | awk '/default/ "
                "{print $3}')"});
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_NE(r.out.find("inet 10.88."), std::string::npos) << describe(r);
    EXPECT_NE(r.out.find("1 packets received"), std::string::npos) << describe(r);
    // podman's bridge turned forwarding on in the test's namespace only.
    auto in = run({"nsenter", "-t", std::to_string(p.holder_pid()), "-n", "cat",
                   "/proc/sys/net/ipv4/ip_forward"});
    EXPECT_EQ(trim(in.out), "1");
  }
  EXPECT_EQ(read_text("/proc/sys/net/ipv4/ip_forward"), fwd_before);
  EXPECT_EQ(sh("nft list ruleset 2>/dev/null | md5sum").out, nft_before) << "host nftables changed";
  EXPECT_EQ(sh("iptables-save 2>/dev/null | grep -v '^#' | md5sum").out, ipt_before)
      << "host iptables changed";
}

TEST_P(PodmanTest, Restart) {
  MAKE_PODMAN(p);
  auto r = p({"run", "-d", "--name", "rs", kImage, "sh", "-c", "echo boot; exec sleep 1000"});
  ASSERT_EQ(r.status, 0) << describe(r);
  pid_t before = p.pid_of("rs");
  r = p({"restart", "-t", "1", "rs"});
  EXPECT_EQ(r.status, 0) << describe(r);
  pid_t after = p.pid_of("rs");
  EXPECT_EQ(p.inspect("rs", "{{.State.Status}}"), "running");
  EXPECT_GT(after, 0);
  EXPECT_NE(before, after);
  EXPECT_FALSE(pid_alive(before));
  r = p({"exec", "rs", "true"});
  EXPECT_EQ(r.status, 0) << describe(r);
  // A stopped container starts again.
  r = p({"stop", "-t", "1", "rs"});
  EXPECT_EQ(r.status, 0) << describe(r);
  r = p({"start", "rs"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(p.inspect("rs", "{{.State.Status}}"), "running");
}

INSTANTIATE_TEST_SUITE_P(Podman, PodmanTest, ::testing::ValuesIn(runtimes()),
                         [](const auto& info) { return runtime_param_name(info.param); });

// `podman run --rm IMAGE true`, mean of N runs per runtime, side by side.
TEST(PodmanTiming, RunRmTrueBerthVsCrun) {
  SKIP_UNLESS_ROOT();
  if (!have("podman")) GTEST_SKIP() << "podman not installed";
  const int n = 20;
  std::map<std::string, double> mean;
  for (auto& rt : runtimes()) {
    Podman p(rt);
    std::string why;
    ASSERT_TRUE(p.ready(&why)) << why;
    ASSERT_EQ(p({"run", "--rm", kImage, "true"}).status, 0);  // warm up
    double total = 0;
    for (int i = 0; i < n; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      auto r = p({"run", "--rm", kImage, "true"});
      total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ASSERT_EQ(r.status, 0) << rt.name << ": " << describe(r);
    }
    mean[rt.name] = total / n;
  }
  std::printf(
      "\npodman run --rm IMAGE true, mean of %d: berth-oci %.3f s, crun %.3f s, berth/crun %.2f\n",
      n, mean["berth"], mean["crun"], mean["berth"] / mean["crun"]);
  RecordProperty("berth_mean_s", std::to_string(mean["berth"]));
  RecordProperty("crun_mean_s", std::to_string(mean["crun"]));
}

}  // namespace
}  // namespace berth::test::engines
