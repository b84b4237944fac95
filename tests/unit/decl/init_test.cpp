// Which init a tree boots (its /sbin/init resolved inside the tree, then named
// by path or by what the file says), what that init is sent to halt and to
// reboot, when it counts as ready, and the keys that override all of it.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "decl/decl.h"
#include "decl/init.h"
#include "support/testenv.h"

namespace berth::decl {
namespace {

void put(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
  ::chmod(path.c_str(), 0755);
}

// A tree with sbin/, bin/, lib/ and whatever init the test puts there.
class Tree {
 public:
  Tree() {
    for (const char* d : {"sbin", "bin", "lib", "lib/systemd", "lib/runit", "usr", "usr/bin"})
      ::mkdir((dir_ / d).c_str(), 0755);
  }
  std::string operator/(const std::string& rel) const { return dir_ / rel; }
  const std::string& root() const { return dir_.path(); }
  void link(const std::string& target, const std::string& at) {
    ::symlink(target.c_str(), (dir_ / at).c_str());
  }

 private:
  test::TempDir dir_{"berth-test-init"};
};

InitInfo detect(const Tree& t) {
  auto r = detect_init(t.root());
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r ? *r : InitInfo{};
}

TEST(InitDetection, SystemdThroughAnAbsoluteSymlinkResolvedInTheTree) {
  Tree t;
  put(t / "lib/systemd/systemd",
      "\x7f"
      "ELF not really");
  t.link("/lib/systemd/systemd", "sbin/init");
  auto i = detect(t);
  EXPECT_EQ(i.kind, InitKind::Systemd);
  EXPECT_EQ(i.path, "/lib/systemd/systemd");
}

TEST(InitDetection, BusyboxByNameAndByContent) {
  Tree t;
  put(t / "bin/busybox", "...");
  t.link("../bin/busybox", "sbin/init");
  EXPECT_EQ(detect(t).kind, InitKind::Busybox);
  EXPECT_EQ(detect(t).path, "/bin/busybox");

  Tree u;  // a copy of busybox under another name
  put(u / "sbin/init", std::string("\x7f"
                                   "ELF\0\0",
                                   6) +
                           "BusyBox v1.35.0 (Debian)");
  EXPECT_EQ(detect(u).kind, InitKind::Busybox);
}

TEST(InitDetection, SysvinitByContent) {
  Tree t;
  put(t / "sbin/init", std::string("\x7f"
                                   "ELF\0",
                                   5) +
                           "INIT_VERSION=sysvinit-3.06");
  auto i = detect(t);
  EXPECT_EQ(i.kind, InitKind::Sysvinit);
  EXPECT_EQ(i.path, "/sbin/init");
}

TEST(InitDetection, OpenrcInitAndRunitByName) {
  Tree t;
  put(t / "sbin/openrc-init", "x");
  t.link("openrc-init", "sbin/init");
  EXPECT_EQ(detect(t).kind, InitKind::OpenrcInit);

  Tree r;  // Debian's runit-init: /sbin/init -> /lib/runit/runit-init
  put(r / "lib/runit/runit-init", "x");
  r.link("/lib/runit/runit-init", "sbin/init");
  EXPECT_EQ(detect(r).kind, InitKind::RunitInit);
  EXPECT_EQ(detect(r).path, "/lib/runit/runit-init");
}

TEST(InitDetection, SymlinksCannotLeaveTheTree) {
  // ../../../.. stops at the tree's root, as in a chroot: the host's own
  // /lib/systemd/systemd is never what is found.
  Tree t;
  put(t / "lib/systemd/systemd", "x");
  t.link("../../../../../../../../lib/systemd/systemd", "sbin/init");
  auto i = detect(t);
  EXPECT_EQ(i.kind, InitKind::Systemd);
  EXPECT_EQ(i.path, "/lib/systemd/systemd");

  Tree missing;
  missing.link("/nonexistent/init", "sbin/init");
  EXPECT_FALSE(detect_init(missing.root()).ok());
}

TEST(InitDetection, ScriptIsUnknown) {
  Tree t;
  put(t / "sbin/init", "#!/bin/sh\nexec sleep infinity\n");
  EXPECT_EQ(detect(t).kind, InitKind::Unknown);
}

TEST(InitDetection, RealBusyboxOfTheTestRootfs) {
  // The busybox-static binary itself says "BusyBox v" (the test rootfs links
  // each applet to it).
  auto root = test::test_rootfs();
  if (::access((root + "/bin/busybox").c_str(), F_OK) != 0)
    GTEST_SKIP() << "no test rootfs at " << root;
  auto r = detect_init(root, "/bin/sh");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kind, InitKind::Busybox);
}

TEST(InitSignals, DefaultsPerInit) {
  EXPECT_EQ(default_halt_signal(InitKind::Systemd), SIGRTMIN + 4);
  EXPECT_EQ(default_reboot_signal(InitKind::Systemd), SIGINT);
  EXPECT_EQ(default_halt_signal(InitKind::Busybox), SIGUSR1);
  EXPECT_EQ(default_reboot_signal(InitKind::Busybox), SIGTERM);
  EXPECT_EQ(default_halt_signal(InitKind::Sysvinit), SIGPWR);
  EXPECT_EQ(default_reboot_signal(InitKind::Sysvinit), SIGINT);
  EXPECT_EQ(default_halt_signal(InitKind::OpenrcInit), SIGTERM);
  EXPECT_EQ(default_reboot_signal(InitKind::OpenrcInit), SIGINT);
  EXPECT_EQ(default_halt_signal(InitKind::RunitInit), SIGCONT);
  EXPECT_EQ(default_reboot_signal(InitKind::RunitInit), SIGCONT);
  EXPECT_EQ(default_halt_signal(InitKind::Unknown), SIGTERM);
}

TEST(InitSignals, NamesBothWays) {
  EXPECT_EQ(parse_signal("SIGUSR1"), SIGUSR1);
  EXPECT_EQ(parse_signal("usr1"), SIGUSR1);
  EXPECT_EQ(parse_signal("SIGPWR"), SIGPWR);
  EXPECT_EQ(parse_signal("SIGRTMIN+4"), SIGRTMIN + 4);
  EXPECT_EQ(parse_signal("RTMIN"), SIGRTMIN);
  EXPECT_EQ(parse_signal("SIGRTMAX-1"), SIGRTMAX - 1);
  EXPECT_EQ(parse_signal("15"), SIGTERM);
  for (const char* bad : {"", "SIG", "SIGFOO", "RTMIN+99", "RTMAX+1", "RTMIN-1", "0", "999", "+4"})
    EXPECT_FALSE(parse_signal(bad).has_value()) << bad;
  for (int s : {SIGUSR1, SIGTERM, SIGPWR, SIGCONT, SIGINT, SIGRTMIN, SIGRTMIN + 4, SIGRTMAX})
    EXPECT_EQ(parse_signal(signal_name(s)), s) << signal_name(s);
  EXPECT_EQ(signal_name(SIGRTMIN + 4), "SIGRTMIN+4");
}

Container parse_one(const std::string& extra, std::vector<std::string>* errors = nullptr) {
  LoadOptions o;
  o.check_host = false;
  auto r = load_documents(
      {{"/etc/berth/containers.toml", "[containers.g]\npath = \"/srv/g\"\nboot = true\n" + extra}},
      o);
  if (errors)
    for (auto& e : r.errors) errors->push_back(e.str());
  else
    EXPECT_TRUE(r.ok()) << r.error_text();
  auto it = r.decls.containers.find("g");
  return it == r.decls.containers.end() ? Container{} : it->second;
}

TEST(InitKeys, DeclaredValuesWin) {
  auto c = parse_one("ready = \"notify\"\nhalt_signal = \"SIGRTMIN+3\"\nreboot_signal = 1\n");
  EXPECT_EQ(c.ready, Ready::Notify);
  EXPECT_TRUE(waits_for_notify(c, InitKind::Busybox));
  EXPECT_EQ(halt_signal_of(c, InitKind::Busybox), SIGRTMIN + 3);
  EXPECT_EQ(reboot_signal_of(c, InitKind::Busybox), SIGHUP);

  auto d = parse_one("");
  EXPECT_EQ(d.ready, Ready::Auto);
  EXPECT_TRUE(waits_for_notify(d, InitKind::Systemd));
  EXPECT_FALSE(waits_for_notify(d, InitKind::Sysvinit));
  EXPECT_EQ(halt_signal_of(d, InitKind::Busybox), SIGUSR1);

  auto s = parse_one("ready = \"started\"\n");
  EXPECT_FALSE(waits_for_notify(s, InitKind::Systemd));
}

TEST(InitKeys, BadValuesSayWhatWasExpected) {
  std::vector<std::string> e;
  parse_one("ready = \"soon\"\nhalt_signal = \"SIGFOO\"\nreboot_signal = \"SIGKILL\"\n", &e);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0],
            "/etc/berth/containers.toml:4: containers.g.ready: expected \"auto\", \"notify\" or "
            "\"started\", got \"soon\"");
  EXPECT_EQ(e[1],
            "/etc/berth/containers.toml:5: containers.g.halt_signal: expected a signal name like "
            "\"SIGUSR1\" or \"SIGRTMIN+4\" (not SIGKILL or SIGSTOP), got \"SIGFOO\"");
  EXPECT_EQ(e[2],
            "/etc/berth/containers.toml:6: containers.g.reboot_signal: expected a signal name like "
            "\"SIGUSR1\" or \"SIGRTMIN+4\" (not SIGKILL or SIGSTOP), got \"SIGKILL\"");
}

TEST(InitKeys, ReadyAndRebootSignalOnlyForBoot) {
  LoadOptions o;
  o.check_host = false;
  auto r = load_documents(
      {{"/etc/berth/containers.toml",
        "[containers.c]\npath = \"/srv/c\"\ncommand = [\"/bin/sh\"]\n"
        "ready = \"notify\"\nreboot_signal = \"SIGINT\"\nhalt_signal = \"SIGINT\"\n"}},
      o);
  std::vector<std::string> e;
  for (auto& d : r.errors) e.push_back(d.str());
  ASSERT_EQ(e.size(), 2u) << r.error_text();
  EXPECT_EQ(e[0],
            "/etc/berth/containers.toml:4: containers.c.ready: only for boot = true (a command is "
            "ready once it has been exec'd)");
  EXPECT_EQ(e[1],
            "/etc/berth/containers.toml:5: containers.c.reboot_signal: only for boot = true (a "
            "command is restarted, not rebooted)");
}

}  // namespace
}  // namespace berth::decl
