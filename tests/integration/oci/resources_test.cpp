// linux.resources through berth-oci bundles, checked by what a user sees:
// the workload hits the limit, `events --stats` reports it, `update` changes
// the cgroup file and the effect, pause/resume, delete and kill --all, and a
// refused limit leaves nothing behind. This host: cgroup v1 controllers plus
// a v2 mount with few controllers.
#include <dirent.h>

#include <tuple>

#include "oci_helpers.h"

namespace berth::test::ocit {
namespace {

constexpr int64_t kMiB = 1024 * 1024;

bool host_has_swap() {
  return lines(read_text("/proc/swaps")).size() > 1 &&
         !trim(lines(read_text("/proc/swaps"))[1]).empty();
}

// A v1 controller's directory for the container's cgroup (cgroupsPath /id).
std::string v1_dir(const std::string& controller, const std::string& id) {
  return "/sys/fs/cgroup/" + controller + "/" + id;
}

bool v1_has(const std::string& controller) {
  return access(("/sys/fs/cgroup/" + controller + "/cgroup.procs").c_str(), F_OK) == 0;
}

// A shell snippet that holds about `mib` MiB in a shell variable.
std::string allocator(int mib) {
  return "x=$(head -c " + std::to_string(mib * kMiB) + " /dev/zero | tr '\\0' a); echo alive ${#x}";
}

class Resources : public OciTest {
 protected:
  json events_stats(const std::string& id) {
    auto r = oci({"events", "--stats", id});
    EXPECT_EQ(r.status, 0) << r.err;
    try {
      auto j = json::parse(r.out);
      EXPECT_EQ(j.value("type", ""), "stats") << r.out;
      return j["data"];
    } catch (...) {
      ADD_FAILURE() << "events --stats printed no JSON: " << r.out;
      return json::object();
    }
  }
  // Memory limit (and, where the host swaps, the same memory+swap limit so
  // that the limit is hit instead of swapping).
  void limit_memory(json& c, int64_t bytes) {
    c["linux"]["resources"]["memory"]["limit"] = bytes;
    if (host_has_swap()) c["linux"]["resources"]["memory"]["swap"] = bytes;
  }
  std::vector<std::string> update_memory_args(const std::string& id, const std::string& size) {
    std::vector<std::string> a = {"update", "--memory", size};
    if (host_has_swap()) a.insert(a.end(), {"--memory-swap", size});
    a.push_back(id);
    return a;
  }
  // A running `sleep` container with the given resources.
  std::pair<std::string, pid_t> sleeper(const std::function<void(json&)>& edit,
                                        const std::string& prefix = "res") {
    auto id = new_id(prefix);
    auto& b = bundle({"/bin/sleep", "100000"}, id);
    edit(b.config());
    b.write();
    pid_t pid = start_running(id, b);
    return {id, pid};
  }
};

TEST_F(Resources, MemoryLimitKillsAnAllocatorAtTheLimit) {
  if (!v1_has("memory")) GTEST_SKIP() << "no v1 memory controller on this host";
  auto [id, pid] = sleeper([&](json& c) { limit_memory(c, 32 * kMiB); });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(trim(read_text(v1_dir("memory", id) + "/memory.limit_in_bytes")),
            std::to_string(32 * kMiB));
  // Below the limit: fine.
  auto small = oci({"exec", id, "sh", "-c", allocator(4)});
  EXPECT_EQ(small.status, 0) << small.err;
  EXPECT_NE(small.out.find("alive"), std::string::npos);
  // Well above it: the OOM killer takes the allocator, the container lives on.
  auto big = oci({"exec", id, "sh", "-c", allocator(96)});
  EXPECT_EQ(big.status, 128 + SIGKILL) << big.out << big.err;
  EXPECT_EQ(big.out.find("alive"), std::string::npos);
  EXPECT_EQ(status_of(id), "running");
  auto data = events_stats(id);
  ASSERT_TRUE(data.contains("memory")) << data.dump();
  EXPECT_GE(data["memory"].value("oom_kill", 0u), 1u) << data["memory"].dump();
  EXPECT_GE(data["memory"]["usage"].value("failcnt", 0u), 1u) << data["memory"]["usage"].dump();
  EXPECT_EQ(data["memory"]["usage"].value("limit", 0u), static_cast<uint64_t>(32 * kMiB));
  EXPECT_LE(data["memory"]["usage"].value("max", 0u), static_cast<uint64_t>(32 * kMiB));
}

TEST_F(Resources, PidsLimitStopsAForkBomb) {
  if (!v1_has("pids")) GTEST_SKIP() << "no v1 pids controller on this host";
  auto [id, pid] = sleeper([](json& c) { c["linux"]["resources"]["pids"]["limit"] = 16; });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(trim(read_text(v1_dir("pids", id) + "/pids.max")), "16");
  // A bounded bomb: 100 background sleepers, each one a fork.
  auto bomb = oci({"exec", id, "sh", "-c",
                   "i=0; while [ $i -lt 100 ]; do sleep 1000 </dev/null >/dev/null 2>&1 & "
                   "i=$((i+1)); done; echo all"});
  EXPECT_NE(bomb.status, 0);
  EXPECT_LT(bomb.status, 128) << "the shell itself should fail to fork, not be killed";
  EXPECT_EQ(bomb.out.find("all"), std::string::npos) << "all 100 forks succeeded";
  EXPECT_NE(bomb.err.find("fork"), std::string::npos) << bomb.err;
  auto data = events_stats(id);
  EXPECT_EQ(data["pids"].value("limit", 0u), 16u) << data["pids"].dump();
  EXPECT_LE(data["pids"].value("current", 999u), 16u) << data["pids"].dump();
  EXPECT_GE(data["pids"].value("current", 0u), 10u) << "the bomb ran until the limit";
  auto ps = oci({"ps", "--format", "json", id});
  ASSERT_EQ(ps.status, 0) << ps.err;
  auto pids = json::parse(ps.out).get<std::vector<pid_t>>();
  EXPECT_LE(pids.size(), 16u);
  for (pid_t p : pids) track(p);
}

TEST_F(Resources, CpuQuotaThrottlesABusyLoop) {
  if (!v1_has("cpu")) GTEST_SKIP() << "no v1 cpu controller on this host";
  auto id = new_id("cpu");
  auto& b = bundle({"/bin/sh", "-c", "while :; do :; done"}, id);
  b.config()["linux"]["resources"]["cpu"] = {{"quota", 10000}, {"period", 100000}};
  b.write();
  ASSERT_GT(start_running(id, b), 0);
  EXPECT_EQ(trim(read_text(v1_dir("cpu", id) + "/cpu.cfs_quota_us")), "10000");
  EXPECT_EQ(trim(read_text(v1_dir("cpu", id) + "/cpu.cfs_period_us")), "100000");
  json data;
  EXPECT_TRUE(wait_until(
      [&] {
        data = events_stats(id);
        return data["cpu"]["throttling"].value("throttledPeriods", 0u) >= 3;
      },
      10000))
      << data["cpu"].dump();
  auto& t = data["cpu"]["throttling"];
  EXPECT_GT(t.value("periods", 0u), 0u);
  EXPECT_GT(t.value("throttledTime", 0u), 0u);
  // At 10% of one CPU, usage grows at most ~0.1 s per second of wall time.
  uint64_t u0 = data["cpu"]["usage"].value("total", 0ull);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  uint64_t u1 = events_stats(id)["cpu"]["usage"].value("total", 0ull);
  EXPECT_LT(u1 - u0, 400000000ull)
      << "a throttled loop used " << (u1 - u0) / 1000000 << " ms of cpu in ~1 s";
}

TEST_F(Resources, DeviceNotAllowedCannotBeOpened) {
  // /dev/net/tun (c 10:200) bound into the container: opening it needs no
  // capability, only the device cgroup's permission, which it lacks unless
  // linux.resources.devices allows it.
  if (access("/dev/net/tun", F_OK) != 0) GTEST_SKIP() << "no /dev/net/tun on this host";
  auto run_with = [&](bool allow) {
    return run_script("exec 3</dev/net/tun && echo opened", [&](json& c) {
      c["mounts"].push_back({{"destination", "/dev/net/tun"},
                             {"type", "bind"},
                             {"source", "/dev/net/tun"},
                             {"options", {"bind"}}});
      if (allow)
        c["linux"]["resources"]["devices"].push_back(
            {{"allow", true}, {"type", "c"}, {"major", 10}, {"minor", 200}, {"access", "r"}});
    });
  };
  auto denied = run_with(false);
  EXPECT_NE(denied.status, 0);
  EXPECT_EQ(denied.out.find("opened"), std::string::npos);
  EXPECT_NE(denied.err.find("Operation not permitted"), std::string::npos) << denied.err;
  auto allowed = run_with(true);
  EXPECT_EQ(allowed.status, 0) << allowed.err;
  EXPECT_EQ(allowed.out, "opened\n");
}

TEST_F(Resources, UpdateRaisesAndLowersALiveLimit) {
  if (!v1_has("memory") || !v1_has("pids")) GTEST_SKIP() << "no v1 memory/pids controllers";
  std::string id;  // not a structured binding: lambdas below capture it (clang 14)
  pid_t pid;
  std::tie(id, pid) = sleeper([&](json& c) {
    limit_memory(c, 24 * kMiB);
    c["linux"]["resources"]["pids"]["limit"] = 64;
  });
  ASSERT_GT(pid, 0);
  std::string mem_file = v1_dir("memory", id) + "/memory.limit_in_bytes";
  EXPECT_EQ(trim(read_text(mem_file)), std::to_string(24 * kMiB));
  auto alloc = [&] { return oci({"exec", id, "sh", "-c", allocator(40)}); };
  EXPECT_EQ(alloc().status, 128 + SIGKILL) << "40 MiB over a 24 MiB limit";

  auto up = oci(update_memory_args(id, "256m"));
  ASSERT_EQ(up.status, 0) << up.err;
  EXPECT_EQ(trim(read_text(mem_file)), std::to_string(256 * kMiB));
  auto ok_alloc = alloc();
  EXPECT_EQ(ok_alloc.status, 0) << ok_alloc.err;
  EXPECT_NE(ok_alloc.out.find("alive"), std::string::npos);

  auto down = oci(update_memory_args(id, "24m"));
  ASSERT_EQ(down.status, 0) << down.err;
  EXPECT_EQ(trim(read_text(mem_file)), std::to_string(24 * kMiB));
  EXPECT_EQ(alloc().status, 128 + SIGKILL) << "lowered again";

  // pids: lowered below what a loop needs, then raised again.
  std::string five =
      "i=0; while [ $i -lt 5 ]; do sleep 1000 </dev/null >/dev/null 2>&1 & i=$((i+1)); done; echo "
      "five";
  auto lo = oci({"update", "--pids-limit", "3", id});
  ASSERT_EQ(lo.status, 0) << lo.err;
  EXPECT_EQ(trim(read_text(v1_dir("pids", id) + "/pids.max")), "3");
  auto r1 = oci({"exec", id, "sh", "-c", five});
  EXPECT_EQ(r1.out.find("five"), std::string::npos) << "5 forks under pids.max 3";
  auto hi = oci({"update", "--pids-limit", "100", id});
  ASSERT_EQ(hi.status, 0) << hi.err;
  EXPECT_EQ(trim(read_text(v1_dir("pids", id) + "/pids.max")), "100");
  auto r2 = oci({"exec", id, "sh", "-c", five});
  EXPECT_EQ(r2.status, 0) << r2.err;
  EXPECT_EQ(r2.out, "five\n");

  // The stored config follows, and a refused update names the field.
  auto bad = oci({"update", "--cpuset-cpus", "999", id});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("linux.resources.cpu.cpus"), std::string::npos) << bad.err;
  EXPECT_EQ(status_of(id), "running");
}

TEST_F(Resources, PauseStopsACounterAndResumeRestartsIt) {
  if (!v1_has("freezer")) GTEST_SKIP() << "no v1 freezer on this host";
  auto id = new_id("pause");
  auto& b = bundle(
      {"/bin/sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.02; done"}, id);
  b.config()["mounts"].push_back({{"destination", "/tmp"},
                                  {"type", "tmpfs"},
                                  {"source", "tmpfs"},
                                  {"options", {"nosuid", "nodev"}}});
  b.write();
  pid_t pid = start_running(id, b);
  ASSERT_GT(pid, 0);
  std::string counter = "/proc/" + std::to_string(pid) + "/root/tmp/count";
  auto count = [&] {
    auto s = trim(read_text(counter));
    return s.empty() ? -1L : std::stol(s);
  };
  ASSERT_TRUE(wait_until([&] { return count() > 3; })) << "counter never started";

  auto p = oci({"pause", id});
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_EQ(status_of(id), "paused");
  EXPECT_EQ(trim(read_text(v1_dir("freezer", id) + "/freezer.state")), "FROZEN");
  long c0 = count();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(count(), c0) << "the counter moved while paused";
  auto ex = oci({"exec", id, "true"});
  EXPECT_NE(ex.status, 0) << "exec into a paused container";

  auto r = oci({"resume", id});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(status_of(id), "running");
  EXPECT_TRUE(wait_until([&] { return count() > c0 + 3; })) << "the counter did not resume";
}

TEST_F(Resources, DeleteRemovesTheCgroupEverywhere) {
  std::string id;  // not a structured binding: lambdas below capture it (clang 14)
  pid_t pid;
  std::tie(id, pid) = sleeper([&](json& c) { c["linux"]["resources"]["pids"]["limit"] = 10; });
  ASSERT_GT(pid, 0);
  auto dirs = cgroups_matching(id);
  EXPECT_GE(dirs.size(), 5u) << "one directory per hierarchy";
  for (auto& d : dirs)
    EXPECT_NE(read_text(d + "/cgroup.procs").find(std::to_string(pid)), std::string::npos) << d;
  ASSERT_EQ(oci({"kill", id, "KILL"}).status, 0);
  ASSERT_TRUE(wait_until([&] { return status_of(id) == "stopped"; }));
  auto d = oci({"delete", id});
  EXPECT_EQ(d.status, 0) << d.err;
  EXPECT_TRUE(cgroups_matching(id).empty()) << cgroups_matching(id).front();
  // And delete --force of a running one.
  auto [id2, pid2] = sleeper([](json&) {});
  ASSERT_GT(pid2, 0);
  EXPECT_FALSE(cgroups_matching(id2).empty());
  EXPECT_EQ(oci({"delete", "--force", id2}).status, 0);
  EXPECT_TRUE(cgroups_matching(id2).empty());
  EXPECT_FALSE(pid_alive(pid2));
}

TEST_F(Resources, KillAllReachesExecProcessesToo) {
  std::string id;  // not a structured binding: lambdas below capture it (clang 14)
  pid_t pid;
  std::tie(id, pid) = sleeper([](json&) {});
  ASSERT_GT(pid, 0);
  // A detached exec is no child of the init; kill --all still finds it.
  std::string pidfile = root_->path() + "/exec.pid";
  auto e = oci_detached(
      {"exec", "-d", "--pid-file", pidfile, id, "sh", "-c", "trap '' TERM; sleep 1000 & wait"});
  ASSERT_EQ(e.status, 0) << e.err;
  pid_t ep = read_pid_file(pidfile);
  ASSERT_GT(ep, 0);
  track(ep);
  std::vector<pid_t> pids;
  ASSERT_TRUE(wait_until([&] {
    auto r = oci({"ps", "--format", "json", id});
    pids = r.status == 0 ? json::parse(r.out).get<std::vector<pid_t>>() : std::vector<pid_t>{};
    return pids.size() >= 3;
  }));
  for (pid_t p : pids) track(p);
  auto k = oci({"kill", "--all", id, "KILL"});
  EXPECT_EQ(k.status, 0) << k.err;
  EXPECT_TRUE(wait_until([&] {
    for (pid_t p : pids)
      if (pid_alive(p)) return false;
    return true;
  })) << "a process survived kill --all";
  EXPECT_TRUE(wait_until([&] { return status_of(id) == "stopped"; }));
}

// The container's processes, found by a marker in their command line.
std::vector<pid_t> processes_with(const std::string& marker) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (auto* e = readdir(d)) {
    pid_t p = static_cast<pid_t>(atoi(e->d_name));
    if (p > 0 && proc_cmdline(p).find(marker) != std::string::npos) out.push_back(p);
  }
  closedir(d);
  return out;
}

TEST_F(Resources, RefusedLimitNamesTheFieldAndLeavesNothing) {
  struct Case {
    const char* field;
    std::function<void(json&)> edit;
  };
  std::vector<Case> cases = {
      {"linux.resources.cpu.cpus", [](json& c) { c["linux"]["resources"]["cpu"]["cpus"] = "999"; }},
      {"linux.resources.cpu.realtimeRuntime",
       [](json& c) { c["linux"]["resources"]["cpu"]["realtimeRuntime"] = 5000000; }},
      {"linux.resources.memory.swappiness",
       [](json& c) { c["linux"]["resources"]["memory"]["swappiness"] = 500; }},
  };
  for (auto& tc : cases) {
    SCOPED_TRACE(tc.field);
    auto id = new_id("refuse");
    std::string marker = "4242" + std::to_string(ids_.size());
    auto& b = bundle({"/bin/sleep", marker}, id);
    tc.edit(b.config());
    b.write();
    auto r = oci_detached({"create", "--bundle", b.path(), id});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find(tc.field), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one clear line: " << r.err;
    EXPECT_NE(oci({"state", id}).status, 0) << "state left behind";
    EXPECT_FALSE(fs::exists(root_->path() + "/" + id)) << "state dir left behind";
    EXPECT_TRUE(cgroups_matching(id).empty()) << cgroups_matching(id).front();
    EXPECT_TRUE(processes_with("sleep " + marker).empty()) << "container process left behind";
  }
  auto l = oci({"list", "--format", "json"});
  EXPECT_EQ(l.status, 0);
  EXPECT_TRUE(trim(l.out) == "[]" || trim(l.out) == "null" || trim(l.out).empty()) << l.out;
}

TEST_F(Resources, SystemdStyleCgroupsPathBecomesAScope) {
  // No systemd here: "slice:prefix:name" lands where systemd would put the
  // unit. The root slice keeps the scope at the top, named berth-test-*.
  auto id = new_id("sd");
  auto& b = bundle({"/bin/sleep", "100000"}, id);
  b.config()["linux"]["cgroupsPath"] = "-.slice:berth-test:" + id;
  b.config()["linux"]["resources"]["pids"]["limit"] = 7;
  b.write();
  pid_t pid = start_running(id, b);
  ASSERT_GT(pid, 0);
  std::string scope = "berth-test-" + id + ".scope";
  EXPECT_EQ(trim(read_text("/sys/fs/cgroup/pids/" + scope + "/pids.max")), "7");
  auto own = read_text("/proc/" + std::to_string(pid) + "/cgroup");
  EXPECT_NE(own.find(":pids:/" + scope + "\n"), std::string::npos) << own;
  EXPECT_EQ(oci({"delete", "--force", id}).status, 0);
  EXPECT_TRUE(cgroups_matching(scope).empty());

  // A malformed slice is refused with the path in the message.
  auto id2 = new_id("sdbad");
  auto& b2 = bundle({"/bin/true"}, id2);
  b2.config()["linux"]["cgroupsPath"] = "a--b.slice:berth-test:" + id2;
  b2.write();
  auto r = oci_detached({"create", "--bundle", b2.path(), id2});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("linux.cgroupsPath"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("a--b.slice"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace berth::test::ocit
