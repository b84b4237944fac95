// Which cgroup files get which values, in which order, for a given
// linux.resources on v1, v2 and hybrid layouts: Cgroup::apply through a
// recording cgroup::Files. No cgroup tree, no root.
#include <gtest/gtest.h>

#include "cgroup/cgroup.h"
#include "cgroup/cgroup_internal.h"

namespace berth::cgroup {
namespace {

using V = std::vector<std::string>;

// Files that exist (with their contents); writes are recorded as
// "path=value" (a failed one as "! path=value") and stored.
class FakeFiles : public Files {
 public:
  void add(const std::string& dir, const V& files, const std::string& content = "") {
    for (auto& f : files) content_[dir + "/" + f] = content;
  }
  void set(const std::string& path, const std::string& content) { content_[path] = content; }
  // The next `times` writes to path fail with err.
  void fail(const std::string& path, int err, int times) { fail_[path] = {err, times}; }
  // The kernel stores `stored` whatever is written to path.
  void clamp(const std::string& path, const std::string& stored) { clamp_[path] = stored; }

  Result<void> write(const std::string& path, const std::string& value) override {
    if (auto it = fail_.find(path); it != fail_.end() && it->second.second != 0) {
      it->second.second--;
      writes.push_back("! " + path + "=" + value);
      return Error{it->second.first, "refused"};
    }
    if (!content_.count(path)) return Error{ENOENT, "no such file " + path};
    writes.push_back(path + "=" + value);
    content_[path] = clamp_.count(path) ? clamp_[path] : value;
    return ok();
  }
  Result<std::string> read(const std::string& path) override {
    auto it = content_.find(path);
    if (it == content_.end()) return Error{ENOENT, "no such file " + path};
    return internal::trim(it->second);
  }
  bool exists(const std::string& path) override { return content_.count(path) != 0; }

  // The writes to files whose name starts with one of the prefixes.
  V only(std::initializer_list<const char*> names) const {
    V out;
    for (auto& w : writes) {
      std::string file = w.substr(w.find_last_of('/', w.find('=')) + 1);
      for (auto* n : names)
        if (file.rfind(n, 0) == 0) {
          out.push_back(w);
          break;
        }
    }
    return out;
  }

  V writes;

 private:
  std::map<std::string, std::string> content_;
  std::map<std::string, std::pair<int, int>> fail_;
  std::map<std::string, std::string> clamp_;
};

// A v1 host: one hierarchy per controller under /cg, the cgroup /c1.
struct V1Host {
  V1Host() {
    for (std::string c :
         {"cpuset", "devices", "memory", "cpu", "pids", "blkio", "hugetlb", "net_cls", "net_prio"})
      layout.v1["/cg/" + c] = {c};
    layout.mode = Mode::Legacy;
    files.add("/cg/cpuset/c1", {"cpuset.cpus", "cpuset.mems"});
    files.add("/cg/devices/c1", {"devices.allow", "devices.deny"});
    files.add("/cg/memory/c1", {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
                                "memory.soft_limit_in_bytes", "memory.swappiness"});
    files.add("/cg/cpu/c1", {"cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us"});
    files.add("/cg/pids/c1", {"pids.max"});
    files.add("/cg/blkio/c1", {"blkio.weight", "blkio.throttle.read_bps_device"});
    files.add("/cg/hugetlb/c1", {"hugetlb.2MB.limit_in_bytes"});
    files.add("/cg/net_cls/c1", {"net_cls.classid"});
    files.add("/cg/net_prio/c1", {"net_prio.ifpriomap"});
  }
  Result<void> apply(const oci::Resources& r, bool update = false) {
    Cgroup cg = Cgroup::open(layout, "/c1");
    return cg.apply(r, update, files);
  }
  Layout layout;
  FakeFiles files;
};

oci::Resources everything() {
  oci::Resources r;
  r.cpu.emplace();
  r.cpu->cpus = "0-1";
  r.cpu->mems = "0";
  r.cpu->shares = 512;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.memory.emplace();
  r.memory->limit = 1 << 30;
  r.memory->swap = 2LL << 30;
  r.memory->swappiness = 10;
  r.pids_limit = 64;
  r.block_io.emplace();
  r.block_io->weight = 500;
  r.block_io->throttle_read_bps_device = {{8, 0, 1048576}};
  r.hugepage_limits = {{"2MB", 1 << 30}};
  r.network.emplace();
  r.network->class_id = 0x100001;
  r.network->priorities = {{"eth0", 5}};
  return r;
}

TEST(CgroupWrites, V1EveryControllerInItsHierarchyCpusetFirstDevicesDeniedFirst) {
  V1Host h;
  h.files.set("/cg/memory/c1/memory.limit_in_bytes", "9223372036854771712");
  ASSERT_TRUE(h.apply(everything()));
  V no_devices;
  for (auto& w : h.files.writes)
    if (w.find("/cg/devices/") != 0) no_devices.push_back(w);
  EXPECT_EQ(no_devices, (V{
                            "/cg/cpuset/c1/cpuset.cpus=0-1",
                            "/cg/cpuset/c1/cpuset.mems=0",
                            // Shrinking from unlimited: the limit, then memory+swap.
                            "/cg/memory/c1/memory.limit_in_bytes=1073741824",
                            "/cg/memory/c1/memory.memsw.limit_in_bytes=2147483648",
                            "/cg/memory/c1/memory.swappiness=10",
                            "/cg/cpu/c1/cpu.shares=512",
                            "/cg/cpu/c1/cpu.cfs_period_us=100000",
                            "/cg/cpu/c1/cpu.cfs_quota_us=50000",
                            "/cg/pids/c1/pids.max=64",
                            "/cg/blkio/c1/blkio.weight=500",
                            "/cg/blkio/c1/blkio.throttle.read_bps_device=8:0 1048576",
                            "/cg/hugetlb/c1/hugetlb.2MB.limit_in_bytes=1073741824",
                            "/cg/net_cls/c1/net_cls.classid=1048577",
                            "/cg/net_prio/c1/net_prio.ifpriomap=eth0 5",
                        }));
  // Devices right after cpuset: deny everything, then the default allow list.
  auto devices = h.files.only({"devices."});
  ASSERT_GT(devices.size(), 5u);
  EXPECT_EQ(devices[0], "/cg/devices/c1/devices.deny=a");
  EXPECT_EQ(h.files.writes[2], devices[0]);
  EXPECT_NE(std::find(devices.begin(), devices.end(), "/cg/devices/c1/devices.allow=c 1:3 rwm"),
            devices.end());
}

TEST(CgroupWrites, V1MemswGoesFirstWhenTheLimitsGrow) {
  V1Host h;
  h.files.set("/cg/memory/c1/memory.limit_in_bytes", "536870912");
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 1 << 30;
  r.memory->swap = 2LL << 30;
  ASSERT_TRUE(h.apply(r, true));
  EXPECT_EQ(h.files.writes, (V{"/cg/memory/c1/memory.memsw.limit_in_bytes=2147483648",
                               "/cg/memory/c1/memory.limit_in_bytes=1073741824"}));
}

TEST(CgroupWrites, V1PeriodRefusedUnderTheOldQuotaIsRetriedAfterTheNewQuota) {
  V1Host h;
  h.files.fail("/cg/cpu/c1/cpu.cfs_period_us", EINVAL, 1);
  oci::Resources r;
  r.cpu.emplace();
  r.cpu->quota = 5000;
  r.cpu->period = 10000;
  ASSERT_TRUE(h.apply(r, true));
  EXPECT_EQ(h.files.writes,
            (V{"! /cg/cpu/c1/cpu.cfs_period_us=10000", "/cg/cpu/c1/cpu.cfs_quota_us=5000",
               "/cg/cpu/c1/cpu.cfs_period_us=10000", "/cg/cpu/c1/cpu.cfs_quota_us=5000"}));
  // Another refusal is an error naming the field.
  V1Host other;
  other.files.fail("/cg/cpu/c1/cpu.cfs_period_us", EPERM, 1);
  auto e = other.apply(r, true);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message,
            "linux.resources.cpu.period: write cpu.cfs_period_us: Operation not permitted");
}

TEST(CgroupWrites, V1SharesTheKernelClampedAreAnError) {
  V1Host h;
  h.files.clamp("/cg/cpu/c1/cpu.shares", "262144");
  oci::Resources r;
  r.cpu.emplace();
  r.cpu->shares = 1000000;
  auto e = h.apply(r, true);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message,
            "linux.resources.cpu.shares: 1000000 is outside the range the kernel accepts (it set "
            "262144)");
}

TEST(CgroupWrites, UpdateWritesOnlyWhatIsGiven) {
  V1Host h;
  oci::Resources r;
  r.pids_limit = 0;  // unlimited
  ASSERT_TRUE(h.apply(r, true));
  EXPECT_EQ(h.files.writes, V{"/cg/pids/c1/pids.max=max"});
}

// A v2 host: /cg2 with the cgroup /c1, every controller but hugetlb enabled
// for it.
struct V2Host {
  V2Host() {
    layout.mode = Mode::Unified;
    layout.unified = "/cg2";
    layout.unified_controllers = {"cpuset", "cpu", "io", "memory", "pids", "hugetlb"};
    files.set("/cg2/cgroup.subtree_control", "cpuset cpu io memory pids");
    files.set("/cg2/c1/cgroup.controllers", "cpuset cpu io memory pids");
    files.add("/cg2/c1", {"cpuset.cpus", "cpuset.mems", "memory.max", "memory.swap.max",
                          "memory.low", "memory.high", "cpu.weight", "cpu.max", "pids.max",
                          "io.weight", "io.max", "hugetlb.2MB.max"});
    internal::set_device_filter_installer(
        [this](const std::string& dir, const std::vector<bpf_insn>& prog) -> Result<void> {
          files.writes.push_back(
              fmt::format("bpf device program on {} ({} insns)", dir, prog.size()));
          return ok();
        });
  }
  ~V2Host() { internal::set_device_filter_installer({}); }
  Result<void> apply(const oci::Resources& r, bool update = false) {
    Cgroup cg = Cgroup::open(layout, "/c1");
    return cg.apply(r, update, files);
  }
  Layout layout;
  FakeFiles files;
};

TEST(CgroupWrites, V2TranslatesUnitsAndEnablesAMissingControllerFirst) {
  V2Host h;
  oci::Resources r = everything();
  r.network.reset();           // v1 only
  r.memory->swap = 3LL << 29;  // memory+swap 1.5G over a 1G limit: 512M of swap
  r.memory->swappiness.reset();
  r.memory->reservation = 1 << 29;
  r.cpu->shares = 1024;
  r.unified = {{"memory.high", "900M"}};
  ASSERT_TRUE(h.apply(r));
  ASSERT_GT(h.files.writes.size(), 3u);
  EXPECT_EQ(h.files.writes[2].rfind("bpf device program on /cg2/c1 (", 0), 0u) << h.files.writes[2];
  h.files.writes.erase(h.files.writes.begin() + 2);
  EXPECT_EQ(h.files.writes,
            (V{
                "/cg2/c1/cpuset.cpus=0-1",
                "/cg2/c1/cpuset.mems=0",
                "/cg2/c1/memory.swap.max=536870912",
                "/cg2/c1/memory.max=1073741824",
                "/cg2/c1/memory.low=536870912",
                fmt::format("/cg2/c1/cpu.weight={}", shares_to_weight(1024)),
                "/cg2/c1/cpu.max=50000 100000",
                "/cg2/c1/pids.max=64",
                "/cg2/c1/io.weight=4950",  // blkio 500 on io's 1..10000 scale
                "/cg2/c1/io.max=8:0 rbps=1048576",
                // hugetlb is not enabled for the cgroup yet: its parent hands it down first.
                "/cg2/cgroup.subtree_control=+hugetlb",
                "/cg2/c1/hugetlb.2MB.max=1073741824",
                "/cg2/c1/memory.high=900M",
            }));
  EXPECT_EQ(shares_to_weight(1024), 39u);  // runc's 1 + (shares - 2) * 9999 / 262142
}

TEST(CgroupWrites, V2UnlimitedIsMaxAndV1OnlyFieldsAreErrors) {
  V2Host h;
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = -1;
  r.cpu.emplace();
  r.cpu->quota = -1;
  r.cpu->period = 100000;
  ASSERT_TRUE(h.apply(r, true));
  EXPECT_EQ(h.files.writes, (V{"/cg2/c1/memory.swap.max=max", "/cg2/c1/memory.max=max",
                               "/cg2/c1/cpu.max=max 100000"}));
  oci::Resources net;
  net.network.emplace();
  net.network->class_id = 1;
  auto e = h.apply(net, true);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message,
            "linux.resources.network.classID: no net_cls controller on this host (cgroup v1 only)");
}

TEST(CgroupWrites, HybridV1FirstAndV2ForWhatOnlyV2HasEnabledDownTheTree) {
  Layout layout;
  layout.mode = Mode::Hybrid;
  layout.v1["/cg/memory"] = {"memory"};
  layout.unified = "/cg2";
  layout.unified_controllers = {"memory", "pids"};
  FakeFiles files;
  files.add("/cg/memory/berth/c1", {"memory.limit_in_bytes"});
  files.add("/cg2/berth/c1", {"pids.max", "cgroup.controllers"});
  files.set("/cg2/cgroup.subtree_control", "");
  files.set("/cg2/berth/cgroup.subtree_control", "");
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 1 << 20;
  r.pids_limit = 10;
  Cgroup cg = Cgroup::open(layout, "/berth/c1");
  ASSERT_TRUE(cg.apply(r, true, files));
  EXPECT_EQ(
      files.writes,
      (V{"/cg/memory/berth/c1/memory.limit_in_bytes=1048576", "/cg2/cgroup.subtree_control=+pids",
         "/cg2/berth/cgroup.subtree_control=+pids", "/cg2/berth/c1/pids.max=10"}));
  // Enabled once: the next apply finds it there.
  files.writes.clear();
  files.set("/cg2/berth/c1/cgroup.controllers", "pids");
  ASSERT_TRUE(cg.apply(r, true, files));
  EXPECT_EQ(files.only({"cgroup.subtree_control"}), V{});
}

}  // namespace
}  // namespace berth::cgroup
