// The cgroup library on this host's real hierarchies, with forked children
// standing in for containers. Every cgroup is named berth-test-* and removed
// (thawed, emptied, rmdir'ed) by RAII even when a test fails.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "base/files.h"
#include "cgroup/cgroup.h"
#include "cgroup/probe.h"
#include "support/testenv.h"

namespace berth::cgroup {
namespace {

using namespace std::chrono_literals;

// Orphaned grandchildren come back to the test process, which reaps them.
const bool kSubreaper = [] {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  return true;
}();

void reap_orphans() {
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 3000ms) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// A cgroup for one test, removed at the end whatever happened.
class TestCgroup {
 public:
  explicit TestCgroup(const std::string& name, const Layout* layout = nullptr) {
    std::string path = "/" + test::unique_id("berth-test-" + name);
    auto r = layout ? Cgroup::create(*layout, path, "") : Cgroup::create(path, "");
    if (!r) {
      error_ = r.error().message;
      return;
    }
    cg_ = std::move(*r);
  }
  ~TestCgroup() {
    if (!cg_) return;
    bool any = false;
    for (auto& [m, dir] : cg_->paths()) any = any || path_exists(dir);
    if (!any) return;   // the test destroyed it
    (void)cg_->thaw();  // never leave a frozen cgroup behind
    (void)cg_->kill_all(SIGKILL);
    wait_until([this] {
      reap_orphans();
      auto p = cg_->pids();
      return !p || p->empty();
    });
    auto d = cg_->destroy();
    if (!d) ADD_FAILURE() << "cleanup: " << d.error().message;
  }
  bool ok() const { return cg_.has_value(); }
  const std::string& error() const { return error_; }
  Cgroup& operator*() { return *cg_; }
  Cgroup* operator->() { return &*cg_; }

 private:
  std::optional<Cgroup> cg_;
  std::string error_;
};

// A forked child that runs fn once the parent says go (after putting it in
// the cgroup). Killed and reaped when the object goes away.
class Child {
 public:
  explicit Child(std::function<int()> fn) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(p[1]);
      char c;
      if (::read(p[0], &c, 1) != 1) ::_exit(120);
      ::_exit(fn());
    }
    ::close(p[0]);
    go_ = UniqueFd(p[1]);
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  void go() {
    char c = 'g';
    (void)!::write(go_.get(), &c, 1);
    go_.reset();
  }
  // The wait status, or -1 after timeout (the child is then killed).
  int wait(std::chrono::milliseconds timeout = 20000ms) {
    int status = -1;
    bool done = wait_until(
        [&] {
          pid_t r = ::waitpid(pid_, &status, WNOHANG);
          return r == pid_;
        },
        timeout);
    if (!done) return -1;
    reaped_ = true;
    return status;
  }

 private:
  pid_t pid_ = -1;
  UniqueFd go_;
  bool reaped_ = false;
};

// A counter in memory shared with the children.
struct Shared {
  Shared() {
    p = static_cast<volatile uint64_t*>(
        ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    for (int i = 0; i < 8; ++i) p[i] = 0;
  }
  ~Shared() { ::munmap(const_cast<uint64_t*>(p), 4096); }
  volatile uint64_t* p;
};

// This host's layout seen as a pure v2 host: only the v2 tree, so freezing,
// device rules and kill go through cgroup.freeze, eBPF and cgroup.kill.
std::optional<Layout> v2_only() {
  auto l = detect();
  if (!l || l->unified.empty()) return std::nullopt;
  Layout v = *l;
  v.v1.clear();
  v.mode = Mode::Unified;
  v.unified_controllers.clear();  // leave the host's subtree_control alone
  return v;
}

// Allocates and touches n bytes where the compiler cannot optimise it away.
bool use_memory(size_t n) {
  void* m = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return false;
  volatile char* p = static_cast<volatile char*>(m);
  for (size_t i = 0; i < n; i += 4096) p[i] = 1;
  return true;
}

int open_errno(const char* path, int flags) {
  int fd = ::open(path, flags | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return 0;
  }
  return errno;
}

bool gone(const Cgroup& cg) {
  for (auto& [m, dir] : cg.paths())
    if (path_exists(dir)) return false;
  return true;
}

#define REQUIRE_CGROUP(cg) \
  SKIP_UNLESS_ROOT();      \
  ASSERT_TRUE((cg).ok()) << (cg).error()

#define REQUIRE_CONTROLLER(cg, c)                                                           \
  do {                                                                                      \
    if ((cg)->dir_for(c).empty()) GTEST_SKIP() << "no " << c << " controller on this host"; \
  } while (0)

TEST(CgroupHost, CreateMakesTheCgroupEverywhereAndDestroyRemovesIt) {
  SKIP_UNLESS_ROOT();
  std::vector<std::string> dirs;
  {
    TestCgroup cg("create");
    REQUIRE_CGROUP(cg);
    ASSERT_FALSE(cg->paths().empty());
    for (auto& [m, dir] : cg->paths()) {
      EXPECT_TRUE(path_exists(dir + "/cgroup.procs")) << dir;
      dirs.push_back(dir);
    }
    // cpuset on v1: the new cgroup got its parent's cpus and mems.
    if (auto it = cg->paths().find("/sys/fs/cgroup/cpuset"); it != cg->paths().end()) {
      EXPECT_NE(*read_file(it->second + "/cpuset.cpus"), "\n");
      EXPECT_NE(*read_file(it->second + "/cpuset.mems"), "\n");
    }
    Child c([] { return 0; });
    ASSERT_TRUE(cg->add_process(c.pid()).ok());
    auto pids = cg->pids();
    ASSERT_TRUE(pids.ok());
    EXPECT_EQ(*pids, std::vector<pid_t>{c.pid()});
    c.go();
    EXPECT_EQ(c.wait(), 0);
    ASSERT_TRUE(cg->destroy().ok());
    EXPECT_TRUE(gone(*cg));
  }
  for (auto& d : dirs) EXPECT_FALSE(path_exists(d)) << d;
}

TEST(CgroupHost, JoinSelfV1MovesTheCallingProcessIntoEveryV1Hierarchy) {
  TestCgroup cg("join");
  REQUIRE_CGROUP(cg);
  if (!cg->has_v1()) GTEST_SKIP() << "this host has no cgroup v1 hierarchy";
  Shared sh;
  auto* out = sh.p;
  Cgroup* c = &*cg;
  Child child([c, out] {
    out[0] = c->join_self_v1().ok() ? 1 : 2;
    for (;;) ::pause();
    return 0;
  });
  child.go();
  ASSERT_TRUE(wait_until([&] { return sh.p[0] != 0; }));
  ASSERT_EQ(sh.p[0], 1u);
  auto pids = cg->pids();
  ASSERT_TRUE(pids.ok());
  EXPECT_EQ(*pids, std::vector<pid_t>{child.pid()});
  for (auto& [m, dir] : cg->paths()) {
    auto procs = read_file(dir + "/cgroup.procs");
    ASSERT_TRUE(procs.ok()) << dir;
    // The v2 cgroup is joined at birth (clone3), never by the process itself.
    std::string want = dir == cg->unified_dir() ? "" : std::to_string(child.pid()) + "\n";
    EXPECT_EQ(*procs, want) << dir;
  }
}

TEST(CgroupHost, RelativePathIsBelowTheCallersCgroup) {
  SKIP_UNLESS_ROOT();
  std::string name = test::unique_id("berth-test-rel");
  auto cg = Cgroup::create(name, "");
  ASSERT_TRUE(cg.ok()) << cg.error().message;
  auto own = *read_file("/proc/self/cgroup");
  for (auto& [m, dir] : cg->paths()) {
    EXPECT_TRUE(path_exists(dir)) << dir;
    EXPECT_EQ(dir.substr(dir.size() - name.size()), name);
  }
  // This host keeps the test in a memory cgroup of its own: the new one is below it.
  if (auto p = own.find(":memory:/");
      p != std::string::npos && cg->paths().count("/sys/fs/cgroup/memory")) {
    std::string mine = own.substr(p + 8, own.find('\n', p) - p - 8);
    std::string want = "/sys/fs/cgroup/memory" + (mine == "/" ? "" : mine) + "/" + name;
    EXPECT_EQ(cg->paths().at("/sys/fs/cgroup/memory"), want);
  }
  ASSERT_TRUE(cg->destroy().ok());
  EXPECT_TRUE(gone(*cg));
}

TEST(CgroupHost, MemoryLimitKillsAnAllocator) {
  TestCgroup cg("mem");
  REQUIRE_CGROUP(cg);
  REQUIRE_CONTROLLER(cg, "memory");
  oci::Resources r;
  r.memory = oci::Memory{};
  r.memory->limit = 32 << 20;
  r.memory->swap = 32 << 20;  // memory+swap: no swap on top
  auto a = cg->apply(r);
  ASSERT_TRUE(a.ok()) << a.error().message;
  Child c([] {
    for (int i = 0; i < 512; ++i)
      if (!use_memory(1 << 20)) return 2;
    return 0;  // 512 MiB allocated: the limit did not hold
  });
  ASSERT_TRUE(cg->add_process(c.pid()).ok());
  c.go();
  int st = c.wait();
  ASSERT_TRUE(WIFSIGNALED(st)) << "status " << st;
  EXPECT_EQ(WTERMSIG(st), SIGKILL);
  auto s = cg->stats();
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_GE((*s)["memory"]["oom_kill"].get<uint64_t>(), 1u) << s->dump();
  // The usage reached the limit (failcnt is not counted by every kernel).
  EXPECT_EQ((*s)["memory"]["usage"]["max"].get<uint64_t>(), 32u << 20) << s->dump();
  EXPECT_EQ((*s)["memory"]["usage"]["limit"].get<uint64_t>(), 32u << 20);
}

TEST(CgroupHost, PidsLimitStopsAForkBomb) {
  TestCgroup cg("pids");
  REQUIRE_CGROUP(cg);
  REQUIRE_CONTROLLER(cg, "pids");
  oci::Resources r;
  r.pids_limit = 8;
  ASSERT_TRUE(cg->apply(r).ok());
  Shared sh;
  auto* out = sh.p;
  Child c([out] {
    int n = 0, err = 0;
    for (int i = 0; i < 64; ++i) {  // bounded even if the limit fails
      pid_t p = ::fork();
      if (p == 0) {
        ::pause();
        ::_exit(0);
      }
      if (p < 0) {
        err = errno;
        break;
      }
      ++n;
    }
    out[0] = static_cast<uint64_t>(n);
    out[1] = static_cast<uint64_t>(err) + 1000;
    ::pause();
    return 0;
  });
  ASSERT_TRUE(cg->add_process(c.pid()).ok());
  c.go();
  ASSERT_TRUE(wait_until([&] { return sh.p[1] != 0; }));
  EXPECT_EQ(sh.p[0], 7u);  // 8 tasks: the child and 7 forks
  EXPECT_EQ(sh.p[1], static_cast<uint64_t>(EAGAIN) + 1000);
  auto s = cg->stats();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)["pids"]["current"], 8);
  EXPECT_EQ((*s)["pids"]["limit"], 8);
}

TEST(CgroupHost, CpuQuotaThrottlesABusyLoop) {
  TestCgroup cg("cpu");
  REQUIRE_CGROUP(cg);
  REQUIRE_CONTROLLER(cg, "cpu");
  oci::Resources r;
  r.cpu = oci::Cpu{};
  r.cpu->quota = 10000;  // 10% of one cpu
  r.cpu->period = 100000;
  ASSERT_TRUE(cg->apply(r).ok());
  Child c([] {
    timespec start, now;
    ::clock_gettime(CLOCK_MONOTONIC, &start);
    do {
      ::clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) <
             600000000L);
    return 0;
  });
  ASSERT_TRUE(cg->add_process(c.pid()).ok());
  c.go();
  EXPECT_EQ(c.wait(), 0);
  auto s = cg->stats();
  ASSERT_TRUE(s.ok());
  EXPECT_GT((*s)["cpu"]["throttling"]["throttledPeriods"].get<uint64_t>(), 0u) << s->dump();
  EXPECT_GT((*s)["cpu"]["throttling"]["throttledTime"].get<uint64_t>(), 0u);
  if (!cg->dir_for("cpuacct").empty()) {
    uint64_t used = (*s)["cpu"]["usage"]["total"];
    EXPECT_GT(used, 0u);
    EXPECT_LT(used, 250000000u) << "600 ms of busy loop at 10% should use about 60 ms";
  }
}

TEST(CgroupHost, DeviceNotAllowedCannotBeOpenedV1) {
  TestCgroup cg("dev");
  REQUIRE_CGROUP(cg);
  std::string dev = cg->dir_for("devices");
  if (dev.empty() || dev == cg->unified_dir())
    GTEST_SKIP() << "no v1 devices controller on this host";
  if (!path_exists("/dev/kmsg")) GTEST_SKIP() << "no /dev/kmsg to test with";
  ASSERT_EQ(open_errno("/dev/kmsg", O_RDONLY), 0) << "root can open /dev/kmsg outside the cgroup";
  oci::Resources r;
  oci::DeviceRule deny_all;
  deny_all.access = "rwm";
  r.devices = {deny_all};
  auto a = cg->apply(r);
  ASSERT_TRUE(a.ok()) << a.error().message;
  Shared sh;
  auto* out = sh.p;
  auto probe = [out] {
    out[0] = static_cast<uint64_t>(open_errno("/dev/kmsg", O_RDONLY)) + 1;
    out[1] = static_cast<uint64_t>(open_errno("/dev/null", O_RDWR)) + 1;
    out[2] = static_cast<uint64_t>(open_errno("/dev/kmsg", O_WRONLY)) + 1;
    return 0;
  };
  {
    Child c(probe);
    ASSERT_TRUE(cg->add_process(c.pid()).ok());
    c.go();
    ASSERT_EQ(c.wait(), 0);
    EXPECT_EQ(sh.p[0], static_cast<uint64_t>(EPERM) + 1);
    EXPECT_EQ(sh.p[1], 1u) << "/dev/null is in the default allow list";
  }
  // Allow reading /dev/kmsg (c 1:11) only.
  oci::DeviceRule kmsg;
  kmsg.allow = true;
  kmsg.type = "c";
  kmsg.major = 1;
  kmsg.minor = 11;
  kmsg.access = "r";
  r.devices.push_back(kmsg);
  ASSERT_TRUE(cg->apply(r, true).ok());
  {
    Child c(probe);
    ASSERT_TRUE(cg->add_process(c.pid()).ok());
    c.go();
    ASSERT_EQ(c.wait(), 0);
    EXPECT_EQ(sh.p[0], 1u);
    EXPECT_EQ(sh.p[2], static_cast<uint64_t>(EPERM) + 1);
  }
}

TEST(CgroupHost, DeviceNotAllowedCannotBeOpenedV2Ebpf) {
  SKIP_UNLESS_ROOT();
  auto v2 = v2_only();
  if (!v2) GTEST_SKIP() << "no cgroup v2 mount on this host";
  if (!path_exists("/dev/kmsg")) GTEST_SKIP() << "no /dev/kmsg to test with";
  TestCgroup cg("dev2", &*v2);
  REQUIRE_CGROUP(cg);
  oci::Resources r;
  oci::DeviceRule deny_all;
  deny_all.access = "rwm";
  r.devices = {deny_all};
  auto a = cg->apply(r);
  ASSERT_TRUE(a.ok()) << a.error().message;
  Shared sh;
  auto* out = sh.p;
  auto probe = [out] {
    out[0] = static_cast<uint64_t>(open_errno("/dev/kmsg", O_RDONLY)) + 1;
    out[1] = static_cast<uint64_t>(open_errno("/dev/null", O_RDWR)) + 1;
    out[2] = static_cast<uint64_t>(open_errno("/dev/kmsg", O_WRONLY)) + 1;
    return 0;
  };
  {
    Child c(probe);
    ASSERT_TRUE(cg->add_process(c.pid()).ok());
    c.go();
    ASSERT_EQ(c.wait(), 0);
    EXPECT_EQ(sh.p[0], static_cast<uint64_t>(EPERM) + 1);
    EXPECT_EQ(sh.p[1], 1u);
  }
  // An update replaces the program (the old one would still deny).
  oci::DeviceRule kmsg;
  kmsg.allow = true;
  kmsg.type = "c";
  kmsg.major = 1;
  kmsg.minor = 11;
  kmsg.access = "r";
  r.devices.push_back(kmsg);
  a = cg->apply(r, true);
  ASSERT_TRUE(a.ok()) << a.error().message;
  {
    Child c(probe);
    ASSERT_TRUE(cg->add_process(c.pid()).ok());
    c.go();
    ASSERT_EQ(c.wait(), 0);
    EXPECT_EQ(sh.p[0], 1u);
    EXPECT_EQ(sh.p[2], static_cast<uint64_t>(EPERM) + 1);
  }
}

// A child that, for each byte n it reads, tries n forks, reports how many
// worked, and then kills and reaps them.
int fork_worker(int cmd, int reply) {
  for (unsigned char n; ::read(cmd, &n, 1) == 1;) {
    std::vector<pid_t> kids;
    for (int i = 0; i < n; ++i) {
      pid_t p = ::fork();
      if (p == 0) {
        ::pause();
        ::_exit(0);
      }
      if (p < 0) break;
      kids.push_back(p);
    }
    for (pid_t k : kids) ::kill(k, SIGKILL);
    for (pid_t k : kids) ::waitpid(k, nullptr, 0);
    unsigned char got = static_cast<unsigned char>(kids.size());
    if (::write(reply, &got, 1) != 1) return 1;
  }
  return 0;
}

TEST(CgroupHost, UpdateRaisesAndLowersALiveLimit) {
  TestCgroup cg("update");
  REQUIRE_CGROUP(cg);
  REQUIRE_CONTROLLER(cg, "pids");
  REQUIRE_CONTROLLER(cg, "memory");
  oci::Resources r;
  r.pids_limit = 2;
  r.memory = oci::Memory{};
  r.memory->limit = 64 << 20;
  ASSERT_TRUE(cg->apply(r).ok());
  int cmd[2], reply[2];
  ASSERT_EQ(::pipe(cmd), 0);
  ASSERT_EQ(::pipe(reply), 0);
  UniqueFd cmd_r(cmd[0]), cmd_w(cmd[1]), rep_r(reply[0]), rep_w(reply[1]);
  Child c([&] {
    ::close(cmd_w.get());  // so that closing ours ends the worker
    ::close(rep_r.get());
    return fork_worker(cmd_r.get(), rep_w.get());
  });
  ASSERT_TRUE(cg->add_process(c.pid()).ok());
  c.go();
  auto forks = [&](unsigned char n) {
    unsigned char got = 255;
    EXPECT_EQ(::write(cmd_w.get(), &n, 1), 1);
    EXPECT_EQ(::read(rep_r.get(), &got, 1), 1);
    return static_cast<int>(got);
  };
  EXPECT_EQ(forks(3), 1);
  oci::Resources up;
  up.pids_limit = 10;
  ASSERT_TRUE(cg->apply(up, true).ok());
  EXPECT_EQ(forks(3), 3);
  up.pids_limit = 2;
  ASSERT_TRUE(cg->apply(up, true).ok());
  EXPECT_EQ(forks(3), 1);

  std::string mem = cg->dir_for("memory");
  bool v2 = mem == cg->unified_dir();
  std::string limit_file = mem + (v2 ? "/memory.max" : "/memory.limit_in_bytes");
  oci::Resources m;
  m.memory = oci::Memory{};
  m.memory->limit = 128 << 20;
  ASSERT_TRUE(cg->apply(m, true).ok());
  EXPECT_EQ(*read_file(limit_file), std::to_string(128 << 20) + "\n");
  m.memory->limit = 16 << 20;
  ASSERT_TRUE(cg->apply(m, true).ok());
  EXPECT_EQ(*read_file(limit_file), std::to_string(16 << 20) + "\n");
  EXPECT_EQ(*read_file(cg->dir_for("pids") + "/pids.max"),
            "2\n");  // untouched by the memory update
  cmd_w.reset();     // the worker exits
  EXPECT_EQ(c.wait(), 0);
}

TEST(CgroupHost, RefusedValuesNameTheField) {
  TestCgroup cg("refused");
  REQUIRE_CGROUP(cg);
  REQUIRE_CONTROLLER(cg, "memory");
  REQUIRE_CONTROLLER(cg, "cpu");
  bool v1 = cg->dir_for("memory") != cg->unified_dir();
  if (!v1) GTEST_SKIP() << "the memory controller is v2 here; v2 reclaims instead of refusing";
  Shared sh;
  auto* out = sh.p;
  Child c([out] {
    out[0] = use_memory(24 << 20) ? 1 : 2;
    ::pause();
    return 0;
  });
  ASSERT_TRUE(cg->add_process(c.pid()).ok());
  c.go();
  ASSERT_TRUE(wait_until([&] { return sh.p[0] == 1; }));
  oci::Resources r;
  r.memory = oci::Memory{};
  r.memory->limit = 1 << 20;  // below what the child uses, and there is no swap
  auto a = cg->apply(r, true);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().message,
            "linux.resources.memory.limit: write memory.limit_in_bytes: Device or resource busy");

  oci::Resources s;
  s.cpu = oci::Cpu{};
  s.cpu->shares = 1;  // the kernel clamps this to 2
  a = cg->apply(s, true);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().message,
            "linux.resources.cpu.shares: 1 is outside the range the kernel accepts (it set 2)");

  oci::Resources n;
  n.network = oci::Network{};
  n.network->class_id = 1;
  a = cg->apply(n, true);
  if (cg->dir_for("net_cls").empty()) {
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(
        a.error().message,
        "linux.resources.network.classID: no net_cls controller on this host (cgroup v1 only)");
  }
}

// "major:minor" of a real whole disk, or "" without one.
std::string a_real_disk() {
  for (auto& e : std::filesystem::directory_iterator("/sys/block")) {
    std::string name = e.path().filename();
    if (name.rfind("loop", 0) == 0 || name.rfind("ram", 0) == 0 || name.rfind("zram", 0) == 0)
      continue;
    auto size = read_file(e.path().string() + "/size");
    if (!size || *size == "0\n") continue;
    std::string disk = *read_file(e.path().string() + "/dev");
    disk.pop_back();
    return disk;
  }
  return "";
}

// The weight files apply() writes, as this cgroup has them: BFQ's or CFQ's
// on v1, io.bfq.weight or io.weight (iocost) on v2. "" when it has none.
std::string weight_file(Cgroup& cg) {
  std::string d = cg.dir_for("blkio");
  bool v2 = d == cg.unified_dir();
  for (const char* f : v2 ? std::vector<const char*>{"io.bfq.weight", "io.weight"}
                          : std::vector<const char*>{"blkio.bfq.weight", "blkio.weight"})
    if (path_exists(d + "/" + f)) return f;
  return "";
}

TEST(CgroupHost, BlockIoThrottle) {
  TestCgroup cg("blkio");
  REQUIRE_CGROUP(cg);
  REQUIRE_CONTROLLER(cg, "blkio");
  std::string disk = a_real_disk();
  if (disk.empty()) GTEST_SKIP() << "no block device on this host";
  int64_t major = std::stoll(disk), minor = std::stoll(disk.substr(disk.find(':') + 1));
  oci::Resources r;
  r.block_io = oci::BlockIO{};
  r.block_io->throttle_read_bps_device = {{major, minor, 1048576}};
  auto a = cg->apply(r);
  ASSERT_TRUE(a.ok()) << a.error().message;
  std::string d = cg->dir_for("blkio");
  bool v2 = d == cg->unified_dir();
  if (!v2) {
    EXPECT_EQ(*read_file(d + "/blkio.throttle.read_bps_device"), disk + " 1048576\n");
  } else {
    EXPECT_NE(read_file(d + "/io.max")->find(disk + " rbps=1048576"), std::string::npos);
  }
  // A device the kernel does not have.
  r.block_io->throttle_read_bps_device = {{4095, 77, 1}};
  a = cg->apply(r, true);
  ASSERT_FALSE(a.ok());
  std::string want = std::string("linux.resources.blockIO.throttleReadBpsDevice[0]: write ") +
                     (v2 ? "io.max: " : "blkio.throttle.read_bps_device: ");
  EXPECT_EQ(a.error().message.substr(0, want.size()), want) << a.error().message;
}

TEST(CgroupHost, BlockIoWeight) {
  TestCgroup cg("blkiow");
  REQUIRE_CGROUP(cg);
  REQUIRE_CONTROLLER(cg, "blkio");
  std::string f = weight_file(*cg);
  if (f.empty())
    GTEST_SKIP()
        << "this host's blkio/io controller has no weight file (blkio.weight, blkio.bfq.weight, "
           "io.weight, io.bfq.weight: no BFQ scheduler, no iocost)";
  EXPECT_TRUE(io_weight_support().ok()) << io_weight_support().error().message;
  oci::Resources r;
  r.block_io = oci::BlockIO{};
  r.block_io->weight = 500;
  auto a = cg->apply(r);
  ASSERT_TRUE(a.ok()) << a.error().message;
  std::string got = *read_file(cg->dir_for("blkio") + "/" + f);
  if (f == "io.weight")
    EXPECT_NE(got.find("default " + std::to_string(blkio_weight_to_io_weight(500))),
              std::string::npos)
        << got;
  else
    EXPECT_NE(got.find("500"), std::string::npos) << f << ": " << got;
}

TEST(CgroupHost, BlockIoWeightTheHostCannotApplyIsOneClearLine) {
  TestCgroup cg("blkionw");
  REQUIRE_CGROUP(cg);
  REQUIRE_CONTROLLER(cg, "blkio");
  if (!weight_file(*cg).empty())
    GTEST_SKIP() << "this host can apply block I/O weights (" << weight_file(*cg) << ")";
  auto support = io_weight_support();
  ASSERT_FALSE(support.ok()) << "the probe must agree with the cgroup's files";
  EXPECT_NE(support.error().message.find("this host cannot apply block I/O weights"),
            std::string::npos)
      << support.error().message;
  oci::Resources r;
  r.block_io = oci::BlockIO{};
  r.block_io->weight = 500;
  auto a = cg->apply(r);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().message.rfind(
                "linux.resources.blockIO.weight: this host cannot apply block I/O weights", 0),
            0u)
      << a.error().message;
  EXPECT_EQ(a.error().message.find('\n'), std::string::npos) << "one line";
}

void freeze_stops_a_counter(TestCgroup& cg) {
  Shared sh;
  auto* counter = sh.p;
  Child c([counter] {
    for (;;) counter[0] = counter[0] + 1;
    return 0;
  });
  ASSERT_TRUE(cg->add_process(c.pid()).ok());
  c.go();
  ASSERT_TRUE(wait_until([&] { return sh.p[0] > 1000; }));
  auto f = cg->freeze();
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_TRUE(*cg->frozen());
  uint64_t a = sh.p[0];
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(sh.p[0], a) << "the counter moved while frozen";
  ASSERT_TRUE(cg->thaw().ok());
  EXPECT_TRUE(wait_until([&] { return sh.p[0] > a + 1000; })) << "the counter did not restart";
  EXPECT_FALSE(*cg->frozen());
}

TEST(CgroupHost, FreezeStopsACounterAndThawRestartsIt) {
  TestCgroup cg("freeze");
  REQUIRE_CGROUP(cg);
  if (cg->dir_for("freezer").empty()) GTEST_SKIP() << "no freezer on this host";
  freeze_stops_a_counter(cg);
}

TEST(CgroupHost, FreezeStopsACounterAndThawRestartsItV2) {
  SKIP_UNLESS_ROOT();
  auto v2 = v2_only();
  if (!v2) GTEST_SKIP() << "no cgroup v2 mount on this host";
  TestCgroup cg("freeze2", &*v2);
  REQUIRE_CGROUP(cg);
  if (!path_exists(cg->unified_dir() + "/cgroup.freeze"))
    GTEST_SKIP() << "kernel without cgroup.freeze";
  freeze_stops_a_counter(cg);
  EXPECT_EQ(*read_file(cg->unified_dir() + "/cgroup.freeze"), "0\n");
}

void kill_all_kills_everything(TestCgroup& cg, int sig) {
  Child c([] {
    for (int i = 0; i < 5; ++i)
      if (::fork() == 0) {
        for (;;) ::pause();
      }
    for (;;) ::pause();
    return 0;
  });
  ASSERT_TRUE(cg->add_process(c.pid()).ok());
  c.go();
  ASSERT_TRUE(wait_until([&] { return cg->pids()->size() == 6; })) << cg->pids()->size();
  auto pids = *cg->pids();
  auto k = cg->kill_all(sig);
  ASSERT_TRUE(k.ok()) << k.error().message;
  int st = c.wait(5000ms);
  ASSERT_TRUE(WIFSIGNALED(st)) << st;
  EXPECT_EQ(WTERMSIG(st), sig);
  EXPECT_TRUE(wait_until([&] {
    reap_orphans();
    return cg->pids()->empty();
  }));
  for (pid_t p : pids) EXPECT_FALSE(test::pid_alive(p)) << p;
  EXPECT_FALSE(*cg->frozen());
  auto d = cg->destroy();
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_TRUE(gone(*cg));
}

TEST(CgroupHost, KillAllKillsEverything) {
  TestCgroup cg("kill");
  REQUIRE_CGROUP(cg);
  kill_all_kills_everything(cg, SIGKILL);
}

TEST(CgroupHost, KillAllWithSigterm) {
  TestCgroup cg("term");
  REQUIRE_CGROUP(cg);
  kill_all_kills_everything(cg, SIGTERM);
}

TEST(CgroupHost, KillAllV2UsesCgroupKill) {
  SKIP_UNLESS_ROOT();
  auto v2 = v2_only();
  if (!v2) GTEST_SKIP() << "no cgroup v2 mount on this host";
  TestCgroup cg("kill2", &*v2);
  REQUIRE_CGROUP(cg);
  kill_all_kills_everything(cg, SIGKILL);
}

TEST(CgroupHost, StatsOfALiveCgroup) {
  TestCgroup cg("stats");
  REQUIRE_CGROUP(cg);
  Shared sh;
  auto* out = sh.p;
  Child c([out] {
    use_memory(8 << 20);
    out[0] = 1;
    for (;;) ::pause();
    return 0;
  });
  ASSERT_TRUE(cg->add_process(c.pid()).ok());
  c.go();
  ASSERT_TRUE(wait_until([&] { return sh.p[0] == 1; }));
  auto s = cg->stats();
  ASSERT_TRUE(s.ok()) << s.error().message;
  if (!cg->dir_for("pids").empty()) {
    EXPECT_EQ((*s)["pids"]["current"], 1);
  }
  if (!cg->dir_for("memory").empty()) {
    EXPECT_GE((*s)["memory"]["usage"]["usage"].get<uint64_t>(), 8u << 20) << s->dump();
    EXPECT_FALSE((*s)["memory"]["raw"].empty());
  }
  if (!cg->dir_for("cpuacct").empty()) {
    EXPECT_GT((*s)["cpu"]["usage"]["total"].get<uint64_t>(), 0u);
  }
  // The state file round trip gives the same cgroup.
  auto back = Cgroup::from_json(cg->to_json());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back->pids(), std::vector<pid_t>{c.pid()});
}

}  // namespace
}  // namespace berth::cgroup
