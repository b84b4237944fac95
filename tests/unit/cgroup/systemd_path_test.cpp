// systemd's "slice:prefix:name" cgroupsPath, placed on cgroupfs where systemd
// would put the unit (berth has no systemd driver).
#include <gtest/gtest.h>

#include "cgroup/cgroup.h"
#include "cgroup/cgroup_internal.h"

namespace berth::cgroup {
namespace {

TEST(SystemdPath, RecognisesOnlyTheThreePartSliceForm) {
  EXPECT_TRUE(is_systemd_cgroups_path("system.slice:docker:abc"));
  EXPECT_TRUE(is_systemd_cgroups_path("kubepods-besteffort.slice:cri-containerd:0123"));
  EXPECT_TRUE(is_systemd_cgroups_path(":crun:abc"));  // empty slice: the default one
  EXPECT_TRUE(is_systemd_cgroups_path("machine.slice::abc"));
  // cgroupfs paths, even with colons in them, stay cgroupfs paths.
  EXPECT_FALSE(is_systemd_cgroups_path("/system.slice:docker:abc"));
  EXPECT_FALSE(is_systemd_cgroups_path("/berth/abc"));
  EXPECT_FALSE(is_systemd_cgroups_path("berth/abc"));
  EXPECT_FALSE(is_systemd_cgroups_path("a:b:c"));
  EXPECT_FALSE(is_systemd_cgroups_path("system.slice:docker"));
  EXPECT_FALSE(is_systemd_cgroups_path("system.slice:a:b:c"));
  EXPECT_FALSE(is_systemd_cgroups_path(""));
}

TEST(SystemdPath, ExpandSliceNestsEveryDash) {
  EXPECT_EQ(*expand_slice("system.slice"), "/system.slice");
  EXPECT_EQ(*expand_slice("a-b-c.slice"), "/a.slice/a-b.slice/a-b-c.slice");
  EXPECT_EQ(*expand_slice("kubepods-besteffort-pod12.slice"),
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice");
  EXPECT_EQ(*expand_slice("-.slice"), "/");
}

TEST(SystemdPath, ExpandSliceRefusesWhatSystemdRefuses) {
  for (const char* bad : {"system", ".slice", "a--b.slice", "-a.slice", "a-.slice", "a/b.slice",
                          "a b.slice", "system.scope"}) {
    auto r = expand_slice(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find(bad), std::string::npos) << r.error().message;
  }
}

TEST(SystemdPath, ScopeUnderTheExpandedSlice) {
  EXPECT_EQ(*systemd_cgroups_path_to_cgroupfs("system.slice:docker:abc"),
            "/system.slice/docker-abc.scope");
  EXPECT_EQ(*systemd_cgroups_path_to_cgroupfs("kubepods-burstable.slice:cri-containerd:f00"),
            "/kubepods.slice/kubepods-burstable.slice/cri-containerd-f00.scope");
  // runc's defaults: an empty slice is system.slice, an empty prefix no dash.
  EXPECT_EQ(*systemd_cgroups_path_to_cgroupfs(":crun:abc"), "/system.slice/crun-abc.scope");
  EXPECT_EQ(*systemd_cgroups_path_to_cgroupfs("machine.slice::abc"), "/machine.slice/abc.scope");
  // The root slice, and a name that is itself a slice.
  EXPECT_EQ(*systemd_cgroups_path_to_cgroupfs("-.slice:p:n"), "/p-n.scope");
  EXPECT_EQ(*systemd_cgroups_path_to_cgroupfs("a.slice:p:a-pod.slice"), "/a.slice/a-pod.slice");
}

TEST(SystemdPath, BadPartsNameThePath) {
  for (const char* bad : {"system.slice:docker:", "a--b.slice:p:n", "system.slice:do/cker:n",
                          "system.slice:p:..", "system.slice:p:a b"}) {
    auto r = systemd_cgroups_path_to_cgroupfs(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("cgroupsPath"), std::string::npos) << r.error().message;
  }
}

// Through the resolver Cgroup::create uses: the same directory in every
// hierarchy, whatever the caller's own cgroup is.
TEST(SystemdPath, ResolveGivesTheScopeInEveryHierarchy) {
  Layout l = parse_layout(
      "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
      "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
      "");
  auto r = internal::resolve(l, "system.slice:docker:abc", "id", "4:memory:/user.slice\n0::/x\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  for (auto& [mount, rel] : *r) EXPECT_EQ(rel, "/system.slice/docker-abc.scope") << mount;
  // A colon path that is not systemd's form is a plain relative path.
  auto plain = internal::resolve(l, "a:b:c", "id", "4:memory:/user.slice\n0::/x\n");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->at("/sys/fs/cgroup/memory"), "/user.slice/a:b:c");
  auto bad = internal::resolve(l, "a--b.slice:p:n", "id", "");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("a--b.slice"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace berth::cgroup
