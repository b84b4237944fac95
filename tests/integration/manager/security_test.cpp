// Root inside a default container cannot take the host: command containers
// get the OCI default capability set (no CAP_SYS_ADMIN), booted ones a user
// namespace; each kind is probed from inside (remounts, sysctls, new proc and
// sysfs instances, a user namespace of its own, device nodes) and nothing of
// the host changes. The explicit opt-ins (private_users = "no" on a booted
// container, CAP_SYS_ADMIN for a command) are accepted with one warning line.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "integration/manager/manager_fixture.h"
#include "support/escape_probe.h"
#include "support/notify_ready.h"

namespace berth::test {
namespace {

constexpr const char* kLoop = "trap 'exit 0' TERM; while :; do sleep 0.1; done";

// podman's default set plus AUDIT_WRITE (see decl::command_capabilities).
const std::vector<std::string> kCommandCaps = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE",     "CAP_FOWNER",     "CAP_FSETID",
    "CAP_KILL",    "CAP_NET_BIND_SERVICE", "CAP_SETFCAP",    "CAP_SETGID",
    "CAP_SETPCAP", "CAP_SETUID",           "CAP_SYS_CHROOT", "CAP_AUDIT_WRITE"};

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

class Security : public ManagerTest {
 protected:
  Security() : ManagerTest("berth-test-sec") {}
  void SetUp() override {
    ManagerTest::SetUp();
    if (IsSkipped()) return;
    ::chmod(root_.path().c_str(), 0755);
  }

  std::string log(const std::string& n) { return slurp(root_ / ("var/log/berth/" + n + ".log")); }
  std::string share_host_decl(const std::string& n, const std::string& extra = "") {
    return "[containers." + n +
           "]\nshare_host = true\ncommand = [\"/bin/busybox\", \"sh\", \"-c\", " +
           nlohmann::json(kLoop).dump() + "]\n" + extra + "\n";
  }
  std::map<std::string, std::string> probe(const std::string& n, const EscapeProbe& p) {
    auto r = berth({"run", n, "--", p.busybox, "sh", "-c", p.script()}, {.timeout_sec = 60});
    auto m = parse_probe(r.out);
    EXPECT_EQ(m["done"], "yes") << r.out << r.err;
    return m;
  }
  // Every attempt failed.
  static void expect_all_refused(const std::map<std::string, std::string>& m) {
    for (auto& [k, v] : m) {
      if (k == "done" || k == "capeff") continue;
      EXPECT_EQ(v, "no") << "root in the container could: " << k;
    }
  }
  // A field of the init's /proc/PID/status, seen from the host.
  std::string in_status(const std::string& n, const std::string& field) {
    auto st = status(n);
    if (!st["pid"].is_number()) return "";
    std::istringstream in(slurp("/proc/" + std::to_string(st["pid"].get<int>()) + "/status"));
    for (std::string line; std::getline(in, line);)
      if (line.starts_with(field + ":")) {
        auto v = line.substr(field.size() + 1);
        v.erase(0, v.find_first_not_of(" \t"));
        return v;
      }
    return "";
  }
  static struct stat stat_of(const std::string& p) {
    struct stat st = {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st;
  }
};

// The README's first example: a share_host command container.
TEST_F(Security, ShareHostCommandContainerCannotTouchTheHost) {
  auto n = name("secsh");
  declare(share_host_decl(n));
  auto c = berth({"check"});
  EXPECT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.err.find("warning"), std::string::npos) << c.err;
  auto usr_before = stat_of("/usr"), bin_before = stat_of("/usr/bin");
  auto s = berth({"start", n});
  ASSERT_EQ(s.status, 0) << s.err << log(n);
  EXPECT_EQ(s.err.find("warning"), std::string::npos) << s.err;

  EscapeProbe p;
  p.remount = {"/usr", "/usr/bin", "/", "/proc/sys", "/sys", "/proc/keys", "/sys/firmware"};
  p.create_in = {"/usr", "/usr/bin"};
  auto m = probe(n, p);
  ASSERT_FALSE(m["capeff"].empty());
  EXPECT_FALSE(has_cap_sys_admin(m["capeff"])) << m["capeff"];
  expect_all_refused(m);
  EXPECT_TRUE(m.count("remount:/usr") && m.count("mount-proc") && m.count("unshare:/usr"));

  // Nothing of the host changed.
  EXPECT_FALSE(exists("/usr/" + p.marker));
  EXPECT_FALSE(exists("/usr/bin/" + p.marker));
  auto usr_after = stat_of("/usr"), bin_after = stat_of("/usr/bin");
  EXPECT_EQ(usr_before.st_mtim.tv_sec, usr_after.st_mtim.tv_sec);
  EXPECT_EQ(usr_before.st_mtim.tv_nsec, usr_after.st_mtim.tv_nsec);
  EXPECT_EQ(bin_before.st_mtim.tv_nsec, bin_after.st_mtim.tv_nsec);

  // status and spec say what it holds.
  auto st = status(n);
  EXPECT_EQ(st["privileged"], false);
  EXPECT_EQ(sorted(st["capabilities"].get<std::vector<std::string>>()), sorted(kCommandCaps));
  EXPECT_NE(berth({"status", n}).out.find("capabilities: CAP_CHOWN"), std::string::npos);
  auto spec = berth({"spec", n});
  ASSERT_EQ(spec.status, 0) << spec.err;
  auto j = nlohmann::json::parse(spec.out);
  EXPECT_EQ(sorted(j["process"]["capabilities"]["bounding"].get<std::vector<std::string>>()),
            sorted(kCommandCaps));
  EXPECT_EQ(j["process"]["capabilities"]["effective"], j["process"]["capabilities"]["bounding"]);
  // What the monitor adds is in it too: the notify socket and the seccomp profile.
  EXPECT_TRUE(j["linux"].contains("seccomp"));
  EXPECT_NE(spec.out.find("/run/host/notify"), std::string::npos);
  // It is what runs: the init's bounding set is the spec's.
  auto bnd = in_status(n, "CapBnd");
  EXPECT_EQ(bnd, in_status(n, "CapEff"));
  ASSERT_EQ(berth({"stop", n}).status, 0);
}

// A command container of its own tree (the busybox rootfs).
TEST_F(Security, PathCommandContainerCannotTouchTheHost) {
  TempDir t("berth-test-sectree");
  std::string tree = t / "tree";
  ASSERT_EQ(run({"cp", "-a", test_rootfs(), tree}).status, 0);
  ::chmod(t.path().c_str(), 0755);
  auto n = name("secpa");
  declare(busybox_decl(n, kLoop, "", tree));
  auto s = berth({"start", n});
  ASSERT_EQ(s.status, 0) << s.err << log(n);
  EscapeProbe p;
  auto m = probe(n, p);
  EXPECT_FALSE(has_cap_sys_admin(m["capeff"])) << m["capeff"];
  expect_all_refused(m);
  EXPECT_EQ(status(n)["privileged"], false);
  ASSERT_EQ(berth({"stop", n}).status, 0);
}

// A booted container (busybox init) runs in a user namespace of its own by
// default: CAP_SYS_ADMIN there reaches nothing of the host's.
TEST_F(Security, BootedContainerIsUserNamespacedByDefault) {
  TempDir t("berth-test-secboot");
  std::string tree = t / "tree";
  ASSERT_EQ(run({"cp", "-a", test_rootfs(), tree}).status, 0);
  ::chmod(t.path().c_str(), 0755);
  // busybox init, ready once its sysinit step says so, then waiting.
  if (auto why = build_notify_ready(tree + "/bin/notify-ready"); !why.empty()) GTEST_SKIP() << why;
  std::ofstream(tree + "/etc/inittab") << "::sysinit:/bin/notify-ready\n";
  auto n = name("secbo");
  declare("[containers." + n + "]\npath = \"" + tree +
          "\"\nboot = true\ntimeout_start = \"20s\"\n" + "timeout_stop = \"2s\"\n");
  auto spec = berth({"spec", n});
  ASSERT_EQ(spec.status, 0) << spec.err;
  auto j = nlohmann::json::parse(spec.out);
  bool userns = false;
  for (auto& ns : j["linux"]["namespaces"]) userns |= ns["type"] == "user";
  EXPECT_TRUE(userns) << spec.out;
  EXPECT_EQ(j["linux"]["uidMappings"][0]["containerID"], 0);
  EXPECT_EQ(j["linux"]["uidMappings"][0]["size"], 65536);
  // The spec names the range it will pick without recording it.
  EXPECT_FALSE(exists(root_ / ("var/lib/berth/containers/" + n + "/private-users")));

  auto c = berth({"check"});
  EXPECT_EQ(c.err.find("warning"), std::string::npos) << c.err;
  auto s = berth({"start", n});
  ASSERT_EQ(s.status, 0) << s.err << log(n);
  auto st = status(n);
  EXPECT_EQ(st["privileged"], false);
  ASSERT_TRUE(st["uid_base"].is_number());
  uint32_t base = st["uid_base"];
  EXPECT_EQ(slurp(root_ / ("var/lib/berth/containers/" + n + "/private-users")),
            std::to_string(base) + "\n");
  // Its init is base+0 on the host, and it owns its cgroup (for a systemd).
  struct stat pst = stat_of("/proc/" + std::to_string(st["pid"].get<int>()));
  EXPECT_EQ(pst.st_uid, base);

  EscapeProbe p;
  auto m = probe(n, p);
  // CAP_SYS_ADMIN, but its user namespace's: the host's files and kernel
  // settings are not its root's, and the mounts berth made are locked (built
  // outside its user namespace), so none of them can be remounted read-write.
  EXPECT_TRUE(has_cap_sys_admin(m["capeff"])) << m["capeff"];
  expect_all_refused(m);
  EXPECT_TRUE(m.count("remount:/") && m.count("remount:/proc/sys") && m.count("remount:/sys") &&
              m.count("remount:/proc/keys") && m.count("remount:/sys/firmware"));
  ASSERT_EQ(berth({"stop", n}).status, 0);
}

// [settings] private_users = "pick" makes a command container unprivileged
// too (#14): a share_host one holding CAP_SYS_ADMIN (its user namespace's)
// with an idmapped writable bind reaches nothing of the host's through
// /proc, /sys, device nodes, remounts, a mount of the host's disk, the
// host's limits or a read-only bind; it writes only where it was bound.
TEST_F(Security, UserNamespacedCommandContainerWithSysAdminCannotTouchTheHost) {
  TempDir d("berth-test-secdata");
  ::chmod(d.path().c_str(), 0755);
  std::string rw = d / "rw", ro = d / "ro";
  ASSERT_EQ(::mkdir(rw.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(ro.c_str(), 0755), 0);
  auto n = name("secun");
  declare("[settings]\nprivate_users = \"pick\"\n" +
          share_host_decl(n,
                          "additional_capabilities = [\"CAP_SYS_ADMIN\"]\n"
                          "bind_mounts.\"/data\" = { host_path = \"" +
                              rw +
                              "\", read_only = false }\n"
                              "bind_mounts.\"/conf\" = \"" +
                              ro + "\""));
  auto c = berth({"check"});
  EXPECT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.err.find("warning"), std::string::npos) << c.err;
  auto s = berth({"start", n});
  ASSERT_EQ(s.status, 0) << s.err << log(n);
  EXPECT_EQ(status(n)["privileged"], false);
  EXPECT_TRUE(status(n)["uid_base"].is_number());

  EscapeProbe p;
  p.remount = {"/usr",       "/usr/bin",      "/",    "/proc/sys", "/sys",
               "/proc/keys", "/sys/firmware", "/conf"};
  p.create_in = {"/usr", "/usr/bin", "/conf"};
  auto m = probe(n, p);
  EXPECT_TRUE(has_cap_sys_admin(m["capeff"])) << m["capeff"];
  expect_all_refused(m);
  EXPECT_TRUE(m.count("remount:/usr") && m.count("remount:/conf") && m.count("mount-proc") &&
              m.count("unshare:/usr") && m.count("rlimit:nofile"));
  EXPECT_FALSE(exists("/usr/" + p.marker));
  EXPECT_FALSE(exists(ro + "/" + p.marker));
  // Its root writes the writable bind as the host's root, and nothing else.
  auto w = berth({"run", n, "--", "/bin/busybox", "sh", "-c", "echo hi > /data/f && id -u"});
  EXPECT_EQ(w.out, "0\n") << w.err;
  EXPECT_EQ(stat_of(rw + "/f").st_uid, 0u);
  ASSERT_EQ(berth({"stop", n}).status, 0);
}

// The explicit opt-ins are accepted, and say what they give away.
TEST_F(Security, PrivilegedOptInsWarnOnce) {
  auto cmd = name("secpc"), boot = name("secpb");
  declare(share_host_decl(cmd, "additional_capabilities = [\"CAP_SYS_ADMIN\"]") + "[containers." +
          boot + "]\npath = \"" + test_rootfs() + "\"\nboot = true\nprivate_users = \"no\"\n");
  std::string warn_cmd =
      "warning: containers." + cmd + ": root in this container can take over the host";
  std::string warn_boot =
      "warning: containers." + boot + ": root in this container can take over the host";
  for (auto verb : {"check", "plan"}) {
    auto r = berth({verb});
    EXPECT_EQ(r.status, 0) << verb << r.err;
    EXPECT_EQ(count_of(r.err, warn_cmd), 1) << verb << ": " << r.err;
    EXPECT_EQ(count_of(r.err, warn_boot), 1) << verb << ": " << r.err;
    EXPECT_NE(r.err.find("CAP_SYS_ADMIN without a user namespace"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("private_users = \"no\" on a booted container"), std::string::npos)
        << r.err;
  }
  auto s = berth({"start", cmd});
  ASSERT_EQ(s.status, 0) << s.err << log(cmd);
  EXPECT_EQ(count_of(s.err, warn_cmd), 1) << s.err;
  EXPECT_EQ(count_of(s.err, "warning"), 1) << s.err;
  // It really holds CAP_SYS_ADMIN in the host's user namespace (probed, not used).
  EXPECT_TRUE(has_cap_sys_admin(in_status(cmd, "CapEff")));
  auto st = status(cmd);
  EXPECT_EQ(st["privileged"], true);
  EXPECT_NE(st["privileged_reason"].get<std::string>().find("CAP_SYS_ADMIN"), std::string::npos);
  EXPECT_NE(berth({"status", cmd}).out.find("privileged: root in it can take over the host"),
            std::string::npos);
  auto list = nlohmann::json::parse(berth({"list", "--json"}).out);
  int marked = 0;
  for (auto& e : list) {
    if (e["name"] == cmd || e["name"] == boot) {
      EXPECT_EQ(e["privileged"], true) << e.dump();
      ++marked;
    }
  }
  EXPECT_EQ(marked, 2);
  auto spec = nlohmann::json::parse(berth({"spec", boot}).out);
  for (auto& ns : spec["linux"]["namespaces"]) EXPECT_NE(ns["type"], "user");
  ASSERT_EQ(berth({"stop", cmd}).status, 0);
}

// [settings] private_users is the default of every container; its own key wins.
TEST_F(Security, SettingsPrivateUsers) {
  auto a = name("secsa"), b = name("secsb");
  declare("[settings]\nprivate_users = \"no\"\n[containers." + a + "]\npath = \"" + test_rootfs() +
          "\"\nboot = true\n[containers." + b + "]\npath = \"" + test_rootfs() +
          "\"\nboot = true\nprivate_users = \"pick\"\n");
  auto r = berth({"check"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count_of(r.err, "warning: containers." + a + ":"), 1) << r.err;
  EXPECT_NE(r.err.find("(from [settings])"), std::string::npos) << r.err;
  EXPECT_EQ(count_of(r.err, "warning: containers." + b + ":"), 0) << r.err;
  declare("[settings]\nprivate_users = \"maybe\"\n");
  r = berth({"check"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("settings.private_users: expected \"no\", \"pick\" or a base uid "
                       "(0-4294901760), got \"maybe\""),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace berth::test
