// The manager's update/apply decisions, `create` (config file, unique names,
// IPv4+IPv6 allocation, collisions), ephemeral containers and
// private_users = "pick", end to end with real containers: the busybox rootfs
// and share_host ones, each test with its own --root, nothing left behind.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/manager/manager_fixture.h"
#include "support/testenv.h"

namespace berth::test {
namespace {

using namespace std::chrono_literals;

std::string hex(int n) {
  char b[16];
  std::snprintf(b, sizeof b, "%x", n);
  return b;
}

constexpr const char* kTermLoop =
    "trap 'echo bye; exit 0' TERM; echo hello; while :; do sleep 0.1; done";

class Features : public ManagerTest {
 protected:
  Features() : ManagerTest("berth-test-mgrf") {}

  void SetUp() override {
    ManagerTest::SetUp();
    if (IsSkipped()) return;
    // A container with its own user namespace must be able to reach its
    // root through the test's dirs (mkdtemp makes them 0700).
    ::chmod(root_.path().c_str(), 0755);
    ::chmod(data_.path().c_str(), 0777);
  }
  // Not only in the test's view: in every mount namespace.
  void expect_nothing_mounted() override {
    auto left = mounts_anywhere(root_.path());
    EXPECT_TRUE(left.empty()) << left.front();
  }

  // Names, sizes, modes, owners and mtimes of everything in a tree.
  std::string fingerprint(const std::string& tree) {
    return sh("cd " + tree + " && find . -printf '%p %s %m %U %G %T@\\n' | sort").out;
  }
  std::string in(const std::string& n, const std::string& cmd) {
    auto r = berth({"run", n, "--", "/bin/sh", "-c", cmd});
    EXPECT_EQ(r.status, 0) << cmd << ": " << r.err;
    return r.out;
  }
  static std::string cgroup_file(const std::string& ctl, const std::string& n,
                                 const std::string& file) {
    return "/sys/fs/cgroup/" + ctl + "/berth/" + n + "/" + file;
  }

  TempDir data_{"berth-test-data"};
};

// ---- update ----

TEST_F(Features, UpdateAppliesOneContainersChange) {
  auto a = name("fu"), b = name("fv");
  auto decl = [&](const std::string& cmd, const std::string& extra) {
    // CAP_SYS_BOOT: the reboot below (a command container does not get it by default).
    return busybox_decl(
               a, cmd,
               "timeout_stop = \"3s\"\nadditional_capabilities = [\"CAP_SYS_BOOT\"]\n" + extra) +
           busybox_decl(b, kTermLoop);
  };
  declare(decl(kTermLoop, ""));
  ASSERT_EQ(berth({"start", a}).status, 0);
  int pid = pid_of(a);
  ASSERT_GT(pid, 0);

  // Unchanged: untouched.
  auto same = berth({"update", a});
  ASSERT_EQ(same.status, 0) << same.err;
  EXPECT_EQ(same.out, "nothing to do: " + a + " runs its current declaration\n");
  EXPECT_EQ(pid_of(a), pid);

  // Resources: live, same process, the new limits in its cgroup.
  declare(decl(kTermLoop, "resources = { memory = \"48M\", pids = 77 }"));
  auto live = berth({"update", a});
  ASSERT_EQ(live.status, 0) << live.err;
  EXPECT_EQ(live.out, "update " + a + ": live, no restart: resources: cgroup limits\n");
  EXPECT_EQ(pid_of(a), pid);
  EXPECT_EQ(slurp(cgroup_file("memory", a, "memory.limit_in_bytes")),
            std::to_string(48 << 20) + "\n");
  EXPECT_EQ(slurp(cgroup_file("pids", a, "pids.max")), "77\n");
  EXPECT_EQ(berth({"update", a}).out, "nothing to do: " + a + " runs its current declaration\n");
  // A reboot from inside keeps the limits applied live.
  berth({"run", a, "--", "/bin/busybox", "reboot", "-f"});
  int rebooted = 0;
  for (int i = 0; i < 250 && (rebooted == 0 || rebooted == pid); ++i) {
    std::this_thread::sleep_for(20ms);
    rebooted = pid_of(a);
  }
  ASSERT_NE(rebooted, pid);
  ASSERT_GT(rebooted, 0);
  EXPECT_EQ(slurp(cgroup_file("memory", a, "memory.limit_in_bytes")),
            std::to_string(48 << 20) + "\n");
  EXPECT_EQ(slurp(cgroup_file("pids", a, "pids.max")), "77\n");
  pid = rebooted;

  // Anything the container is set up with: restarted, and says what changed.
  declare(decl(std::string("echo v2; ") + kTermLoop,
               "resources = { memory = \"48M\", pids = 77 }\nhostname = \"other\""));
  auto re = berth({"update", a});
  ASSERT_EQ(re.status, 0) << re.err;
  EXPECT_EQ(re.out, "restart " + a + ": declaration changed (command, hostname)\n");
  int pid2 = pid_of(a);
  EXPECT_GT(pid2, 0);
  EXPECT_NE(pid2, pid);
  EXPECT_FALSE(pid_alive(pid));
  EXPECT_EQ(status(a)["state"], "up");
  EXPECT_EQ(in(a, "hostname"), "other\n");

  // Not running: left alone.
  auto idle = berth({"update", b});
  EXPECT_EQ(idle.status, 0) << idle.err;
  EXPECT_NE(idle.out.find(b + " is not running"), std::string::npos) << idle.out;
  EXPECT_EQ(status(b)["state"], "down");
  // Unknown.
  auto unk = berth({"update", "nosuch"});
  EXPECT_NE(unk.status, 0);
  EXPECT_NE(unk.err.find("no such container declared"), std::string::npos) << unk.err;
  EXPECT_EQ(berth({"stop", a}).status, 0);
}

// ---- apply: each kind of change ----

TEST_F(Features, ApplyRestartsOnlyWhatChanged) {
  auto u = name("fau"), r = name("far"), h = name("fah"), d = name("fad"), n = name("fan");
  const std::string as = "autostart = true\ntimeout_stop = \"3s\"\n";
  declare(busybox_decl(u, kTermLoop, as) + busybox_decl(r, kTermLoop, as) +
          busybox_decl(h, kTermLoop, as) + busybox_decl(d, kTermLoop, as));
  auto first = berth({"apply"});
  ASSERT_EQ(first.status, 0) << first.err;
  std::map<std::string, int> pids;
  for (auto& c : {u, r, h, d}) {
    pids[c] = pid_of(c);
    ASSERT_GT(pids[c], 0) << c;
  }

  declare(busybox_decl(u, kTermLoop, as) +
          busybox_decl(r, kTermLoop, as + "resources = { memory = \"40M\" }") +
          busybox_decl(h, kTermLoop, as + "hostname = \"other\"\n") +
          busybox_decl(n, kTermLoop, as));
  auto plan = berth({"plan"});
  ASSERT_EQ(plan.status, 0) << plan.err;
  EXPECT_EQ(pid_of(h), pids[h]);  // plan changes nothing
  auto ap = berth({"apply"});
  ASSERT_EQ(ap.status, 0) << ap.err << ap.out;
  EXPECT_EQ(ap.out, plan.out);  // apply does what plan said
  EXPECT_EQ(ap.out.find(u), std::string::npos) << ap.out;
  EXPECT_NE(ap.out.find("update " + r + ": live, no restart: resources: cgroup limits\n"),
            std::string::npos)
      << ap.out;
  EXPECT_NE(ap.out.find("restart " + h + ": declaration changed (hostname)\n"), std::string::npos)
      << ap.out;
  EXPECT_NE(ap.out.find("stop " + d + ": no longer declared\n"), std::string::npos) << ap.out;
  EXPECT_NE(ap.out.find("start " + n + ": autostart, not running\n"), std::string::npos) << ap.out;

  EXPECT_EQ(pid_of(u), pids[u]);  // unchanged: untouched
  EXPECT_EQ(pid_of(r), pids[r]);  // resources: live
  EXPECT_EQ(slurp(cgroup_file("memory", r, "memory.limit_in_bytes")),
            std::to_string(40 << 20) + "\n");
  EXPECT_NE(pid_of(h), pids[h]);  // not a live key: a new process
  EXPECT_EQ(status(h)["state"], "up");
  EXPECT_FALSE(pid_alive(pids[h]));
  EXPECT_EQ(in(h, "hostname"), "other\n");
  EXPECT_EQ(status(d)["state"], "gone");  // removed: stopped
  EXPECT_FALSE(pid_alive(pids[d]));
  EXPECT_EQ(status(n)["state"], "up");  // new: started
  EXPECT_EQ(berth({"apply"}).out, "nothing to do: the host matches the declarations\n");
}

// ---- create ----

TEST_F(Features, CreateAllocatesDistinctPairsAndRefusesCollisions) {
  declare("");
  auto a = name("fca"), b = name("fcb");
  RunResult ra, rb;
  std::thread ta([&] {
    ra = berth({"create", a, "--private-network", "--", "/bin/busybox", "sleep", "1000"});
  });
  std::thread tb([&] {
    rb = berth({"create", b, "--private-network", "--", "/bin/busybox", "sleep", "1000"});
  });
  ta.join();
  tb.join();
  ASSERT_EQ(ra.status, 0) << ra.err;
  ASSERT_EQ(rb.status, 0) << rb.err;
  std::set<std::string> n_used;
  for (auto& c : {a, b}) {
    auto s = slurp(root_ / ("etc/berth/containers.d/" + c + ".toml"));
    std::smatch m;
    ASSERT_TRUE(std::regex_search(s, m, std::regex("host_address = \"10\\.233\\.(\\d+)\\.1\"")))
        << s;
    std::string n = m[1];
    // The matching IPv6 pair, in canonical form (pair 0 is fd62:6572:7468::1).
    std::string p6 = n == "0" ? "fd62:6572:7468::" : "fd62:6572:7468:" + hex(std::stoi(n)) + "::";
    EXPECT_NE(s.find("local_address = \"10.233." + n + ".2\""), std::string::npos) << s;
    EXPECT_NE(s.find("host_address6 = \"" + p6 + "1\""), std::string::npos) << s;
    EXPECT_NE(s.find("local_address6 = \"" + p6 + "2\""), std::string::npos) << s;
    n_used.insert(n);
  }
  EXPECT_EQ(n_used.size(), 2u) << ra.err << rb.err;  // distinct pairs
  EXPECT_NE(ra.err.find("host IP is 10.233."), std::string::npos) << ra.err;
  EXPECT_EQ(berth({"check"}).status, 0);

  // Given addresses are checked against every declared and created container.
  auto x = name("fcx");
  declare(busybox_decl(
      x, kTermLoop,
      "private_network = true\nhost_address = \"10.77.0.1\"\nlocal_address = \"10.77.0.2\"\n"
      "host_address6 = \"fd00:77::1\"\nlocal_address6 = \"fd00:77::2\""));
  auto c = name("fcc");
  auto dup4 = berth({"create", c, "--host-address", "10.88.0.1", "--local-address", "10.77.0.2"});
  EXPECT_NE(dup4.status, 0);
  EXPECT_NE(dup4.err.find("local_address 10.77.0.2 is already used by container " + x),
            std::string::npos)
      << dup4.err;
  auto dup6 =
      berth({"create", c, "--host-address6", "fd00:88::1", "--local-address6", "fd00:77::2"});
  EXPECT_NE(dup6.status, 0);
  EXPECT_NE(dup6.err.find("local_address6 fd00:77::2 is already used by container " + x),
            std::string::npos)
      << dup6.err;
  auto s0 = slurp(root_ / ("etc/berth/containers.d/" + a + ".toml"));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(s0, m, std::regex("local_address = \"([0-9.]+)\"")));
  auto dupc =
      berth({"create", c, "--host-address", std::string(m[1]), "--local-address", "10.99.0.2"});
  EXPECT_NE(dupc.status, 0);
  EXPECT_NE(
      dupc.err.find("host_address " + std::string(m[1]) + " is already used by container " + a),
      std::string::npos)
      << dupc.err;
  auto half = berth({"create", c, "--local-address", "10.99.0.2"});
  EXPECT_NE(half.status, 0);
  EXPECT_NE(half.err.find("give both the host and the local IPv4 address"), std::string::npos)
      << half.err;
  EXPECT_FALSE(exists(root_ / ("etc/berth/containers.d/" + c + ".toml")));
  // A third allocation skips every pair in use, the declared ones too.
  auto ok = berth({"create", c, "--private-network", "--host-address6", "fd00:99::1",
                   "--local-address6", "fd00:99::2"});
  ASSERT_EQ(ok.status, 0) << ok.err;
  auto sc = slurp(root_ / ("etc/berth/containers.d/" + c + ".toml"));
  EXPECT_EQ(sc.find("10.233."), std::string::npos) << sc;  // v6 given: nothing allocated
  EXPECT_EQ(berth({"check"}).status, 0);
}

TEST_F(Features, CreateFromConfigFileAndUniqueNames) {
  declare("");
  auto n = name("fcf");
  std::string cfg = data_ / "web.toml";
  std::ofstream(cfg) << "# the settings of one container\n"
                        "command = [\"/bin/busybox\", \"sh\", \"-c\", \"trap 'exit 0' TERM; while "
                        ":; do sleep 0.1; done\"]\n"
                        "environment = { GREETING = \"hi there\" }\n"
                        "timeout_stop = \"4s\"\n"
                        "resources = { memory = \"96M\", pids = 50 }\n"
                        "[bind_mounts.\"/data\"]\nhost_path = \"" +
                            data_.path() + "\"\nread_only = false\n";
  auto r = berth({"create", n, "--config-file", cfg});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, n + "\n");
  auto file = root_ / ("etc/berth/containers.d/" + n + ".toml");
  auto s = slurp(file);
  EXPECT_NE(s.find("[containers.\"" + n + "\"]"), std::string::npos) << s;
  EXPECT_NE(s.find("share_host = true"), std::string::npos)
      << s;  // neither path nor share_host given
  EXPECT_NE(s.find("GREETING = \"hi there\""), std::string::npos) << s;
  EXPECT_NE(s.find("timeout_stop = \"4s\""), std::string::npos) << s;
  EXPECT_NE(s.find("memory = \"96M\""), std::string::npos) << s;
  EXPECT_NE(s.find("read_only = false"), std::string::npos) << s;
  EXPECT_EQ(s.find("boot = true"), std::string::npos) << s;
  EXPECT_EQ(berth({"check"}).status, 0);
  // The settings took effect.
  ASSERT_EQ(berth({"start", n}).status, 0);
  EXPECT_EQ(in(n, "echo $GREETING; echo w > /data/w"), "hi there\n");
  EXPECT_EQ(slurp(cgroup_file("pids", n, "pids.max")), "50\n");
  EXPECT_EQ(slurp(data_ / "w"), "w\n");
  EXPECT_EQ(berth({"stop", n}).status, 0);

  // The same name again: refused, or NAME-1 with --ensure-unique-name.
  EXPECT_NE(berth({"create", n, "--config-file", cfg}).status, 0);
  names_.push_back(n + "-1");
  // JSON too; options given on the command line win over the file's.
  std::string js = data_ / "web.json";
  std::ofstream(js) << R"({"command": ["/bin/true"], "autostart": false, "tmpfs": ["/scratch"]})";
  auto u = berth({"create", n, "--ensure-unique-name", "--config-file", js, "--autostart", "--path",
                  test_rootfs()});
  ASSERT_EQ(u.status, 0) << u.err;
  EXPECT_EQ(u.out, n + "-1\n");
  auto s1 = slurp(root_ / ("etc/berth/containers.d/" + n + "-1.toml"));
  EXPECT_NE(s1.find("command = [\"/bin/true\"]"), std::string::npos) << s1;
  EXPECT_NE(s1.find("tmpfs = [\"/scratch\"]"), std::string::npos) << s1;
  EXPECT_NE(s1.find("autostart = true"), std::string::npos) << s1;
  EXPECT_NE(s1.find("path = \"" + test_rootfs() + "\""), std::string::npos) << s1;
  EXPECT_EQ(s1.find("share_host"), std::string::npos) << s1;
  EXPECT_EQ(berth({"check"}).status, 0);

  // A bad file is refused with where and what, and nothing is written.
  auto bad_name = name("fcg");
  std::string bad = data_ / "bad.toml";
  std::ofstream(bad) << "command = [\"/bin/true\"]\nresources = { memory = \"lots\" }\n";
  auto b = berth({"create", bad_name, "--config-file", bad});
  EXPECT_NE(b.status, 0);
  EXPECT_NE(b.err.find("resources.memory"), std::string::npos) << b.err;
  std::ofstream(bad) << "[containers.x]\ncommand = [\"/bin/true\"]\n";
  auto b2 = berth({"create", bad_name, "--config-file", bad});
  EXPECT_NE(b2.status, 0);
  EXPECT_NE(b2.err.find("not a [containers.NAME] table"), std::string::npos) << b2.err;
  EXPECT_FALSE(exists(root_ / ("etc/berth/containers.d/" + bad_name + ".toml")));
}

// environment changed live (#15): the running init keeps its own, every
// `run` from then on gets the new one; a restart of the container starts the
// init with it too.
TEST_F(Features, EnvironmentOfNewRunsChangesLive) {
  auto a = name("fenv");
  declare(busybox_decl(a, kTermLoop, "environment = { KEEP = \"k\", OLD = \"1\", CHG = \"a\" }\n"));
  ASSERT_EQ(berth({"start", a}).status, 0);
  int pid = pid_of(a);
  declare(busybox_decl(a, kTermLoop, "environment = { KEEP = \"k\", NEW = \"2\", CHG = \"b\" }\n"));
  auto plan = berth({"plan"});
  EXPECT_EQ(plan.out,
            "update " + a + ": live, no restart: environment: new runs (-OLD, ~CHG, +NEW)\n")
      << plan.err;
  auto up = berth({"update", a});
  ASSERT_EQ(up.status, 0) << up.err;
  EXPECT_EQ(pid_of(a), pid);
  auto r = berth({"run", a, "--", "/bin/sh", "-c", "echo $KEEP-$OLD-$NEW-$CHG"});
  EXPECT_EQ(r.out, "k--2-b\n") << r.err;
  EXPECT_EQ(berth({"update", a}).out, "nothing to do: " + a + " runs its current declaration\n");
  ASSERT_EQ(berth({"restart", a}).status, 0);
  r = berth({"run", a, "--", "/bin/sh", "-c", "echo $KEEP-$OLD-$NEW-$CHG"});
  EXPECT_EQ(r.out, "k--2-b\n") << r.err;
  ASSERT_EQ(berth({"stop", a}).status, 0);
}

// extra_hosts (#15): names in the container's /etc/hosts in a block of
// berth's, the tree's own lines kept; changed live (also in a user-namespaced
// container, written through its idmapped tree) and removed with the key.
TEST_F(Features, ExtraHostsInEtcHostsChangeLive) {
  TempDir ta{"berth-test-xha"}, tb{"berth-test-xhb"};
  std::string trees[2] = {copy_tree(ta), copy_tree(tb)};
  std::string original = slurp(trees[0] + "/etc/hosts");
  auto a = name("fxh"), b = name("fxu");
  auto decls = [&](const std::string& extra) {
    return busybox_decl(a, kTermLoop, extra, trees[0]) +
           busybox_decl(b, kTermLoop, "private_users = \"pick\"\n" + extra, trees[1]);
  };
  declare(decls(
      "extra_hosts = { \"db.example\" = \"192.0.2.10\", \"v6.example\" = \"2001:db8::10\" }\n"));
  ASSERT_EQ(berth({"start", a, b}).status, 0);
  int pa = pid_of(a), pb = pid_of(b);
  for (auto& n : {a, b}) {
    auto h = in(n, "cat /etc/hosts");
    EXPECT_NE(h.find("192.0.2.10\tdb.example\n"), std::string::npos) << h;
    EXPECT_NE(h.find("2001:db8::10\tv6.example\n"), std::string::npos) << h;
    EXPECT_EQ(h.substr(0, original.size()), original);
  }
  declare(decls(
      "extra_hosts = { \"db.example\" = \"192.0.2.11\", \"new.example\" = \"192.0.2.12\" }\n"));
  auto plan = berth({"plan"});
  for (auto& n : {a, b})
    EXPECT_NE(plan.out.find("update " + n +
                            ": live, no restart: extra_hosts: its /etc/hosts (-v6.example, "
                            "~db.example, +new.example)\n"),
              std::string::npos)
        << plan.out << plan.err;
  auto ap = berth({"apply"});
  ASSERT_EQ(ap.status, 0) << ap.out << ap.err;
  EXPECT_EQ(pid_of(a), pa);
  EXPECT_EQ(pid_of(b), pb);
  for (auto& n : {a, b}) {
    auto h = in(n, "cat /etc/hosts");
    EXPECT_EQ(h, original +
                     "# BEGIN berth extra_hosts\n192.0.2.11\tdb.example\n"
                     "192.0.2.12\tnew.example\n# END berth extra_hosts\n");
  }
  declare(decls(""));
  ap = berth({"apply"});
  ASSERT_EQ(ap.status, 0) << ap.out << ap.err;
  for (auto& n : {a, b}) EXPECT_EQ(in(n, "cat /etc/hosts"), original);
  ASSERT_EQ(berth({"stop", a, b}).status, 0);
}

TEST_F(Features, UpdateWithConfigFile) {
  auto d = name("fud");
  declare(busybox_decl(d, kTermLoop));
  auto n = name("fuc"), m = name("fum");
  auto cfg = [&](const std::string& file, const std::string& greeting, const std::string& extra) {
    std::ofstream(data_ / file) << "command = [\"/bin/busybox\", \"sh\", \"-c\", \"trap 'exit 0' "
                                   "TERM; while :; do sleep 0.1; done\"]\n"
                                   "environment = { GREETING = \"" +
                                       greeting + "\" }\n" + extra;
    return data_ / file;
  };
  ASSERT_EQ(berth({"create", n, "--config-file", cfg("one.toml", "one", "")}).status, 0);
  ASSERT_EQ(berth({"start", n}).status, 0);
  EXPECT_EQ(in(n, "echo $GREETING"), "one\n");
  int pid = pid_of(n);
  auto u = berth({"update", n, "--config-file", cfg("two.toml", "two", "")});
  ASSERT_EQ(u.status, 0) << u.err;
  EXPECT_EQ(u.out, "update " + n + ": live, no restart: environment: new runs (~GREETING)\n");
  EXPECT_EQ(pid_of(n), pid);
  EXPECT_EQ(in(n, "echo $GREETING"), "two\n");
  pid = pid_of(n);
  auto live = berth({"update", n, "--config-file",
                     cfg("three.toml", "two", "resources = { memory = \"72M\" }\n")});
  ASSERT_EQ(live.status, 0) << live.err;
  EXPECT_EQ(live.out, "update " + n + ": live, no restart: resources: cgroup limits\n");
  EXPECT_EQ(pid_of(n), pid);
  EXPECT_EQ(slurp(cgroup_file("memory", n, "memory.limit_in_bytes")),
            std::to_string(72 << 20) + "\n");
  EXPECT_EQ(berth({"stop", n}).status, 0);

  // The addresses create allocated stay.
  ASSERT_EQ(berth({"create", m, "--private-network", "--", "/bin/true"}).status, 0);
  auto file = root_ / ("etc/berth/containers.d/" + m + ".toml");
  auto before = slurp(file);
  auto um = berth({"update", m, "--config-file", data_ / "two.toml"});
  ASSERT_EQ(um.status, 0) << um.err;
  EXPECT_NE(um.out.find(m + " is not running"), std::string::npos) << um.out;
  auto after = slurp(file);
  for (const char* key :
       {"host_address = ", "local_address = ", "host_address6 = ", "local_address6 = "}) {
    auto line = [&](const std::string& t) {
      auto p = t.find(std::string("\n") + key);
      return p == std::string::npos ? std::string() : t.substr(p, t.find('\n', p + 1) - p);
    };
    EXPECT_NE(line(before), "") << key << before;
    EXPECT_EQ(line(after), line(before)) << key << after;
  }
  EXPECT_NE(after.find("GREETING = \"two\""), std::string::npos) << after;
  // An invalid file changes nothing; a declared container is not rewritten.
  auto bad =
      berth({"update", m, "--config-file", cfg("bad.toml", "x", "timeout_stop = \"forever\"\n")});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("timeout_stop"), std::string::npos) << bad.err;
  EXPECT_EQ(slurp(file), after);
  auto decl = berth({"update", d, "--config-file", data_ / "two.toml"});
  EXPECT_NE(decl.status, 0);
  EXPECT_NE(decl.err.find("containers.toml"), std::string::npos) << decl.err;
}

// ---- ephemeral ----

TEST_F(Features, EphemeralChangesVanishAndNothingStaysMounted) {
  TempDir tdir("berth-test-eph");
  std::string tree = copy_tree(tdir);
  auto before = fingerprint(tree);
  auto n = name("fe"), bad = name("feb");
  declare(busybox_decl(n, kTermLoop, "ephemeral = true\ntimeout_stop = \"3s\"", tree) +
          "[containers." + bad + "]\npath = \"" + tree +
          "\"\ncommand = [\"/nonexistent\"]\nephemeral = true\nrestart = \"no\"\n");
  ASSERT_EQ(berth({"start", n}).status, 0);
  int pid = pid_of(n);
  // The root is an overlay, in the container's namespace only.
  auto mi = slurp("/proc/" + std::to_string(pid) + "/mountinfo");
  bool root_is_overlay = false;
  std::istringstream lines(mi);
  for (std::string l; std::getline(lines, l);)
    if (l.find(" / / ") != std::string::npos && l.find(" - overlay ") != std::string::npos)
      root_is_overlay = true;
  EXPECT_TRUE(root_is_overlay) << mi;
  EXPECT_TRUE(host_mounts_matching(root_.path()).empty());
  EXPECT_EQ(
      in(n, "echo scribble > /new-file; rm /etc/passwd; echo x >> /bin/busybox; cat /new-file"),
      "scribble\n");
  EXPECT_FALSE(exists(tree + "/new-file"));
  EXPECT_TRUE(exists(tree + "/etc/passwd"));

  // Stop: changes gone at the next start, the tree untouched, nothing mounted anywhere.
  ASSERT_EQ(berth({"stop", n}).status, 0);
  EXPECT_TRUE(mounts_anywhere(root_.path()).empty()) << mounts_anywhere(root_.path()).front();
  ASSERT_EQ(berth({"start", n}).status, 0);
  EXPECT_EQ(in(n, "ls /new-file 2>&1; ls /etc/passwd"),
            "ls: /new-file: No such file or directory\n/etc/passwd\n");
  // Terminate.
  in(n, "touch /again");
  ASSERT_EQ(berth({"terminate", n}).status, 0);
  EXPECT_TRUE(mounts_anywhere(root_.path()).empty());
  // A killed monitor, then stop.
  ASSERT_EQ(berth({"start", n}).status, 0);
  EXPECT_EQ(in(n, "ls /again 2>&1; true"), "ls: /again: No such file or directory\n");
  int mon = status(n)["monitor_pid"].get<int>();
  ASSERT_EQ(::kill(mon, SIGKILL), 0);
  for (int i = 0; i < 200 && pid_alive(mon); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(status(n)["state"], "up");
  EXPECT_EQ(in(n, "echo still > /still; cat /still"),
            "still\n");  // the container keeps its overlay
  ASSERT_EQ(berth({"stop", n}).status, 0);
  EXPECT_EQ(status(n)["state"], "down");
  EXPECT_TRUE(mounts_anywhere(root_.path()).empty()) << mounts_anywhere(root_.path()).front();
  EXPECT_FALSE(exists(root_ / ("run/berth/" + n)));
  // A failed start.
  auto f = berth({"start", bad});
  EXPECT_NE(f.status, 0);
  EXPECT_TRUE(mounts_anywhere(root_.path()).empty());
  EXPECT_FALSE(exists(root_ / ("run/berth/" + bad)));

  EXPECT_EQ(fingerprint(tree), before);  // the base tree was never modified
}

TEST_F(Features, EphemeralShareHost) {
  auto n = name("fes");
  declare("[containers." + n +
          "]\nshare_host = true\nephemeral = true\ncommand = [\"/bin/busybox\", \"sh\", \"-c\", " +
          nlohmann::json(kTermLoop).dump() + "]\n");
  ASSERT_EQ(berth({"start", n}).status, 0);
  EXPECT_EQ(in(n, "echo hi > /root/note; cat /root/note"), "hi\n");
  std::string rootfs = root_ / ("var/lib/berth/containers/" + n + "/rootfs");
  EXPECT_FALSE(exists(rootfs + "/root/note"));
  ASSERT_EQ(berth({"stop", n}).status, 0);
  ASSERT_EQ(berth({"start", n}).status, 0);
  EXPECT_EQ(in(n, "cat /root/note 2>/dev/null; echo end"), "end\n");
  ASSERT_EQ(berth({"stop", n}).status, 0);
  EXPECT_TRUE(mounts_anywhere(root_.path()).empty());
}

TEST_F(Features, EphemeralWithPrivateUsers) {
  TempDir tdir("berth-test-epu");
  std::string tree = copy_tree(tdir);
  auto before = fingerprint(tree);
  auto n = name("fep");
  declare(busybox_decl(n, kTermLoop, "ephemeral = true\nprivate_users = \"pick\"", tree));
  auto s = berth({"start", n});
  ASSERT_EQ(s.status, 0) << s.err << slurp(root_ / ("var/log/berth/" + n + ".log"));
  // An overlay over the idmapped tree: root owns / and what it writes.
  EXPECT_EQ(in(n, "echo x > /f; /bin/busybox stat -c %u / /bin/busybox /f; /bin/busybox id -u"),
            "0\n0\n0\n0\n");
  ASSERT_EQ(berth({"stop", n}).status, 0);
  EXPECT_TRUE(mounts_anywhere(root_.path()).empty());
  ASSERT_EQ(berth({"start", n}).status, 0);
  EXPECT_EQ(in(n, "ls /f 2>/dev/null; echo end"), "end\n");
  ASSERT_EQ(berth({"stop", n}).status, 0);
  EXPECT_EQ(fingerprint(tree), before);
}

// ---- private_users = "pick" ----

uint32_t base_from_uid_map(const std::string& map) {
  std::istringstream in(map);
  uint32_t inside = 1, outside = 0, count = 0;
  in >> inside >> outside >> count;
  EXPECT_EQ(inside, 0u) << map;
  EXPECT_EQ(count, 65536u) << map;
  return outside;
}

TEST_F(Features, PrivateUsersPick) {
  TempDir ta("berth-test-pua"), tb("berth-test-pub");
  std::string tree_a = copy_tree(ta), tree_b = copy_tree(tb);
  auto a = name("fpa"), b = name("fpb");
  auto decl = [&] {
    return busybox_decl(a, kTermLoop,
                        "private_users = \"pick\"\nbind_mounts.\"/data\" = { host_path = \"" +
                            data_.path() + "\", read_only = false, idmap = false }",
                        tree_a) +
           busybox_decl(b, kTermLoop, "private_users = \"pick\"", tree_b);
  };
  declare(decl());
  auto s = berth({"start", a});
  ASSERT_EQ(s.status, 0) << s.err << slurp(root_ / ("var/log/berth/" + a + ".log"));
  ASSERT_EQ(berth({"start", b}).status, 0);

  uint32_t base_a = base_from_uid_map(in(a, "cat /proc/self/uid_map"));
  uint32_t base_b = base_from_uid_map(in(b, "cat /proc/self/uid_map"));
  for (uint32_t base : {base_a, base_b}) {
    EXPECT_EQ(base % 0x10000, 0u) << base;
    EXPECT_GE(base, 0x00080000u);
    EXPECT_LT(base, 0x6FFF0000u);
  }
  EXPECT_GE(std::max(base_a, base_b) - std::min(base_a, base_b), 65536u);  // ranges do not overlap
  EXPECT_EQ(base_from_uid_map(in(a, "cat /proc/self/gid_map")), base_a);
  EXPECT_EQ(in(a, "/bin/busybox id -u"), "0\n");
  // Seen from the host, the container's root is base+0.
  struct stat st;
  ASSERT_EQ(::stat(("/proc/" + std::to_string(pid_of(a))).c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, base_a);
  // Its tree appears owned by its root, through an idmapped mount: no chown on disk.
  EXPECT_EQ(in(a, "stat -c '%u %g' / /bin/busybox /etc"), "0 0\n0 0\n0 0\n");
  in(a, "echo made > /made-inside; echo data > /data/made-inside");
  ASSERT_EQ(::stat((tree_a + "/made-inside").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);  // the idmapped tree writes its owner's ids (root's on disk)
  ASSERT_EQ(::stat((data_ / "made-inside").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid,
            base_a);  // a bind, idmap = false: the container's root is base+0 on the host
  EXPECT_EQ(st.st_gid, base_a);
  ASSERT_EQ(::stat((tree_a + "/bin/busybox").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);  // never chowned

  EXPECT_EQ(status(a)["uid_base"], base_a);
  EXPECT_NE(berth({"status", a})
                .out.find("user namespace: uids 0-65535 are " + std::to_string(base_a) + "-"),
            std::string::npos);
  // Recorded, and the same after a restart.
  EXPECT_EQ(slurp(root_ / ("var/lib/berth/containers/" + a + "/private-users")),
            std::to_string(base_a) + "\n");
  ASSERT_EQ(berth({"stop", a}).status, 0);
  ASSERT_EQ(berth({"start", a}).status, 0);
  EXPECT_EQ(base_from_uid_map(in(a, "cat /proc/self/uid_map")), base_a);
  // Live resource updates still work for it.
  declare(busybox_decl(a, kTermLoop,
                       "private_users = \"pick\"\nresources = { pids = 33 }\nbind_mounts.\"/data\" "
                       "= { host_path = \"" +
                           data_.path() + "\", read_only = false, idmap = false }",
                       tree_a) +
          busybox_decl(b, kTermLoop, "private_users = \"pick\"", tree_b));
  auto up = berth({"update", a});
  EXPECT_EQ(up.out, "update " + a + ": live, no restart: resources: cgroup limits\n") << up.err;
  EXPECT_EQ(berth({"stop", a}).status, 0);
  EXPECT_EQ(berth({"stop", b}).status, 0);
}

TEST_F(Features, PrivateUsersPickShareHost) {
  auto n = name("fps");
  declare("[containers." + n +
          "]\nshare_host = true\nprivate_users = \"pick\"\ncommand = [\"/bin/busybox\", \"sh\", "
          "\"-c\", " +
          nlohmann::json(kTermLoop).dump() + "]\n");
  auto s = berth({"start", n});
  ASSERT_EQ(s.status, 0) << s.err << slurp(root_ / ("var/log/berth/" + n + ".log"));
  uint32_t base = base_from_uid_map(in(n, "cat /proc/self/uid_map"));
  EXPECT_GE(base, 0x00080000u);
  // The host's /usr and the generated root both appear owned by the container's root.
  EXPECT_EQ(in(n, "/bin/busybox stat -c %u / /usr /usr/bin /etc/passwd"), "0\n0\n0\n0\n");
  EXPECT_EQ(in(n, "echo x > /root/f && /bin/busybox stat -c %u /root/f"), "0\n");
  EXPECT_EQ(berth({"stop", n}).status, 0);
}

// The berth root in a 0700 directory: the user-namespaced init cannot reach
// its tree (a documented limitation). The start fails at once with the
// kernel's reason, and nothing stays behind. It used to hang for the
// monitor's 90 s: the create's cleanup killed the tree builder first, its
// mounter then became the monitor's zombie inside the init's pid namespace,
// and the init's exit waited for that zombie while the monitor waited for
// the init.
TEST_F(Features, AFailedUserNamespacedStartEndsAtOnceAndLeavesNoProcess) {
  auto n = name("fpf");
  declare(busybox_decl(n, kTermLoop, "private_users = \"pick\""));
  ASSERT_EQ(::chmod(root_.path().c_str(), 0700), 0);
  auto s = berth({"start", n}, {.timeout_sec = 60});
  EXPECT_NE(s.status, 0);
  EXPECT_NE(s.status, 137) << "berth start hung";
  EXPECT_NE(s.err.find("Permission denied"), std::string::npos) << s.err;
  EXPECT_NE(s.err.find("searchable by others"), std::string::npos) << s.err;
  EXPECT_EQ(s.err.find("no word from the monitor"), std::string::npos) << s.err;
  // No process of the container's is left: the monitor and everything it
  // started have ended (a process names the root in its command line or
  // lives in its tree).
  auto holders = [&] {
    std::string found;
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
      auto pid = e.path().filename().string();
      if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
      auto cmd = slurp(e.path() / "cmdline");
      if (cmd.find(root_.path()) != std::string::npos) found += pid + " ";
    }
    return found;
  };
  EXPECT_TRUE(eventually([&] { return holders().empty(); })) << holders();
  EXPECT_NE(status(n)["state"], "up");
  ::chmod(root_.path().c_str(), 0755);
}

}  // namespace
}  // namespace berth::test
