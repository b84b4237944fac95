// Resource writes, stats and lifecycle against a fake cgroup tree in a temp
// dir: the files the kernel would create are made empty beforehand, and the
// test reads back what berth wrote. No root needed.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "cgroup/cgroup.h"
#include "cgroup/cgroup_internal.h"
#include "support/testenv.h"

namespace berth::cgroup {
namespace {

const std::string kRel = "/berth-test/c1";

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void put_file(const std::string& path, const std::string& content = "") {
  std::ofstream f(path);
  f << content;
}

class FakeHost {
 public:
  FakeHost(bool with_v1, bool with_v2, std::vector<std::string> v2_controllers = {},
           std::vector<std::string> skip_v1 = {})
      : dir_("berth-test-cgfake") {
    if (with_v1) {
      for (std::string c : {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio",
                            "pids", "hugetlb", "net_cls", "net_prio", "systemd"}) {
        if (std::find(skip_v1.begin(), skip_v1.end(), c) != skip_v1.end()) continue;
        std::string m = dir_ / c;
        layout.v1[m] = {c == "systemd" ? "name=systemd" : c};
        make_cgroup(m, v1_files(c));
      }
    }
    if (with_v2) {
      layout.unified = dir_ / "unified";
      layout.unified_controllers = v2_controllers;
      make_cgroup(layout.unified, v2_files());
      std::string all;
      for (auto& c : v2_controllers) all += c + " ";
      put_file(layout.unified + "/cgroup.controllers", all);
      // Unified mode: the parents already hand everything down.
      if (!with_v1) put_file(layout.unified + kRel + "/cgroup.controllers", all);
    }
    layout.mode = with_v1 ? (with_v2 ? Mode::Hybrid : Mode::Legacy) : Mode::Unified;
  }

  std::string v1(const std::string& c, const std::string& file) const {
    return dir_ / c + kRel + "/" + file;
  }
  std::string v2(const std::string& file) const { return layout.unified + kRel + "/" + file; }
  std::string read_v1(const std::string& c, const std::string& file) const {
    return slurp(v1(c, file));
  }
  std::string read_v2(const std::string& file) const { return slurp(v2(file)); }
  Cgroup open() const { return Cgroup::open(layout, kRel); }

  Layout layout;

 private:
  static std::vector<std::string> v1_files(const std::string& c) {
    if (c == "cpu")
      return {"cpu.shares",       "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.cfs_burst_us",
              "cpu.rt_period_us", "cpu.rt_runtime_us", "cpu.idle",         "cpu.stat"};
    if (c == "cpuacct")
      return {"cpuacct.usage", "cpuacct.usage_percpu", "cpuacct.usage_percpu_sys",
              "cpuacct.usage_percpu_user", "cpuacct.stat"};
    if (c == "cpuset") return {"cpuset.cpus", "cpuset.mems"};
    if (c == "memory")
      return {"memory.limit_in_bytes",
              "memory.memsw.limit_in_bytes",
              "memory.soft_limit_in_bytes",
              "memory.swappiness",
              "memory.oom_control",
              "memory.use_hierarchy",
              "memory.kmem.limit_in_bytes",
              "memory.kmem.tcp.limit_in_bytes",
              "memory.usage_in_bytes",
              "memory.max_usage_in_bytes",
              "memory.failcnt",
              "memory.stat",
              "memory.memsw.usage_in_bytes",
              "memory.memsw.max_usage_in_bytes",
              "memory.memsw.failcnt"};
    if (c == "devices") return {"devices.allow", "devices.deny"};
    if (c == "freezer") return {"freezer.state"};
    if (c == "blkio")
      return {"blkio.bfq.weight",
              "blkio.bfq.weight_device",
              "blkio.leaf_weight",
              "blkio.leaf_weight_device",
              "blkio.throttle.read_bps_device",
              "blkio.throttle.write_bps_device",
              "blkio.throttle.read_iops_device",
              "blkio.throttle.write_iops_device",
              "blkio.throttle.io_service_bytes_recursive",
              "blkio.throttle.io_serviced_recursive"};
    if (c == "pids") return {"pids.max", "pids.current"};
    if (c == "hugetlb") return {"hugetlb.2MB.limit_in_bytes", "hugetlb.2MB.rsvd.limit_in_bytes"};
    if (c == "net_cls") return {"net_cls.classid"};
    if (c == "net_prio") return {"net_prio.ifpriomap"};
    return {};
  }
  static std::vector<std::string> v2_files() {
    return {"memory.max",     "memory.swap.max", "memory.low",        "memory.high",
            "memory.current", "memory.stat",     "memory.events",     "cpu.weight",
            "cpu.max",        "cpu.max.burst",   "cpu.idle",          "cpu.stat",
            "cpuset.cpus",    "cpuset.mems",     "pids.max",          "pids.current",
            "io.weight",      "io.max",          "io.stat",           "hugetlb.2MB.max",
            "cgroup.freeze",  "cgroup.events",   "cgroup.controllers"};
  }
  void make_cgroup(const std::string& mount, const std::vector<std::string>& files) {
    std::string cur = mount;
    ::mkdir(cur.c_str(), 0755);
    put_file(cur + "/cgroup.procs");
    put_file(cur + "/cgroup.subtree_control");
    std::stringstream rel(kRel);
    for (std::string part; std::getline(rel, part, '/');) {
      if (part.empty()) continue;
      cur += "/" + part;
      ::mkdir(cur.c_str(), 0755);
      put_file(cur + "/cgroup.procs");
      put_file(cur + "/cgroup.subtree_control");
    }
    for (auto& f : files) put_file(cur + "/" + f);
  }

  test::TempDir dir_;
};

// Records the v2 device programs instead of loading them.
struct RecordDevicePrograms {
  RecordDevicePrograms() {
    internal::set_device_filter_installer(
        [this](const std::string& dir, const std::vector<bpf_insn>& p) {
          calls.emplace_back(dir, p.size());
          return Result<void>();
        });
  }
  ~RecordDevicePrograms() { internal::set_device_filter_installer(nullptr); }
  std::vector<std::pair<std::string, size_t>> calls;
};

oci::Resources everything() {
  oci::Resources r;
  oci::DeviceRule deny_all;
  deny_all.access = "rwm";
  oci::DeviceRule kmsg;
  kmsg.allow = true;
  kmsg.type = "c";
  kmsg.major = 1;
  kmsg.minor = 11;
  kmsg.access = "r";
  r.devices = {deny_all, kmsg};
  oci::Memory m;
  m.limit = 100 << 20;
  m.reservation = 50 << 20;
  m.swap = 300 << 20;
  m.swappiness = 10;
  m.disable_oom_killer = true;
  m.use_hierarchy = true;
  r.memory = m;
  oci::Cpu c;
  c.shares = 512;
  c.quota = 20000;
  c.period = 100000;
  c.burst = 1000;
  c.realtime_runtime = 950;
  c.realtime_period = 1000;
  c.cpus = "0";
  c.mems = "0";
  c.idle = 0;
  r.cpu = c;
  r.pids_limit = 64;
  oci::BlockIO b;
  b.weight = 500;
  b.leaf_weight = 300;
  oci::WeightDevice wd;
  wd.major = 8;
  wd.minor = 0;
  wd.weight = 200;
  wd.leaf_weight = 100;
  b.weight_device = {wd};
  b.throttle_read_bps_device = {{8, 0, 1048576}};
  b.throttle_write_bps_device = {{8, 0, 2097152}};
  b.throttle_read_iops_device = {{8, 0, 100}};
  b.throttle_write_iops_device = {{8, 16, 0}};
  r.block_io = b;
  r.hugepage_limits = {{"2MB", 4194304}};
  oci::Network n;
  n.class_id = 0x100001;
  n.priorities = {{"eth0", 5}};
  r.network = n;
  return r;
}

TEST(FakeV1, EveryResourceField) {
  FakeHost h(true, false);
  Cgroup cg = h.open();
  auto r = cg.apply(everything());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(h.read_v1("memory", "memory.limit_in_bytes"), "104857600");
  EXPECT_EQ(h.read_v1("memory", "memory.memsw.limit_in_bytes"),
            "314572800");  // memory+swap, as given
  EXPECT_EQ(h.read_v1("memory", "memory.soft_limit_in_bytes"), "52428800");
  EXPECT_EQ(h.read_v1("memory", "memory.swappiness"), "10");
  EXPECT_EQ(h.read_v1("memory", "memory.oom_control"), "1");
  EXPECT_EQ(h.read_v1("memory", "memory.use_hierarchy"), "1");
  EXPECT_EQ(h.read_v1("cpu", "cpu.shares"), "512");
  EXPECT_EQ(h.read_v1("cpu", "cpu.cfs_quota_us"), "20000");
  EXPECT_EQ(h.read_v1("cpu", "cpu.cfs_period_us"), "100000");
  EXPECT_EQ(h.read_v1("cpu", "cpu.cfs_burst_us"), "1000");
  EXPECT_EQ(h.read_v1("cpu", "cpu.rt_runtime_us"), "950");
  EXPECT_EQ(h.read_v1("cpu", "cpu.rt_period_us"), "1000");
  EXPECT_EQ(h.read_v1("cpu", "cpu.idle"), "0");
  EXPECT_EQ(h.read_v1("cpuset", "cpuset.cpus"), "0");
  EXPECT_EQ(h.read_v1("cpuset", "cpuset.mems"), "0");
  EXPECT_EQ(h.read_v1("pids", "pids.max"), "64");
  EXPECT_EQ(h.read_v1("blkio", "blkio.bfq.weight"), "500");  // native units on v1
  EXPECT_EQ(h.read_v1("blkio", "blkio.leaf_weight"), "300");
  EXPECT_EQ(h.read_v1("blkio", "blkio.bfq.weight_device"), "8:0 200");
  EXPECT_EQ(h.read_v1("blkio", "blkio.leaf_weight_device"), "8:0 100");
  EXPECT_EQ(h.read_v1("blkio", "blkio.throttle.read_bps_device"), "8:0 1048576");
  EXPECT_EQ(h.read_v1("blkio", "blkio.throttle.write_bps_device"), "8:0 2097152");
  EXPECT_EQ(h.read_v1("blkio", "blkio.throttle.read_iops_device"), "8:0 100");
  EXPECT_EQ(h.read_v1("blkio", "blkio.throttle.write_iops_device"), "8:16 0");
  EXPECT_EQ(h.read_v1("hugetlb", "hugetlb.2MB.limit_in_bytes"), "4194304");
  EXPECT_EQ(h.read_v1("hugetlb", "hugetlb.2MB.rsvd.limit_in_bytes"), "4194304");
  EXPECT_EQ(h.read_v1("net_cls", "net_cls.classid"), "1048577");
  EXPECT_EQ(h.read_v1("net_prio", "net_prio.ifpriomap"), "eth0 5");
  // Each write replaces the fake file: the last of each kind is what is left.
  EXPECT_EQ(h.read_v1("devices", "devices.deny"), "a");
  EXPECT_EQ(h.read_v1("devices", "devices.allow"), "c 5:2 rwm");  // the last default rule
  EXPECT_EQ(h.read_v1("memory", "memory.kmem.limit_in_bytes"), "");
}

TEST(FakeV1, BlkioWeightFileWithoutBfq) {
  FakeHost h(true, false);
  ::unlink(h.v1("blkio", "blkio.bfq.weight").c_str());
  put_file(h.v1("blkio", "blkio.weight"));
  oci::Resources r;
  r.block_io = oci::BlockIO{};
  r.block_io->weight = 700;
  ASSERT_TRUE(h.open().apply(r, true).ok());
  EXPECT_EQ(h.read_v1("blkio", "blkio.weight"), "700");
}

TEST(FakeV1, KernelMemoryIsIgnored) {
  FakeHost h(true, false);
  oci::Resources r;
  r.memory = oci::Memory{};
  r.memory->kernel = 1 << 20;
  r.memory->kernel_tcp = 1 << 20;
  auto res = h.open().apply(r, true);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(h.read_v1("memory", "memory.kmem.limit_in_bytes"), "");
  EXPECT_EQ(h.read_v1("memory", "memory.kmem.tcp.limit_in_bytes"), "");
}

TEST(FakeV1, UnlimitedMemoryMakesSwapUnlimitedToo) {
  FakeHost h(true, false);
  oci::Resources r;
  r.memory = oci::Memory{};
  r.memory->limit = -1;
  ASSERT_TRUE(h.open().apply(r, true).ok());
  EXPECT_EQ(h.read_v1("memory", "memory.limit_in_bytes"), "-1");
  EXPECT_EQ(h.read_v1("memory", "memory.memsw.limit_in_bytes"), "-1");
}

TEST(FakeV1, ZeroMeansUnsetAsInRunc) {
  FakeHost h(true, false);
  oci::Resources r;
  r.memory = oci::Memory{};
  r.memory->limit = 0;
  r.cpu = oci::Cpu{};
  r.cpu->shares = 0;
  r.cpu->quota = 0;
  r.cpu->period = 0;
  auto res = h.open().apply(r, true);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(h.read_v1("memory", "memory.limit_in_bytes"), "");
  EXPECT_EQ(h.read_v1("cpu", "cpu.shares"), "");
  EXPECT_EQ(h.read_v1("cpu", "cpu.cfs_quota_us"), "");
  EXPECT_EQ(h.read_v1("cpu", "cpu.cfs_period_us"), "");
}

TEST(FakeV1, ErrorsNameTheField) {
  FakeHost h(true, false);
  ::unlink(h.v1("memory", "memory.limit_in_bytes").c_str());
  oci::Resources r;
  r.memory = oci::Memory{};
  r.memory->limit = 1 << 20;
  auto res = h.open().apply(r, true);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().message,
            "linux.resources.memory.limit: write memory.limit_in_bytes: No such file or directory");
  EXPECT_EQ(res.error().code, ENOENT);

  oci::Resources s;
  s.memory = oci::Memory{};
  s.memory->swappiness = 101;
  res = h.open().apply(s, true);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().message, "linux.resources.memory.swappiness: 101 is outside 0-100");

  oci::Resources d;
  oci::DeviceRule bad;
  bad.type = "x";
  d.devices = {bad};
  res = h.open().apply(d, true);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().message, "linux.resources.devices[0].type: \"x\" is not a, c or b");
}

TEST(FakeV1, SwapWithoutSwapAccounting) {
  FakeHost h(true, false);
  ::unlink(h.v1("memory", "memory.memsw.limit_in_bytes").c_str());
  oci::Resources r;
  r.memory = oci::Memory{};
  r.memory->limit = 1 << 20;
  r.memory->swap = 2 << 20;
  auto res = h.open().apply(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().message,
            "linux.resources.memory.swap: swap accounting is off on this host (no "
            "memory.memsw.limit_in_bytes)");
}

TEST(FakeV1, MissingControllerIsAnErrorOnlyWhenTheFieldIsSet) {
  FakeHost h(true, false, {}, {"net_cls", "net_prio", "hugetlb"});
  oci::Resources r;
  r.pids_limit = 5;
  ASSERT_TRUE(h.open().apply(r).ok());  // nothing asks for net_cls
  r.network = oci::Network{};
  r.network->class_id = 7;
  auto res = h.open().apply(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().message,
            "linux.resources.network.classID: no net_cls controller on this host (cgroup v1 only)");
  oci::Resources p;
  p.network = oci::Network{};
  p.network->priorities = {{"lo", 1}};
  res = h.open().apply(p, true);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(
      res.error().message,
      "linux.resources.network.priorities: no net_prio controller on this host (cgroup v1 only)");
  oci::Resources hp;
  hp.hugepage_limits = {{"2MB", 1}};
  res = h.open().apply(hp, true);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().message,
            "linux.resources.hugepageLimits[0]: no hugetlb controller on this host");
}

TEST(FakeV1, UnifiedNeedsV2) {
  FakeHost h(true, false);
  oci::Resources r;
  r.unified = {{"memory.high", "1G"}};
  auto res = h.open().apply(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().message, "linux.resources.unified: cgroup v2 is not mounted on this host");
}

TEST(FakeV1, UpdateChangesOnlyThePresentFields) {
  FakeHost h(true, false);
  Cgroup cg = h.open();
  ASSERT_TRUE(cg.apply(everything()).ok());
  put_file(h.v1("devices", "devices.allow"), "untouched");
  oci::Resources u;
  u.memory = oci::Memory{};
  u.memory->limit = 200 << 20;
  auto res = cg.apply(u, true);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(h.read_v1("memory", "memory.limit_in_bytes"), "209715200");
  EXPECT_EQ(h.read_v1("memory", "memory.memsw.limit_in_bytes"), "314572800");
  EXPECT_EQ(h.read_v1("memory", "memory.soft_limit_in_bytes"), "52428800");
  EXPECT_EQ(h.read_v1("pids", "pids.max"), "64");
  EXPECT_EQ(h.read_v1("cpu", "cpu.cfs_quota_us"), "20000");
  EXPECT_EQ(h.read_v1("devices", "devices.allow"), "untouched");

  // Not an update: the device rules are always (re)written.
  ASSERT_TRUE(cg.apply(oci::Resources{}).ok());
  EXPECT_EQ(h.read_v1("devices", "devices.allow"), "c 5:2 rwm");
}

TEST(FakeV1, CheckBeforeUpdateRefusesALimitBelowUsage) {
  FakeHost h(true, false);
  put_file(h.v1("memory", "memory.usage_in_bytes"), "5000000\n");
  oci::Resources u;
  u.memory = oci::Memory{};
  u.memory->limit = 1000000;
  u.memory->check_before_update = true;
  auto res = h.open().apply(u, true);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().message,
            "linux.resources.memory.limit: 1000000 is below the current usage 5000000 "
            "(checkBeforeUpdate)");
  EXPECT_EQ(h.read_v1("memory", "memory.limit_in_bytes"), "");
}

TEST(FakeV2, EveryResourceField) {
  FakeHost h(false, true, {"cpuset", "cpu", "io", "memory", "hugetlb", "pids"});
  RecordDevicePrograms rec;
  Cgroup cg = h.open();
  auto r = everything();
  r.network.reset();                // v1 only
  r.cpu->realtime_runtime.reset();  // v1 only
  r.cpu->realtime_period.reset();
  r.memory->swappiness.reset();  // warned about and ignored; checked below
  r.unified = {{"memory.high", "80000000"}};
  auto res = cg.apply(r);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(h.read_v2("memory.max"), "104857600");
  EXPECT_EQ(h.read_v2("memory.swap.max"), "209715200");  // (memory+swap) - memory
  EXPECT_EQ(h.read_v2("memory.low"), "52428800");
  EXPECT_EQ(h.read_v2("memory.high"), "80000000");
  EXPECT_EQ(h.read_v2("cpu.weight"), "20");  // 1 + (512-2)*9999/262142
  EXPECT_EQ(h.read_v2("cpu.max"), "20000 100000");
  EXPECT_EQ(h.read_v2("cpu.max.burst"), "1000");
  EXPECT_EQ(h.read_v2("cpu.idle"), "0");
  EXPECT_EQ(h.read_v2("cpuset.cpus"), "0");
  EXPECT_EQ(h.read_v2("cpuset.mems"), "0");
  EXPECT_EQ(h.read_v2("pids.max"), "64");
  EXPECT_EQ(h.read_v2("io.weight"),
            "8:0 1920");  // the last write: the device weight 200, converted
  EXPECT_EQ(h.read_v2("io.max"), "8:16 wiops=max");  // the last throttle; 0 means no limit
  EXPECT_EQ(h.read_v2("hugetlb.2MB.max"), "4194304");
  ASSERT_EQ(rec.calls.size(), 1u);
  EXPECT_EQ(rec.calls[0].first, h.layout.unified + kRel);
  EXPECT_GT(rec.calls[0].second, 20u);

  oci::Resources w;
  w.block_io = oci::BlockIO{};
  w.block_io->weight = 500;
  w.block_io->throttle_read_bps_device = {{8, 0, 1048576}};
  ASSERT_TRUE(cg.apply(w, true).ok());
  EXPECT_EQ(h.read_v2("io.weight"), "4950");
  EXPECT_EQ(h.read_v2("io.max"), "8:0 rbps=1048576");
}

TEST(FakeV2, UnlimitedValuesAreMax) {
  FakeHost h(false, true, {"cpu", "memory", "pids"});
  oci::Resources r;
  r.memory = oci::Memory{};
  r.memory->limit = -1;
  r.cpu = oci::Cpu{};
  r.cpu->quota = -1;
  r.pids_limit = 0;
  ASSERT_TRUE(h.open().apply(r, true).ok());
  EXPECT_EQ(h.read_v2("memory.max"), "max");
  EXPECT_EQ(h.read_v2("memory.swap.max"), "max");
  EXPECT_EQ(h.read_v2("cpu.max"), "max");
  EXPECT_EQ(h.read_v2("pids.max"), "max");
}

TEST(FakeV2, UpdateKeepsWhatIsNotGiven) {
  FakeHost h(false, true, {"cpu", "memory", "pids"});
  RecordDevicePrograms rec;
  Cgroup cg = h.open();
  put_file(h.v2("cpu.max"), "30000 100000\n");
  put_file(h.v2("memory.max"), "104857600\n");
  put_file(h.v2("pids.max"), "9\n");
  oci::Resources u;
  u.cpu = oci::Cpu{};
  u.cpu->period = 50000;
  u.memory = oci::Memory{};
  u.memory->swap = 150 << 20;  // memory+swap with the current memory.max
  auto res = cg.apply(u, true);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(h.read_v2("cpu.max"), "30000 50000");
  EXPECT_EQ(h.read_v2("memory.swap.max"), "52428800");
  EXPECT_EQ(h.read_v2("memory.max"), "104857600\n");
  EXPECT_EQ(h.read_v2("pids.max"), "9\n");
  EXPECT_TRUE(rec.calls.empty());  // no device rules given: the program stays
}

TEST(FakeV2, ErrorsNameTheField) {
  FakeHost h(false, true, {"cpu", "memory"});
  RecordDevicePrograms rec;
  Cgroup cg = h.open();
  oci::Resources r;
  r.cpu = oci::Cpu{};
  r.cpu->realtime_runtime = 1000;
  auto res = cg.apply(r, true);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().message,
            "linux.resources.cpu.realtimeRuntime: cgroup v2 has no realtime cpu limits");

  oci::Resources p;
  p.pids_limit = 3;  // pids is not in cgroup.controllers
  res = cg.apply(p, true);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().message, "linux.resources.pids.limit: no pids controller on this host");

  oci::Resources s;
  s.memory = oci::Memory{};
  s.memory->limit = 100;
  s.memory->swap = 50;
  res = cg.apply(s, true);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().message,
            "linux.resources.memory.swap: memory+swap 50 is below the memory limit 100");

  oci::Resources u;
  u.unified = {{"../../etc/passwd", "x"}};
  res = cg.apply(u, true);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().message,
            "linux.resources.unified.../../etc/passwd: not a cgroup file name");
  u.unified = {{"io.latency", "x"}};
  res = cg.apply(u, true);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().message,
            "linux.resources.unified.io.latency: no such file in the v2 cgroup (is the io "
            "controller there?)");

  rec.calls.clear();
  internal::set_device_filter_installer(
      [](const std::string&, const std::vector<bpf_insn>&) -> Result<void> {
        return code_error(EPERM, "attach the device program");
      });
  res = cg.apply(oci::Resources{});
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().message,
            "linux.resources.devices: attach the device program: Operation not permitted");
}

TEST(FakeHybrid, V1FirstV2ForWhatOnlyV2Has) {
  FakeHost h(true, true, {"hugetlb"}, {"hugetlb"});
  Cgroup cg = h.open();
  oci::Resources r;
  r.memory = oci::Memory{};
  r.memory->limit = 1 << 20;
  r.hugepage_limits = {{"2MB", 2097152}};
  r.unified = {{"memory.high", "5"}};  // memory is v1's here: no such file in v2
  ::unlink(h.v2("memory.high").c_str());
  auto res = cg.apply(r, true);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().message,
            "linux.resources.unified.memory.high: no such file in the v2 cgroup (is the memory "
            "controller there?)");
  r.unified.clear();
  res = cg.apply(r, true);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(h.read_v1("memory", "memory.limit_in_bytes"), "1048576");
  EXPECT_EQ(h.read_v2("memory.max"), "");
  EXPECT_EQ(h.read_v2("hugetlb.2MB.max"), "2097152");
  // hugetlb was handed down from the v2 root to the cgroup.
  EXPECT_EQ(slurp(h.layout.unified + "/cgroup.subtree_control"), "+hugetlb");
  EXPECT_EQ(slurp(h.layout.unified + "/berth-test/cgroup.subtree_control"), "+hugetlb");
  // Devices go to v1 in hybrid mode.
  RecordDevicePrograms rec;
  ASSERT_TRUE(cg.apply(oci::Resources{}).ok());
  EXPECT_TRUE(rec.calls.empty());
  EXPECT_EQ(h.read_v1("devices", "devices.deny"), "a");
}

TEST(FakeTree, CpusetIsCopiedFromTheParent) {
  test::TempDir d("berth-test-cpuset");
  put_file(d / "cpuset.cpus", "0-3\n");
  put_file(d / "cpuset.mems", "0\n");
  ::mkdir((d / "c").c_str(), 0755);
  put_file(d / "c/cpuset.cpus", "\n");
  put_file(d / "c/cpuset.mems", "0\n");
  auto r = internal::init_cpuset(d / "c");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(slurp(d / "c/cpuset.cpus"), "0-3");
  EXPECT_EQ(slurp(d / "c/cpuset.mems"), "0\n");  // already set: left alone
}

// Starts run in parallel: one may find the manager's /berth cpuset made by
// another that has not yet copied the parent's cpus and mems into it. create
// fills every level on its path, or the container's own would copy them
// empty and take no task (ENOSPC on joining).
TEST(FakeTree, CpusetOfAParentMadeByAnotherStartIsFilledToo) {
  test::TempDir d("berth-test-cpuset-race");
  Layout l;
  l.mode = Mode::Legacy;
  std::string m = d / "cpuset";
  l.v1[m] = {"cpuset"};
  ::mkdir(m.c_str(), 0755);
  put_file(m + "/cpuset.cpus", "0-1\n");
  put_file(m + "/cpuset.mems", "0\n");
  // /berth as the other start left it: made, not filled yet; and our own.
  for (auto* sub : {"/berth", "/berth/c"}) {
    ::mkdir((m + sub).c_str(), 0755);
    put_file(m + sub + "/cpuset.cpus", "\n");
    put_file(m + sub + "/cpuset.mems", "\n");
  }
  auto cg = Cgroup::create(l, "/berth/c", "ignored");
  ASSERT_TRUE(cg.ok()) << cg.error().message;
  EXPECT_EQ(slurp(m + "/berth/cpuset.cpus"), "0-1");
  EXPECT_EQ(slurp(m + "/berth/cpuset.mems"), "0");
  EXPECT_EQ(slurp(m + "/berth/c/cpuset.cpus"), "0-1");
  EXPECT_EQ(slurp(m + "/berth/c/cpuset.mems"), "0");
}

TEST(FakeTree, CreateMakesEveryLevelAndDestroyRemovesThem) {
  test::TempDir d("berth-test-cgcreate");
  Layout l;
  l.mode = Mode::Hybrid;
  l.v1[d / "systemd"] = {"name=systemd"};
  l.v1[d / "pids"] = {"pids"};
  l.unified = d / "unified";
  for (auto& m : {"systemd", "pids", "unified"}) ::mkdir((d / m).c_str(), 0755);
  auto cg = Cgroup::create(l, "/berth-test/a/b", "ignored");
  ASSERT_TRUE(cg.ok()) << cg.error().message;
  EXPECT_EQ(cg->relative(), "/berth-test/a/b");
  for (auto& m : {"systemd", "pids", "unified"}) {
    struct stat st;
    EXPECT_EQ(::stat((d / m + "/berth-test/a/b").c_str(), &st), 0) << m;
    EXPECT_EQ(cg->paths().at(d / m), d / m + "/berth-test/a/b");
  }
  ::mkdir((d / "pids/berth-test/a/b/child").c_str(), 0755);  // a nested cgroup the container made
  auto r = cg->destroy();
  ASSERT_TRUE(r.ok()) << r.error().message;
  for (auto& m : {"systemd", "pids", "unified"}) {
    EXPECT_EQ(::access((d / m + "/berth-test/a/b").c_str(), F_OK), -1) << m;
    EXPECT_EQ(::access((d / m + "/berth-test/a").c_str(), F_OK), 0) << m << ": parents stay";
  }
  // Destroying again is not an error.
  EXPECT_TRUE(cg->destroy().ok());
}

TEST(FakeTree, JoinSelfV1WritesZeroToTasksAndLeavesV2ToClone3) {
  FakeHost h(true, true, {});
  put_file(h.v1("memory", "tasks"));
  put_file(h.v1("systemd", "tasks"));
  for (auto c : {"cpu", "cpuacct", "cpuset", "devices", "freezer", "blkio", "pids", "hugetlb",
                 "net_cls", "net_prio"})
    put_file(h.v1(c, "tasks"));
  put_file(h.v2("cgroup.procs"));
  auto cg = h.open();
  EXPECT_TRUE(cg.has_v1());
  auto r = cg.join_self_v1();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(h.read_v1("memory", "tasks"), "0");
  EXPECT_EQ(h.read_v1("systemd", "tasks"), "0");
  EXPECT_EQ(h.read_v2("cgroup.procs"), "");  // clone3(CLONE_INTO_CGROUP) does that one
  EXPECT_EQ(h.read_v1("memory", "cgroup.procs"), "");
}

TEST(FakeTree, PidsAreTheUnionOverHierarchies) {
  FakeHost h(true, true, {});
  put_file(h.v1("memory", "cgroup.procs"), "10\n12\n");
  put_file(h.v1("pids", "cgroup.procs"), "12\n14\n");
  put_file(h.v2("cgroup.procs"), "10\n");
  auto p = h.open().pids();
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(*p, (std::vector<pid_t>{10, 12, 14}));
}

TEST(FakeTree, FreezeWritesTheFreezerFiles) {
  FakeHost v1(true, false);
  Cgroup a = v1.open();
  ASSERT_TRUE(a.freeze().ok());  // the fake reads back FROZEN at once
  EXPECT_EQ(v1.read_v1("freezer", "freezer.state"), "FROZEN");
  EXPECT_TRUE(*a.frozen());
  ASSERT_TRUE(a.thaw().ok());
  EXPECT_FALSE(*a.frozen());

  FakeHost v2(false, true, {});
  put_file(v2.v2("cgroup.events"), "populated 1\nfrozen 1\n");
  Cgroup b = v2.open();
  ASSERT_TRUE(b.freeze().ok());
  EXPECT_EQ(v2.read_v2("cgroup.freeze"), "1");
  EXPECT_TRUE(*b.frozen());
  ASSERT_TRUE(b.thaw().ok());
  EXPECT_EQ(v2.read_v2("cgroup.freeze"), "0");
  EXPECT_FALSE(*b.frozen());
}

TEST(FakeTree, StatsV1) {
  FakeHost h(true, false);
  put_file(h.v1("cpuacct", "cpuacct.usage"), "5000\n");
  put_file(h.v1("cpuacct", "cpuacct.usage_percpu"), "3000 2000 \n");
  put_file(h.v1("cpuacct", "cpuacct.stat"), "user 3\nsystem 1\n");
  put_file(h.v1("cpu", "cpu.stat"), "nr_periods 10\nnr_throttled 4\nthrottled_time 12345\n");
  put_file(h.v1("memory", "memory.usage_in_bytes"), "4096\n");
  put_file(h.v1("memory", "memory.limit_in_bytes"), "8192\n");
  put_file(h.v1("memory", "memory.failcnt"), "2\n");
  put_file(h.v1("memory", "memory.stat"), "cache 100\nrss 200\n");
  put_file(h.v1("memory", "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
  put_file(h.v1("pids", "pids.current"), "7\n");
  put_file(h.v1("pids", "pids.max"), "max\n");
  put_file(h.v1("blkio", "blkio.throttle.io_service_bytes_recursive"),
           "8:0 Read 1024\n8:0 Write 2048\n8:0 Total 3072\nTotal 3072\n");
  auto s = h.open().stats();
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto& j = *s;
  EXPECT_EQ(j["cpu"]["usage"]["total"], 5000);
  EXPECT_EQ(j["cpu"]["usage"]["percpu"], nlohmann::json({3000, 2000}));
  EXPECT_EQ(j["cpu"]["usage"]["user"], 3 * (1000000000 / sysconf(_SC_CLK_TCK)));
  EXPECT_EQ(j["cpu"]["throttling"]["periods"], 10);
  EXPECT_EQ(j["cpu"]["throttling"]["throttledPeriods"], 4);
  EXPECT_EQ(j["cpu"]["throttling"]["throttledTime"], 12345);
  EXPECT_EQ(j["memory"]["usage"]["usage"], 4096);
  EXPECT_EQ(j["memory"]["usage"]["limit"], 8192);
  EXPECT_EQ(j["memory"]["usage"]["failcnt"], 2);
  EXPECT_EQ(j["memory"]["cache"], 100);
  EXPECT_EQ(j["memory"]["raw"]["rss"], 200);
  EXPECT_EQ(j["memory"]["oom_kill"], 3);
  EXPECT_TRUE(j["memory"].contains("swap"));
  EXPECT_EQ(j["pids"]["current"], 7);
  EXPECT_EQ(j["pids"]["limit"], 0);
  ASSERT_EQ(j["blkio"]["ioServiceBytesRecursive"].size(), 3u);
  EXPECT_EQ(j["blkio"]["ioServiceBytesRecursive"][1],
            nlohmann::json({{"major", 8}, {"minor", 0}, {"op", "Write"}, {"value", 2048}}));
}

TEST(FakeTree, StatsV2) {
  FakeHost h(false, true, {"cpu", "memory", "pids", "io"});
  put_file(h.v2("cpu.stat"),
           "usage_usec 50\nuser_usec 30\nsystem_usec 20\nnr_periods 9\nnr_throttled "
           "5\nthrottled_usec 7\n");
  put_file(h.v2("memory.current"), "4096\n");
  put_file(h.v2("memory.max"), "max\n");
  put_file(h.v2("memory.stat"), "anon 10\nfile 20\n");
  put_file(h.v2("memory.events"), "low 0\nhigh 0\nmax 6\noom 2\noom_kill 1\n");
  put_file(h.v2("pids.current"), "3\n");
  put_file(h.v2("pids.max"), "20\n");
  put_file(h.v2("io.stat"), "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n");
  auto s = h.open().stats();
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto& j = *s;
  EXPECT_EQ(j["cpu"]["usage"]["total"], 50000);
  EXPECT_EQ(j["cpu"]["usage"]["kernel"], 20000);
  EXPECT_EQ(j["cpu"]["throttling"]["throttledPeriods"], 5);
  EXPECT_EQ(j["cpu"]["throttling"]["throttledTime"], 7000);
  EXPECT_EQ(j["memory"]["usage"]["usage"], 4096);
  EXPECT_EQ(j["memory"]["usage"]["limit"], UINT64_MAX);
  EXPECT_EQ(j["memory"]["usage"]["failcnt"], 6);
  EXPECT_EQ(j["memory"]["cache"], 20);
  EXPECT_EQ(j["memory"]["oom_kill"], 1);
  EXPECT_EQ(j["pids"]["limit"], 20);
  EXPECT_EQ(j["blkio"]["ioServiceBytesRecursive"][0]["op"], "Read");
  EXPECT_EQ(j["blkio"]["ioServiceBytesRecursive"][1]["value"], 200);
  EXPECT_EQ(j["blkio"]["ioServicedRecursive"][1]["value"], 2);
}

TEST(FakeTree, StatsOfAMissingCgroupIsAnError) {
  Layout l;
  l.unified = "/nonexistent-berth-test";
  auto s = Cgroup::open(l, "/x").stats();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "stats: cgroup /x does not exist");
}

}  // namespace
}  // namespace berth::cgroup
