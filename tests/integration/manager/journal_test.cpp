// berth logs NAME --journal: a booted guest's persistent journal read with the
// host's journalctl. The guest is the host's own systemd booted over
// share_host (the cheapest systemd guest); bad input needs no guest.
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "integration/manager/manager_fixture.h"
#include "support/testenv.h"

namespace berth::test {
namespace {

bool has_journalctl() {
  for (const char* p : {"/usr/bin/journalctl", "/bin/journalctl"})
    if (::access(p, X_OK) == 0) return true;
  return false;
}

class Journal : public ManagerTest {
 protected:
  Journal() : ManagerTest("berth-test-mgrj") {}
};

TEST_F(Journal, BadInput) {
  TempDir empty("berth-test-jpath");
  auto plain = name("jp");
  auto boot = name("jb");
  declare(busybox_decl(plain, "sleep 1") + "[containers." + boot + "]\npath = \"" + test_rootfs() +
          "\"\nboot = true\n");
  // No journalctl on the host (none in PATH): said, before anything else.
  expect_one_line(berth({"logs", boot, "--journal"}, {.env = {{"PATH", empty.path()}}}),
                  "berth: logs " + boot + ": journalctl is not installed on the host");
  if (!has_journalctl()) GTEST_SKIP() << "the host has no journalctl (install systemd)";
  expect_one_line(berth({"logs", plain, "--journal"}),
                  plain + " is not a boot container (boot = true)");
  // A tree without /var/log/journal (berth leaves a `path` tree as it is).
  expect_one_line(berth({"logs", boot, "--journal"}),
                  "no journal of " + boot + " yet: its /var/log/journal is missing");
  expect_one_line(berth({"logs", "berth-test-nosuch", "--journal"}), "no such container declared");
  auto r = berth({"logs", boot, "-n", "3"});
  EXPECT_EQ(r.status, 2) << r.err;  // --lines is --journal's
  EXPECT_FALSE(exists(root_ / "var/lib/berth/containers/" + boot));
}

TEST_F(Journal, ShowsWhatTheBootedGuestLogged) {
  if (!has_journalctl()) GTEST_SKIP() << "the host has no journalctl (install systemd)";
  if (::access("/lib/systemd/systemd", X_OK) != 0)
    GTEST_SKIP() << "the host has no /lib/systemd/systemd (install systemd)";
  auto n = name("js");
  declare("[containers." + n + "]\nshare_host = true\nboot = true\ntimeout_start = \"90s\"\n");
  auto s = berth({"start", n});
  ASSERT_EQ(s.status, 0) << s.err << berth({"logs", n}).out;
  // berth made its /var/log/journal, so journald keeps the journal there.
  EXPECT_TRUE(exists(root_ / "var/lib/berth/containers/" + n + "/rootfs/var/log/journal"));
  std::string mark = "berth-journal-mark-" + unique_id("m");
  auto r = berth({"run", n, "--", "systemd-cat", "-t", "berthtest", "echo", mark});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string out;
  EXPECT_TRUE(eventually(
      [&] {
        out = berth({"logs", n, "--journal"}).out;
        return out.find(mark) != std::string::npos;
      },
      std::chrono::seconds(30)))
      << out;
  // -n passes through: the last entries only.
  auto last = berth({"logs", n, "--journal", "-n", "2"});
  EXPECT_EQ(last.status, 0) << last.err;
  EXPECT_LE(std::count(last.out.begin(), last.out.end(), '\n'), 2) << last.out;
  // -f follows (ended here by the timeout) after printing what is there.
  auto f = berth({"logs", n, "--journal", "-f"}, {.timeout_sec = 3});
  EXPECT_NE(f.out.find(mark), std::string::npos) << f.out << f.err;
  // Stopped, its journal is still there, in its state dir's tree.
  ASSERT_EQ(berth({"stop", n}).status, 0);
  r = berth({"logs", n, "--journal"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(mark), std::string::npos) << r.out;
}

// A booted guest changed live (#15): its `reload` is a systemd reload through
// the guest's own systemctl, after the live change and without a reboot; the
// guest's journal shows systemd reloading.
TEST_F(Journal, LiveChangeReloadsTheBootedGuestThroughItsSystemctl) {
  if (!has_journalctl()) GTEST_SKIP() << "the host has no journalctl (install systemd)";
  if (::access("/lib/systemd/systemd", X_OK) != 0)
    GTEST_SKIP() << "the host has no /lib/systemd/systemd (install systemd)";
  auto n = name("jr");
  std::string base =
      "[containers." + n + "]\nshare_host = true\nboot = true\ntimeout_start = \"90s\"\n";
  declare(base);
  auto s = berth({"start", n});
  ASSERT_EQ(s.status, 0) << s.err << berth({"logs", n}).out;
  int pid = pid_of(n);
  declare(base + "reload = [\"systemctl\", \"daemon-reload\"]\n" +
          "extra_hosts = { \"db.example\" = \"192.0.2.10\" }\n");
  auto plan = berth({"plan"});
  EXPECT_EQ(plan.out, "update " + n +
                          ": live, no restart: extra_hosts: its /etc/hosts (+db.example); then "
                          "reload: systemctl daemon-reload\n")
      << plan.err;
  auto ap = berth({"apply"});
  ASSERT_EQ(ap.status, 0) << ap.out << ap.err;
  EXPECT_EQ(pid_of(n), pid);
  auto hosts = berth({"run", n, "--", "getent", "hosts", "db.example"});
  EXPECT_NE(hosts.out.find("192.0.2.10"), std::string::npos) << hosts.out << hosts.err;
  std::string out;
  EXPECT_TRUE(eventually(
      [&] {
        out = berth({"logs", n, "--journal"}).out;
        return out.find("Reloading") != std::string::npos;
      },
      std::chrono::seconds(30)))
      << out;
  ASSERT_EQ(berth({"stop", n}).status, 0);
}

}  // namespace
}  // namespace berth::test
