#include <gtest/gtest.h>

#include "cgroup/cgroup.h"
#include "cgroup/cgroup_internal.h"

namespace berth::cgroup {
namespace {

// This machine's layout: v1 controllers, each on its own, plus a v2 mount.
const char* kHybrid = R"(22 1 8:1 / / rw,relatime - ext4 /dev/vda1 rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
)";

// A classic systemd v1 host: co-mounted controllers and symlinks' targets.
const char* kLegacy =
    R"(25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
30 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,net_cls,net_prio
31 25 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
32 25 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids
33 25 0:30 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,cpuset,clone_children
99 22 0:28 / /mnt/memory\040again rw,relatime - cgroup cgroup rw,memory
)";

const char* kUnified =
    R"(24 18 0:21 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
)";

TEST(Layout, HybridLikeThisHost) {
  Layout l = parse_layout(kHybrid, "hugetlb\n");
  EXPECT_EQ(l.mode, Mode::Hybrid);
  EXPECT_EQ(l.unified, "/sys/fs/cgroup/unified");
  EXPECT_EQ(l.unified_controllers, std::vector<std::string>{"hugetlb"});
  ASSERT_EQ(l.v1.size(), 9u);
  EXPECT_EQ(l.v1.at("/sys/fs/cgroup/cpu"), std::vector<std::string>{"cpu"});
  EXPECT_EQ(l.v1.at("/sys/fs/cgroup/systemd"), std::vector<std::string>{"name=systemd"});
  EXPECT_FALSE(l.v1.count("/sys/fs/cgroup"));  // the tmpfs is not a hierarchy
}

TEST(Layout, LegacyWithCoMountedControllers) {
  Layout l = parse_layout(kLegacy, "ignored");
  EXPECT_EQ(l.mode, Mode::Legacy);
  EXPECT_EQ(l.unified, "");
  EXPECT_TRUE(l.unified_controllers.empty());
  ASSERT_EQ(l.v1.size(), 6u);  // the second mount of the memory hierarchy is skipped
  EXPECT_EQ(l.v1.at("/sys/fs/cgroup/cpu,cpuacct"), (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ(l.v1.at("/sys/fs/cgroup/cpuset"),
            std::vector<std::string>{"cpuset"});  // not clone_children
  EXPECT_EQ(l.v1.at("/sys/fs/cgroup/systemd"), std::vector<std::string>{"name=systemd"});
}

TEST(Layout, Unified) {
  Layout l = parse_layout(kUnified, "cpuset cpu io memory hugetlb pids rdma misc\n");
  EXPECT_EQ(l.mode, Mode::Unified);
  EXPECT_EQ(l.unified, "/sys/fs/cgroup");
  EXPECT_TRUE(l.v1.empty());
  EXPECT_EQ(l.unified_controllers.size(), 8u);
  EXPECT_EQ(l.unified_controllers[2], "io");
}

TEST(Layout, EscapedMountPointAndContainerRoot) {
  Layout l = parse_layout(
      "50 1 0:40 /docker/abc /sys/fs/cgroup/my\\040memory rw - cgroup cgroup rw,memory\n", "");
  ASSERT_EQ(l.v1.size(), 1u);
  EXPECT_EQ(l.v1.begin()->first, "/sys/fs/cgroup/my memory");
  EXPECT_EQ(l.roots.at("/sys/fs/cgroup/my memory"), "/docker/abc");
}

TEST(Layout, DetectFindsThisHostsHierarchies) {
  auto l = detect();
  if (!l.ok() && l.error().message == "no cgroup filesystem is mounted")
    GTEST_SKIP() << "no cgroup filesystem is mounted here";
  ASSERT_TRUE(l.ok()) << l.error().message;
  EXPECT_FALSE(l->v1.empty() && l->unified.empty());
  auto again = detect();  // cached: the same answer
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->v1, l->v1);
}

TEST(Paths, ProcSelfCgroup) {
  auto m = internal::parse_proc_cgroup(
      "12:cpuacct,cpu:/a\n4:memory:/process_api/x\n1:name=systemd:/s\n0::/u\n");
  EXPECT_EQ(m.at("cpu,cpuacct"), "/a");  // keys are sorted controller lists
  EXPECT_EQ(m.at("memory"), "/process_api/x");
  EXPECT_EQ(m.at("name=systemd"), "/s");
  EXPECT_EQ(m.at(""), "/u");
}

TEST(Paths, EmptyMeansBerthSlashId) {
  Layout l = parse_layout(kHybrid, "");
  auto r = internal::resolve(l, "", "web1", "");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->size(), 10u);
  for (auto& [m, p] : *r) EXPECT_EQ(p, "/berth/web1") << m;
}

TEST(Paths, AbsoluteIsRelativeToEachHierarchyRoot) {
  Layout l = parse_layout(kHybrid, "");
  auto r = internal::resolve(l, "//machine.slice/c1/", "x", "4:memory:/elsewhere\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->at("/sys/fs/cgroup/memory"), "/machine.slice/c1");
  EXPECT_EQ(r->at("/sys/fs/cgroup/unified"), "/machine.slice/c1");
}

TEST(Paths, RelativeIsBelowTheCallersOwnCgroup) {
  Layout l = parse_layout(kHybrid, "");
  auto r = internal::resolve(
      l, "sub/c1", "x", "9:name=systemd:/\n4:memory:/process_api/831f\n1:cpu:/\n0::/user.slice\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->at("/sys/fs/cgroup/memory"), "/process_api/831f/sub/c1");
  EXPECT_EQ(r->at("/sys/fs/cgroup/cpu"), "/sub/c1");
  EXPECT_EQ(r->at("/sys/fs/cgroup/unified"), "/user.slice/sub/c1");
  EXPECT_EQ(r->at("/sys/fs/cgroup/pids"), "/sub/c1");  // not listed: the root
}

TEST(Paths, RelativeInsideAContainerStripsTheMountRoot) {
  Layout l = parse_layout(
      "50 1 0:40 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", "");
  auto r = internal::resolve(l, "c1", "x", "4:memory:/docker/abc/init\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->at("/sys/fs/cgroup/memory"), "/init/c1");
}

TEST(Paths, DotDotAndBadIdsAreRefused) {
  Layout l = parse_layout(kHybrid, "");
  auto r = internal::resolve(l, "/a/../../etc", "x", "");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("must not contain \"..\""), std::string::npos);
  EXPECT_FALSE(internal::resolve(l, "", "a/b", "").ok());
  EXPECT_FALSE(internal::resolve(l, "", "", "").ok());
}

TEST(Paths, OpenPlacesTheCgroupInEveryHierarchy) {
  Layout l = parse_layout(kHybrid, "hugetlb");
  Cgroup cg = Cgroup::open(l, "/berth/a");
  EXPECT_EQ(cg.paths().size(), 10u);
  EXPECT_EQ(cg.paths().at("/sys/fs/cgroup/memory"), "/sys/fs/cgroup/memory/berth/a");
  EXPECT_EQ(cg.dir_for("memory"), "/sys/fs/cgroup/memory/berth/a");
  EXPECT_EQ(cg.dir_for("cpuacct"), "/sys/fs/cgroup/cpuacct/berth/a");
  // Only v2 has hugetlb here; v1 does freezing and devices.
  EXPECT_EQ(cg.dir_for("hugetlb"), "/sys/fs/cgroup/unified/berth/a");
  EXPECT_EQ(cg.dir_for("freezer"), "/sys/fs/cgroup/freezer/berth/a");
  EXPECT_EQ(cg.dir_for("net_cls"), "");
  EXPECT_EQ(cg.unified_dir(), "/sys/fs/cgroup/unified/berth/a");

  Cgroup v2 = Cgroup::open(parse_layout(kUnified, "cpu memory"), "/x");
  EXPECT_EQ(v2.dir_for("freezer"), "/sys/fs/cgroup/x");
  EXPECT_EQ(v2.dir_for("devices"), "/sys/fs/cgroup/x");
  EXPECT_EQ(v2.dir_for("cpuacct"), "/sys/fs/cgroup/x");
  EXPECT_EQ(v2.dir_for("pids"), "");  // not in cgroup.controllers
}

TEST(Paths, StateRoundTripsThroughJson) {
  Cgroup cg = Cgroup::open(parse_layout(kHybrid, "hugetlb"), "/berth/a");
  auto back = Cgroup::from_json(nlohmann::json::parse(cg.to_json().dump()));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->paths(), cg.paths());
  EXPECT_EQ(back->relative(), "/berth/a");
  EXPECT_EQ(back->dir_for("hugetlb"), cg.dir_for("hugetlb"));
  EXPECT_EQ(back->to_json(), cg.to_json());
  EXPECT_FALSE(Cgroup::from_json(nlohmann::json{{"relative", 5}}).ok());
}

TEST(Translate, SharesToWeightAsRunc) {
  EXPECT_EQ(shares_to_weight(0), 0u);  // unset stays unset
  EXPECT_EQ(shares_to_weight(2), 1u);
  EXPECT_EQ(shares_to_weight(1024), 39u);
  EXPECT_EQ(shares_to_weight(262144), 10000u);
  EXPECT_EQ(shares_to_weight(1), 1u);            // below the v1 minimum: clamped
  EXPECT_EQ(shares_to_weight(1000000), 10000u);  // above the maximum: clamped
}

TEST(Translate, BlkioWeightToIoWeightAsRunc) {
  EXPECT_EQ(blkio_weight_to_io_weight(0), 0u);
  EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
  EXPECT_EQ(blkio_weight_to_io_weight(500), 4950u);
  EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
}

TEST(Translate, SwapIsMemoryPlusSwapInTheSpec) {
  EXPECT_EQ(*internal::v2_swap_max(300, 100), "200");
  EXPECT_EQ(*internal::v2_swap_max(100, 100), "0");
  EXPECT_EQ(*internal::v2_swap_max(-1, 100), "max");
  EXPECT_EQ(*internal::v2_swap_max(-1, 0), "max");
  auto below = internal::v2_swap_max(50, 100);
  ASSERT_FALSE(below.ok());
  EXPECT_EQ(below.error().message, "memory+swap 50 is below the memory limit 100");
  EXPECT_FALSE(internal::v2_swap_max(200, 0).ok());   // no memory limit
  EXPECT_FALSE(internal::v2_swap_max(200, -1).ok());  // unlimited memory
}

TEST(Translate, PidsLimit) {
  EXPECT_EQ(internal::pids_max(-1), "max");
  EXPECT_EQ(internal::pids_max(0), "max");
  EXPECT_EQ(internal::pids_max(100), "100");
}

}  // namespace
}  // namespace berth::cgroup
