// The berth manager end to end: real containers (the busybox rootfs and
// share_host ones), each test with its own --root, checking what a user sees
// and that nothing is left behind.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cstring>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/manager/manager_fixture.h"
#include "support/testenv.h"

namespace berth::test {
namespace {

using namespace std::chrono_literals;

class Manager : public ManagerTest {
 protected:
  Manager() : ManagerTest("berth-test-mgr") {}

  std::string shared_decl(const std::string& n, const std::string& cmd,
                          const std::string& extra = "") {
    return "[containers." + n +
           "]\nshare_host = true\ncommand = [\"/bin/busybox\", \"sh\", \"-c\", " +
           nlohmann::json(cmd).dump() + "]\nbind_mounts.\"/data\" = { host_path = \"" +
           data_.path() + "\", read_only = false }\n" + extra + "\n";
  }

  TempDir data_{"berth-test-data"};
};

constexpr const char* kTermLoop =
    "trap 'echo bye; exit 0' TERM; echo hello; while :; do sleep 0.1; done";

TEST_F(Manager, StartStatusRunLogsStop) {
  auto n = name("bm");
  declare(busybox_decl(n, kTermLoop, "timeout_stop = \"5s\""));
  auto r = berth({"start", n});
  ASSERT_EQ(r.status, 0) << r.err;
  auto st = status(n);
  EXPECT_EQ(st["state"], "up");
  EXPECT_GT(st["pid"].get<int>(), 0);
  EXPECT_TRUE(st["monitor"].get<bool>());
  EXPECT_EQ(st["restarts"], 0);
  auto txt = berth({"status", n});
  EXPECT_EQ(txt.status, 0);
  EXPECT_NE(txt.out.find(n + ": up"), std::string::npos) << txt.out;
  EXPECT_NE(txt.out.find("uptime:"), std::string::npos) << txt.out;

  auto l = berth({"list", "--json"});
  ASSERT_EQ(l.status, 0) << l.err;
  auto arr = nlohmann::json::parse(l.out);
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0]["name"], n);
  EXPECT_EQ(arr[0]["state"], "up");

  auto x = berth({"run", n, "--", "sh", "-c", "hostname; cat; exit 7"}, {.stdin_data = "piped\n"});
  EXPECT_EQ(x.status, 7) << x.err;
  EXPECT_EQ(x.out, n + "\npiped\n");

  // Starting again is a no-op, not a second copy.
  auto again = berth({"start", n});
  EXPECT_EQ(again.status, 0);
  EXPECT_NE(again.out.find("already running"), std::string::npos);
  EXPECT_EQ(status(n)["pid"], st["pid"]);

  auto s = berth({"stop", n});
  EXPECT_EQ(s.status, 0) << s.err;
  EXPECT_EQ(status(n)["state"], "down");
  EXPECT_FALSE(pid_alive(st["pid"].get<int>()));
  auto lg = berth({"logs", n});
  EXPECT_EQ(lg.status, 0);
  EXPECT_NE(lg.out.find("hello"), std::string::npos) << lg.out;
  EXPECT_NE(lg.out.find("bye"), std::string::npos) << lg.out;  // got SIGTERM, not SIGKILL
  // Stopping a stopped container is fine.
  EXPECT_EQ(berth({"stop", n}).status, 0);
}

TEST_F(Manager, StartUnknownAndFailingCommand) {
  auto n = name("bf");
  declare(busybox_decl(n, "sleep 0.3; exit 3", "restart = \"no\"") + "[containers." + n +
          "x]\npath = \"" + test_rootfs() + "\"\ncommand = [\"/nonexistent\"]\nrestart = \"no\"\n");
  names_.push_back(n + "x");
  auto u = berth({"start", "nosuch"});
  EXPECT_NE(u.status, 0);
  EXPECT_NE(u.err.find("no such container"), std::string::npos) << u.err;
  // A command that cannot be executed fails the start, with the reason on one line.
  auto bad = berth({"start", n + "x"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("start " + n + "x: "), std::string::npos) << bad.err;
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  // One that fails after exec: down, with the reason in the log; not restarted (restart = "no").
  ASSERT_EQ(berth({"start", n}).status, 0);
  ASSERT_TRUE(eventually([&] { return status(n)["state"] == "down"; }));
  EXPECT_NE(berth({"logs", n}).out.find("exited with status 3"), std::string::npos);
}

// A one-shot command that is done before the monitor sees its exec still
// ran: start succeeds (ready, then powered off), as `berth start` of a
// `true` container should.
TEST_F(Manager, OneShotCommandThatEndsAtOnceStarts) {
  auto n = name("b1");
  declare(shared_decl(n, "echo ran >> /data/count", "restart = \"no\""));
  auto r = berth({"start", n});
  EXPECT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return status(n)["state"] == "down"; }));
  EXPECT_EQ(count_lines(data_ / "count"), 1);
  auto log = berth({"logs", n}).out;
  EXPECT_NE(log.find("powered off"), std::string::npos) << log;
  // A command that fails at once: ready is its exec (as systemd's
  // Type=exec), so the start either fails with its status (it had already
  // ended when the monitor looked) or succeeds and the container is down at
  // once with that status as its last exit. Which one is a race with the
  // command's own exit, and never a hang or a silent success.
  auto f = name("b2");
  declare(shared_decl(f, "exit 3", "restart = \"no\""));
  auto rf = berth({"start", f});
  if (rf.status != 0) {
    EXPECT_NE(rf.err.find("status 3"), std::string::npos) << rf.err;
  } else {
    ASSERT_TRUE(eventually([&] { return status(f)["state"] == "down"; }));
    auto st = status(f);
    ASSERT_TRUE(st["last_exit"].is_string()) << st.dump();
    EXPECT_NE(st["last_exit"].get<std::string>().find("status 3"), std::string::npos) << st.dump();
  }
}

// A command that ends after its start leaves the container down, and
// `status` tells how its run ended (the monitor that knew it has exited).
TEST_F(Manager, StatusOfADownContainerSaysHowItsLastRunEnded) {
  auto n = name("ble");
  declare(shared_decl(n, "sleep 0.3; exit 3", "restart = \"no\""));
  auto r = berth({"start", n});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return status(n)["state"] == "down"; }));
  EXPECT_EQ(status(n)["last_exit"], "exited with status 3");
  EXPECT_NE(berth({"status", n}).out.find("last exit: exited with status 3"), std::string::npos);
}

// The compiled default profile is kept in <run>/.cache for every container
// of the root: a stop does not take it away and the next start reads it
// instead of compiling again (the file is not rewritten). `list` does not
// take the cache for a container.
TEST_F(Manager, CompiledSeccompProfileOutlivesAStop) {
  auto n = name("bsc");
  declare(shared_decl(n, "trap 'exit 0' TERM; while :; do sleep 0.1; done"));
  ASSERT_EQ(berth({"start", n}).status, 0);
  std::string dir = root_ / "run/berth/.cache/seccomp";
  auto files = [&] {
    std::vector<std::pair<std::string, int64_t>> out;
    if (!std::filesystem::is_directory(dir)) return out;
    for (auto& e : std::filesystem::directory_iterator(dir))
      out.emplace_back(e.path().filename().string(),
                       e.last_write_time().time_since_epoch().count());
    return out;
  };
  auto first = files();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(first[0].first.ends_with(".bpf")) << first[0].first;
  EXPECT_EQ(berth({"stop", n}).status, 0);
  ASSERT_EQ(berth({"start", n}).status, 0);
  EXPECT_EQ(files(), first);
  auto l = nlohmann::json::parse(berth({"list", "--json"}).out);
  ASSERT_EQ(l.size(), 1u) << l.dump();
  EXPECT_EQ(l[0]["name"], n);
  EXPECT_EQ(berth({"stop", n}).status, 0);
}

// The default seccomp profile applies to the init and to `berth run`, as
// systemd-nspawn filters by default; `seccomp = false` turns it off.
TEST_F(Manager, SeccompByDefaultAndOptOut) {
  auto a = name("bsa"), b = name("bsb");
  const char* loop = "trap 'exit 0' TERM; while :; do sleep 0.1; done";
  declare(shared_decl(a, loop) + shared_decl(b, loop, "seccomp = false"));
  ASSERT_EQ(berth({"start", a}).status, 0);
  ASSERT_EQ(berth({"start", b}).status, 0);
  auto mode = [&](const std::string& n, const std::string& pid) {
    auto r =
        berth({"run", n, "--", "/bin/busybox", "grep", "^Seccomp:", "/proc/" + pid + "/status"});
    std::string out = r.out;
    std::erase_if(out, [](char ch) { return ch == ' ' || ch == '\t' || ch == '\n'; });
    return out;
  };
  EXPECT_EQ(mode(a, "1"), "Seccomp:2");
  EXPECT_EQ(mode(a, "self"), "Seccomp:2");
  EXPECT_EQ(mode(b, "1"), "Seccomp:0");
  // The profile is a host-side setting: changing it restarts, and says so.
  auto plan = berth({"plan"});
  EXPECT_EQ(plan.out.find("seccomp"), std::string::npos) << plan.out;
  declare(shared_decl(a, loop, "seccomp = false") + shared_decl(b, loop, "seccomp = false"));
  plan = berth({"plan"});
  EXPECT_NE(plan.out.find("seccomp"), std::string::npos) << plan.out;
  EXPECT_EQ(berth({"stop", a}).status, 0);
  EXPECT_EQ(berth({"stop", b}).status, 0);
}

TEST_F(Manager, PoweroffStaysStopped) {
  auto n = name("bp");
  declare(shared_decl(n, "echo up >> /data/count; sleep 0.3; exit 0", "restart = \"on-failure\""));
  ASSERT_EQ(berth({"start", n}).status, 0);
  ASSERT_TRUE(eventually([&] { return status(n)["state"] == "down"; }));
  std::this_thread::sleep_for(700ms);
  EXPECT_EQ(count_lines(data_ / "count"), 1);  // exit 0 = powered off, never restarted
  EXPECT_NE(berth({"logs", n}).out.find("powered off"), std::string::npos);
}

TEST_F(Manager, RebootStartsAgain) {
  auto n = name("br");
  // reboot(2) in a pid namespace kills its init with SIGHUP: berth starts it again.
  declare(shared_decl(n,
                      "echo boot >> /data/count; if [ $(wc -l < /data/count) -lt 3 ]; then "
                      "sleep 0.2; /bin/busybox reboot -f; fi; "
                      "trap 'exit 0' TERM; while :; do sleep 0.1; done",
                      // reboot(2) needs CAP_SYS_BOOT, which a command container must ask for.
                      "restart = \"no\"\nadditional_capabilities = [\"CAP_SYS_BOOT\"]"));
  ASSERT_EQ(berth({"start", n}).status, 0);
  EXPECT_TRUE(eventually([&] { return count_lines(data_ / "count") >= 3; }))
      << slurp(data_ / "count");
  std::this_thread::sleep_for(300ms);
  auto st = status(n);
  EXPECT_EQ(st["state"], "up") << st.dump();
  EXPECT_EQ(count_lines(data_ / "count"), 3);
  EXPECT_NE(berth({"logs", n}).out.find("reboot requested"), std::string::npos);
  EXPECT_EQ(berth({"stop", n}).status, 0);
}

TEST_F(Manager, FailureRestartsWithBackoff) {
  auto n = name("bb");
  declare(shared_decl(n, "echo run >> /data/count; sleep 0.1; exit 3", "restart = \"on-failure\""));
  ASSERT_EQ(berth({"start", n}).status, 0);
  ASSERT_TRUE(eventually([&] { return status(n)["restarts"].get<int>() >= 3; }, 15s))
      << status(n).dump();
  EXPECT_GE(count_lines(data_ / "count"), 3);
  auto lg = berth({"logs", n}).out;
  EXPECT_NE(lg.find("exited with status 3"), std::string::npos);
  EXPECT_NE(lg.find("restarting in"), std::string::npos);
  EXPECT_EQ(berth({"stop", n}).status, 0);
  EXPECT_EQ(status(n)["state"], "down");
}

TEST_F(Manager, TimeoutStartFailsWithReason) {
  // A booted init that never sends READY=1 on the notify socket it was told to use.
  TempDir tree("berth-test-tree");
  ASSERT_EQ(sh("cp -a " + test_rootfs() + "/. " + tree.path() + "/ && rm " + tree.path() +
               "/sbin/init && printf '#!/bin/sh\\nexec sleep 1000\\n' > " + tree.path() +
               "/sbin/init && chmod +x " + tree.path() + "/sbin/init")
                .status,
            0);
  auto n = name("bt");
  declare("[containers." + n + "]\npath = \"" + tree.path() +
          "\"\nboot = true\nready = \"notify\"\ntimeout_start = \"1500ms\"\n");
  auto t0 = std::chrono::steady_clock::now();
  auto r = berth({"start", n});
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("not ready after 1500ms"), std::string::npos) << r.err;
  EXPECT_GE(took, 1400ms);
  EXPECT_LT(took, 10s);
  EXPECT_EQ(status(n)["state"], "down");
}

TEST_F(Manager, StopTimeoutKills) {
  auto n = name("bk");
  // A command that ignores SIGTERM (the stub init forwards it; an ignored
  // disposition survives the exec): only the SIGKILL after timeout_stop ends it.
  declare(busybox_decl(n, "trap '' TERM; exec sleep 1000", "timeout_stop = \"1s\""));
  ASSERT_EQ(berth({"start", n}).status, 0);
  auto pid = status(n)["pid"].get<int>();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(berth({"stop", n}).status, 0);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 8s);
  EXPECT_FALSE(pid_alive(pid));
  EXPECT_NE(berth({"logs", n}).out.find("stop timeout"), std::string::npos);
}

TEST_F(Manager, TerminateKillsAtOnce) {
  auto n = name("bx");
  declare(busybox_decl(n, "exec sleep 1000", "timeout_stop = \"30s\""));
  ASSERT_EQ(berth({"start", n}).status, 0);
  auto pid = status(n)["pid"].get<int>();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(berth({"terminate", n}).status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_FALSE(pid_alive(pid));
  EXPECT_EQ(status(n)["state"], "down");
}

TEST_F(Manager, KilledMonitor) {
  auto n = name("bd");
  declare(busybox_decl(n, kTermLoop, "timeout_stop = \"5s\""));
  ASSERT_EQ(berth({"start", n}).status, 0);
  auto st = status(n);
  int mon = st["monitor_pid"].get<int>(), pid = st["pid"].get<int>();
  ASSERT_EQ(::kill(mon, SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return !pid_alive(mon); }));
  auto st2 = status(n);
  EXPECT_EQ(st2["state"], "up");
  EXPECT_TRUE(st2["monitor_died"].get<bool>());
  EXPECT_NE(berth({"status", n}).out.find("monitor died"), std::string::npos);
  // start refuses to start a second copy.
  auto s2 = berth({"start", n});
  EXPECT_NE(s2.status, 0);
  EXPECT_NE(s2.err.find("monitor died"), std::string::npos) << s2.err;
  EXPECT_EQ(berth({"stop", n}).status, 0);
  EXPECT_FALSE(pid_alive(pid));
  EXPECT_EQ(status(n)["state"], "down");
  // And it can be started again afterwards.
  ASSERT_EQ(berth({"start", n}).status, 0);
  EXPECT_EQ(berth({"terminate", n}).status, 0);
}

TEST_F(Manager, ConcurrentStartsStartOneCopy) {
  auto n = name("bc");
  declare(shared_decl(
      n, "echo started >> /data/count; trap 'exit 0' TERM; while :; do sleep 0.1; done"));
  RunResult a, b;
  std::thread ta([&] { a = berth({"start", n}); });
  std::thread tb([&] { b = berth({"start", n}); });
  ta.join();
  tb.join();
  EXPECT_EQ(a.status, 0) << a.err;
  EXPECT_EQ(b.status, 0) << b.err;
  EXPECT_NE((a.out + b.out).find("already running"), std::string::npos);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(count_lines(data_ / "count"), 1);
  EXPECT_EQ(berth({"stop", n}).status, 0);
}

TEST_F(Manager, ApplyAndPlan) {
  auto a = name("ba"), b = name("bn");
  auto decl_a = [&](const std::string& cmd, const std::string& extra) {
    return busybox_decl(a, cmd, "autostart = true\ntimeout_stop = \"3s\"\n" + extra);
  };
  declare(decl_a(kTermLoop, "") + busybox_decl(b, kTermLoop));
  auto p = berth({"plan"});
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_EQ(p.out, "start " + a + ": autostart, not running\n");
  EXPECT_EQ(status(a)["state"], "down");  // plan changes nothing
  auto ap = berth({"apply"});
  ASSERT_EQ(ap.status, 0) << ap.err;
  EXPECT_EQ(status(a)["state"], "up");
  EXPECT_EQ(status(b)["state"], "down");
  EXPECT_EQ(berth({"apply", "--dry-run"}).out,
            "nothing to do: the host matches the declarations\n");

  // Resources only: applied live, same process.
  int pid = status(a)["pid"].get<int>();
  declare(decl_a(kTermLoop, "resources = { memory = \"64M\" }") + busybox_decl(b, kTermLoop));
  auto up = berth({"apply"});
  ASSERT_EQ(up.status, 0) << up.err << up.out;
  EXPECT_NE(up.out.find("update " + a + ": live, no restart: resources: cgroup limits"),
            std::string::npos)
      << up.out;
  EXPECT_EQ(status(a)["pid"].get<int>(), pid);
  auto lim = slurp("/sys/fs/cgroup/memory/berth/" + a + "/memory.limit_in_bytes");
  EXPECT_EQ(lim, std::to_string(64 << 20) + "\n");

  // The command changed: restarted.
  declare(decl_a(std::string("echo v2; ") + kTermLoop, "resources = { memory = \"64M\" }") +
          busybox_decl(b, kTermLoop));
  auto rs = berth({"apply"});
  ASSERT_EQ(rs.status, 0) << rs.err;
  EXPECT_NE(rs.out.find("restart " + a + ": declaration changed (command)"), std::string::npos)
      << rs.out;
  EXPECT_NE(status(a)["pid"].get<int>(), pid);
  EXPECT_EQ(status(a)["state"], "up");

  // Removed from the file: stopped.
  declare(busybox_decl(b, kTermLoop));
  auto rm = berth({"apply"});
  ASSERT_EQ(rm.status, 0) << rm.err;
  EXPECT_NE(rm.out.find("stop " + a + ": no longer declared"), std::string::npos) << rm.out;
  EXPECT_EQ(status(a)["state"], "gone");

  // An invalid file changes nothing.
  declare("[containers.x]\nbogus = 1\n");
  EXPECT_NE(berth({"apply"}).status, 0);
}

TEST_F(Manager, BootInDependencyOrder) {
  auto a = name("bo"), b = name("bq"), c = name("bs");
  declare(shared_decl(a, "echo a >> /data/order; trap 'exit 0' TERM; while :; do sleep 0.1; done",
                      "autostart = true") +
          shared_decl(b, "echo b >> /data/order; trap 'exit 0' TERM; while :; do sleep 0.1; done",
                      "autostart = true\nafter = [\"" + a + "\"]") +
          shared_decl(c, "trap 'exit 0' TERM; while :; do sleep 0.1; done"));
  auto r = berth({"boot"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(status(a)["state"], "up");
  EXPECT_EQ(status(b)["state"], "up");
  EXPECT_EQ(status(c)["state"], "down");  // not autostart
  EXPECT_EQ(slurp(data_ / "order"), "a\nb\n");
}

// A relative --root is the working directory's: start (whose monitor works
// from /) finds the same declarations as check.
TEST_F(Manager, RelativeRootIsTheWorkingDirectorys) {
  auto n = name("rel");
  declare(busybox_decl(n, kTermLoop));
  auto slash = root_.path().rfind('/');
  RunOptions o;
  o.cwd = root_.path().substr(0, slash);
  std::string rel = root_.path().substr(slash + 1);
  auto s = run({test::berth(), "--root", rel, "start", n}, o);
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_EQ(status(n)["state"], "up");
  EXPECT_EQ(run({test::berth(), "--root", rel, "stop", n}, o).status, 0);
}

TEST_F(Manager, CreateDestroyResetState) {
  declare("");
  auto n = name("bz");
  auto r =
      berth({"create", n, "--share-host", "--autostart", "--", "/bin/busybox", "sleep", "1000"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto file = root_ / ("etc/berth/containers.d/" + n + ".toml");
  EXPECT_TRUE(exists(file));
  // User-namespaced unless told otherwise (#14).
  EXPECT_NE(slurp(file).find("private_users = \"pick\""), std::string::npos) << slurp(file);
  EXPECT_EQ(berth({"check"}).status, 0);
  auto priv = name("bp");
  ASSERT_EQ(berth({"create", priv, "--private-users=no", "--", "/bin/busybox", "true"}).status, 0);
  auto pf = slurp(root_ / ("etc/berth/containers.d/" + priv + ".toml"));
  EXPECT_NE(pf.find("private_users = \"no\""), std::string::npos) << pf;
  auto bad = berth({"create", name("bq"), "--private-users=maybe", "--", "/bin/true"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("--private-users"), std::string::npos) << bad.err;
  EXPECT_EQ(berth({"destroy", priv}).status, 0);
  // Automatic addresses: the first free pair.
  auto m = name("by");
  auto r2 = berth({"create", m, "--private-network", "--", "/bin/busybox", "sleep", "1000"});
  ASSERT_EQ(r2.status, 0) << r2.err;
  auto s = slurp(root_ / ("etc/berth/containers.d/" + m + ".toml"));
  EXPECT_NE(s.find("host_address = \"10.233.0.1\""), std::string::npos) << s;
  EXPECT_NE(s.find("local_address = \"10.233.0.2\""), std::string::npos) << s;
  auto ip = berth({"show-ip", m});
  EXPECT_EQ(ip.out, "10.233.0.2\nfd62:6572:7468::2\n");  // create allocates the IPv6 twin too
  EXPECT_NE(berth({"create", n}).status, 0);             // taken
  ASSERT_EQ(berth({"start", n}).status, 0);
  EXPECT_TRUE(status(n)["uid_base"].is_number()) << status(n);
  EXPECT_NE(berth({"reset-state", n}).status, 0);  // running
  EXPECT_EQ(berth({"destroy", n}).status, 0);
  EXPECT_FALSE(exists(file));
  EXPECT_FALSE(exists(root_ / ("var/lib/berth/containers/" + n)));
  EXPECT_EQ(status(n)["state"], "gone");
  EXPECT_EQ(berth({"destroy", m}).status, 0);
  // Declared in containers.toml: refused.
  auto d = name("bw");
  declare(busybox_decl(d, kTermLoop));
  auto dd = berth({"destroy", d});
  EXPECT_NE(dd.status, 0);
  EXPECT_NE(dd.err.find("containers.toml"), std::string::npos) << dd.err;
}

TEST_F(Manager, LogIsBounded) {
  auto n = name("bl");
  // 3 MiB of output: the log rotates at 1 MiB, keeping one old file.
  // (yes | head: two processes, not thousands, so a loaded machine keeps up)
  declare(
      busybox_decl(n, "yes " + std::string(99, 'x') +
                          " | head -n 31457; "
                          "echo done-writing; trap 'exit 0' TERM; while :; do sleep 0.1; done"));
  ASSERT_EQ(berth({"start", n}).status, 0);
  auto log = root_ / ("var/log/berth/" + n + ".log");
  ASSERT_TRUE(
      eventually([&] { return slurp(log).find("done-writing") != std::string::npos; }, 60s));
  struct stat a, b;
  ASSERT_EQ(::stat(log.c_str(), &a), 0);
  ASSERT_EQ(::stat((log + ".1").c_str(), &b), 0);
  EXPECT_LE(a.st_size, 1 << 20);
  EXPECT_LE(b.st_size, (1 << 20) + 65536);
  EXPECT_EQ(berth({"stop", n}).status, 0);
}

TEST_F(Manager, ForegroundMonitorNotifiesSystemd) {
  auto n = name("bg");
  declare(busybox_decl(n, kTermLoop));
  // Plays systemd: a notify socket the monitor sends READY=1 to.
  std::string sock = data_ / "notify.sock";
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::string exe = test::berth(), root = root_.path();
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setenv("NOTIFY_SOCKET", sock.c_str(), 1);
    ::execl(exe.c_str(), "berth", "--root", root.c_str(), "monitor", n.c_str(), "--foreground",
            static_cast<char*>(nullptr));
    _exit(127);
  }
  struct pollfd p = {fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 15000), 1);
  char buf[256] = {};
  ASSERT_GT(::recv(fd, buf, sizeof(buf) - 1, 0), 0);
  EXPECT_NE(std::string(buf).find("READY=1"), std::string::npos) << buf;
  EXPECT_EQ(status(n)["state"], "up");
  EXPECT_EQ(berth({"stop", n}).status, 0);
  int ws = 0;
  ASSERT_EQ(::waitpid(pid, &ws, 0), pid);
  EXPECT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0) << ws;
  ::close(fd);
}

TEST_F(Manager, GenerateSystemd) {
  auto r = berth({"generate", "systemd"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto unit = slurp(root_ / "etc/systemd/system/berth-container@.service");
  EXPECT_NE(unit.find("Type=notify"), std::string::npos);
  EXPECT_NE(unit.find("monitor %i --foreground"), std::string::npos);
}

}  // namespace
}  // namespace berth::test
