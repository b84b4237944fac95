// The last steps before the workload runs, recorded by a fake engine::Sys:
// bounding set, setgroups, setgid, setuid, capabilities, no_new_privs,
// seccomp and execve, in the order runc and crun make them.
#include <linux/capability.h>

#include <gtest/gtest.h>

#include "engine/workload.h"
#include "fake_sys.h"

namespace berth::engine {
namespace {

using testing::FakeSys;
using V = std::vector<std::string>;

oci::Process process() {
  oci::Process p;
  p.args = {"/bin/sh", "-c", "true"};
  p.cwd = "/work";
  p.user.uid = 1000;
  p.user.gid = 1001;
  p.user.additional_gids = {10, 20};
  p.user.umask = 027;
  oci::Capabilities c;
  c.bounding = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  c.effective = c.permitted = {"CAP_CHOWN", "CAP_NET_BIND_SERVICE"};
  c.ambient = {"CAP_NET_BIND_SERVICE"};
  p.capabilities = c;
  p.no_new_privileges = true;
  return p;
}

// The calls without the bounding-set drops (one per capability the kernel has).
V without_drops(const V& calls) {
  V out;
  for (auto& c : calls)
    if (c.rfind("prctl capbset_drop", 0) != 0) out.push_back(c);
  return out;
}

TEST(WorkloadSequence, BoundingThenGroupsGidUidThenCapabilitiesThenNoNewPrivs) {
  FakeSys sys;
  auto p = process();
  UniqueFd listener;
  ASSERT_TRUE(finalize_process(p, nullptr, false, &listener, sys));
  EXPECT_EQ(without_drops(sys.calls()),
            (V{"chdir /work", "prctl keepcaps 1", "setgroups 10,20", "setresgid 1001 1001 1001",
               "setresuid 1000 1000 1000", "prctl keepcaps 0", "umask 0027",
               "capset eff=0,10 perm=0,10 inh=", "prctl ambient_clear_all",
               "prctl ambient_raise 10", "prctl no_new_privs 1"}));
  // Every capability outside the bounding list is dropped, before the uid
  // change (which needs CAP_SETPCAP no more afterwards).
  auto drops = sys.only({"prctl capbset_drop"});
  ASSERT_GT(drops.size(), 30u);
  for (auto kept : {"prctl capbset_drop 0", "prctl capbset_drop 5", "prctl capbset_drop 10"})
    EXPECT_EQ(std::count(drops.begin(), drops.end(), kept), 0) << kept;
  EXPECT_EQ(std::count(drops.begin(), drops.end(), "prctl capbset_drop 21"), 1);
  EXPECT_LT(sys.index(drops.back()), sys.index("prctl keepcaps 1"));
}

TEST(WorkloadSequence, TheLateFilterIsTheLastThingBeforeExecve) {
  FakeSys sys;
  auto p = process();
  seccomp::Program prog;
  EXPECT_THROW(exec_workload("/bin/sh", p, &prog, {}, sys), FakeSys::Exec);
  EXPECT_EQ(sys.calls(), (V{"seccomp eff=0x0", "execve /bin/sh /bin/sh -c true"}));
  // Without a filter: execve alone.
  sys.clear();
  EXPECT_THROW(exec_workload("/bin/sh", p, nullptr, {}, sys), FakeSys::Exec);
  EXPECT_EQ(sys.calls(), V{"execve /bin/sh /bin/sh -c true"});
}

TEST(WorkloadSequence, AStubInitIsExecutedWithTheWorkloadAfterIt) {
  FakeSys sys;
  sys.file("/stub");
  int fd = sys.open("/stub", 0);
  auto p = process();
  EXPECT_THROW(exec_workload("/bin/sh", p, nullptr, StubInit{fd, "init"}, sys), FakeSys::Exec);
  EXPECT_EQ(sys.calls(), V{"execveat /stub init -e /bin/sh -- /bin/sh -c true"});
  ::close(fd);
}

TEST(WorkloadSequence, AnEarlyFilterGoesInAfterSetuidWithSysAdminBeforeTheFinalCapabilities) {
  FakeSys sys;
  // After setuid the effective set is empty; CAP_SYS_ADMIN is still permitted.
  sys.set_permitted(1ull << CAP_SYS_ADMIN | 1ull << CAP_CHOWN, 0);
  auto p = process();
  p.no_new_privileges = false;
  seccomp::Program prog;
  ASSERT_TRUE(filter_early(p, prog));
  UniqueFd listener;
  ASSERT_TRUE(finalize_process(p, &prog, true, &listener, sys));
  EXPECT_EQ(
      without_drops(sys.calls()),
      (V{"chdir /work", "prctl keepcaps 1", "setgroups 10,20", "setresgid 1001 1001 1001",
         "setresuid 1000 1000 1000", "prctl keepcaps 0", "umask 0027",
         "capset eff=21 perm=0,21 inh=", "seccomp eff=0x200000",
         "capset eff=0,10 perm=0,10 inh=", "prctl ambient_clear_all", "prctl ambient_raise 10"}));
}

TEST(WorkloadSequence, WithoutSysAdminPermittedTheEarlyFilterLeavesTheSetsAlone) {
  FakeSys sys;
  sys.set_permitted(1ull << CAP_CHOWN, 0);
  auto p = process();
  p.no_new_privileges = false;
  seccomp::Program prog;
  UniqueFd listener;
  ASSERT_TRUE(finalize_process(p, &prog, true, &listener, sys));
  auto seq = sys.only({"capset", "seccomp"});
  EXPECT_EQ(seq, (V{"seccomp eff=0x0", "capset eff=0,10 perm=0,10 inh="}));
}

TEST(WorkloadSequence, CwdIsEnteredAsTheUserWhenRootCannot) {
  FakeSys sys;
  sys.fail("chdir /work", EACCES, 1);
  auto p = process();
  UniqueFd listener;
  ASSERT_TRUE(finalize_process(p, nullptr, false, &listener, sys));
  auto seq = sys.only({"chdir", "! chdir", "setresuid"});
  EXPECT_EQ(seq, (V{"! chdir /work", "setresuid 1000 1000 1000", "chdir /work"}));

  FakeSys denied;
  denied.fail("chdir /work", EACCES);
  auto r = finalize_process(p, nullptr, false, &listener, denied);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "chdir to cwd (\"/work\") set in config.json: Permission denied");
  EXPECT_EQ(denied.only({"capset", "prctl no_new_privs"}), V{});
}

TEST(WorkloadSequence, SetgroupsDeniedIsFineOnlyWithoutGroups) {
  auto p = process();
  p.capabilities.reset();
  p.user.umask.reset();
  p.user.additional_gids.clear();
  FakeSys sys;
  sys.fail("setgroups", EPERM);  // a user namespace with setgroups "deny"
  UniqueFd listener;
  ASSERT_TRUE(finalize_process(p, nullptr, false, &listener, sys));
  EXPECT_EQ(sys.calls(),
            (V{"chdir /work", "prctl keepcaps 1", "! setgroups ", "setresgid 1001 1001 1001",
               "setresuid 1000 1000 1000", "prctl keepcaps 0", "prctl no_new_privs 1"}));
  p.user.additional_gids = {10};
  FakeSys with_groups;
  with_groups.fail("setgroups", EPERM);
  auto r = finalize_process(p, nullptr, false, &listener, with_groups);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "setgroups: Operation not permitted");
  EXPECT_EQ(with_groups.only({"setresuid"}), V{});
}

TEST(WorkloadSequence, AnAmbientCapabilityTheKernelRefusesIsSkipped) {
  FakeSys sys;
  sys.fail("prctl ambient_raise", EPERM);
  auto p = process();
  UniqueFd listener;
  ASSERT_TRUE(finalize_process(p, nullptr, false, &listener, sys));
  EXPECT_EQ(sys.only({"! prctl ambient_raise", "prctl no_new_privs"}),
            (V{"! prctl ambient_raise 10", "prctl no_new_privs 1"}));
  FakeSys other;
  other.fail("prctl ambient_raise", EINVAL);
  auto r = finalize_process(p, nullptr, false, &listener, other);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "raise ambient capability 10: Invalid argument");
}

}  // namespace
}  // namespace berth::engine
