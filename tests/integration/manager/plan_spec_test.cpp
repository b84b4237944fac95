// plan/apply compare the complete spec a container runs with (what
// `berth spec` prints and the monitor keeps in run/berth/NAME/spec.json),
// not only its declaration.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/manager/manager_fixture.h"
#include "support/testenv.h"

namespace berth::test {
namespace {

constexpr const char* kLoop = "trap 'exit 0' TERM; while :; do sleep 0.1; done";

class PlanSpec : public ManagerTest {
 protected:
  PlanSpec() : ManagerTest("berth-test-plans") {}
  std::string spec_file(const std::string& n) { return root_ / ("run/berth/" + n + "/spec.json"); }
};

// restart_if_changed = false (NixOS's restartIfChanged): apply and update
// leave the container running and say what they did not apply; resources
// alone still change live; `berth restart` applies the rest.
TEST_F(PlanSpec, RestartIfChangedFalseKeepsItRunning) {
  auto k = name("pk");
  const std::string keep = "autostart = true\ntimeout_stop = \"3s\"\nrestart_if_changed = false\n";
  declare(busybox_decl(k, kLoop, keep));
  ASSERT_EQ(berth({"apply"}).status, 0);
  int pid = pid_of(k);
  ASSERT_GT(pid, 0);
  declare(busybox_decl(k, "echo v2 > /dev/null; " + std::string(kLoop), keep));
  auto plan = berth({"plan"});
  ASSERT_EQ(plan.status, 0) << plan.err;
  EXPECT_EQ(plan.out, "keep " + k +
                          ": not restarted (restart_if_changed = false), so not applied: "
                          "declaration changed (command); `berth restart " +
                          k + "` applies it\n");
  auto ap = berth({"apply"});
  EXPECT_EQ(ap.status, 0) << ap.err;
  EXPECT_EQ(ap.out, plan.out);
  auto up = berth({"update", k});
  EXPECT_EQ(up.status, 0) << up.err;
  EXPECT_EQ(up.out, plan.out);
  EXPECT_EQ(pid_of(k), pid);  // still the same process
  EXPECT_EQ(status(k)["state"], "up");
  // Changing the key itself needs no restart: the plan is a restart now.
  declare(busybox_decl(k, "echo v2 > /dev/null; " + std::string(kLoop),
                       "autostart = true\ntimeout_stop = \"3s\"\n"));
  EXPECT_EQ(berth({"plan"}).out, "restart " + k + ": declaration changed (command)\n");
  // Declined again; a `berth restart` takes the new declaration.
  declare(busybox_decl(k, "echo v2 > /dev/null; " + std::string(kLoop), keep));
  ASSERT_EQ(berth({"restart", k}).status, 0);
  EXPECT_NE(pid_of(k), pid);
  EXPECT_EQ(berth({"plan"}).out, "nothing to do: the host matches the declarations\n");
}

TEST_F(PlanSpec, SpecPrintsWhatRunsAndPlanSeesEveryChangeOfIt) {
  auto a = name("ps"), b = name("pt");
  declare(busybox_decl(a, kLoop, "autostart = true\ntimeout_stop = \"3s\"") +
          busybox_decl(b, kLoop, "autostart = true\ntimeout_stop = \"3s\""));
  auto first = berth({"apply"});
  ASSERT_EQ(first.status, 0) << first.err;
  int pid_a = pid_of(a), pid_b = pid_of(b);
  ASSERT_GT(pid_a, 0);
  ASSERT_GT(pid_b, 0);

  // `berth spec` prints the very spec the monitor started it with.
  auto printed = berth({"spec", a});
  ASSERT_EQ(printed.status, 0) << printed.err;
  auto kept = nlohmann::json::parse(slurp(spec_file(a)), nullptr, false);
  ASSERT_FALSE(kept.is_discarded()) << slurp(spec_file(a));
  EXPECT_EQ(nlohmann::json::parse(printed.out), kept);
  // The complete spec: the default seccomp profile and a capability set.
  EXPECT_TRUE(kept["linux"].contains("seccomp"));
  EXPECT_FALSE(kept["process"]["capabilities"]["bounding"].empty());
  EXPECT_EQ(berth({"plan"}).out, "nothing to do: the host matches the declarations\n");

  // A spec that differs where the declaration does not (as after a berth
  // upgrade or a change of the host's part): restart, saying where.
  kept["process"]["env"].push_back("STALE=1");
  kept["mounts"].erase(kept["mounts"].begin());
  { std::ofstream(spec_file(a)) << kept.dump(); }
  auto plan = berth({"plan"});
  ASSERT_EQ(plan.status, 0) << plan.err;
  EXPECT_EQ(plan.out, "restart " + a + ": its spec changed (mounts, process.env)\n") << plan.out;
  EXPECT_EQ(pid_of(a), pid_a);  // plan changes nothing
  auto ap = berth({"apply"});
  ASSERT_EQ(ap.status, 0) << ap.err;
  EXPECT_EQ(ap.out, plan.out);
  EXPECT_NE(pid_of(a), pid_a);
  EXPECT_FALSE(pid_alive(pid_a));
  EXPECT_EQ(pid_of(b), pid_b);  // the other one untouched
  EXPECT_EQ(nlohmann::json::parse(berth({"spec", a}).out),
            nlohmann::json::parse(slurp(spec_file(a))));
  EXPECT_EQ(berth({"apply"}).out, "nothing to do: the host matches the declarations\n");

  // Resources still go live (the kept spec's own limits are not compared).
  declare(
      busybox_decl(a, kLoop, "autostart = true\ntimeout_stop = \"3s\"") +
      busybox_decl(b, kLoop, "autostart = true\ntimeout_stop = \"3s\"\nresources = { pids = 55 }"));
  EXPECT_EQ(berth({"apply"}).out, "update " + b + ": live, no restart: resources: cgroup limits\n");
  EXPECT_EQ(pid_of(b), pid_b);

  // A changed declaration is said as such (its spec changes too).
  declare(
      busybox_decl(a, std::string("echo v2; ") + kLoop, "autostart = true\ntimeout_stop = \"3s\"") +
      busybox_decl(b, kLoop, "autostart = true\ntimeout_stop = \"3s\"\nresources = { pids = 55 }"));
  auto both = berth({"plan"});
  EXPECT_EQ(both.out, "restart " + a + ": declaration changed (command)\n") << both.out;
  // An unreadable kept spec is a reason too, never a crash.
  { std::ofstream(spec_file(b)) << "{not json"; }
  auto bad = berth({"plan"});
  EXPECT_EQ(bad.status, 0) << bad.err;
  EXPECT_NE(bad.out.find("restart " + b + ": its spec changed (a spec file berth cannot read)"),
            std::string::npos)
      << bad.out;
  EXPECT_EQ(berth({"stop", a}).status, 0);
  EXPECT_EQ(berth({"stop", b}).status, 0);
}

}  // namespace
}  // namespace berth::test
