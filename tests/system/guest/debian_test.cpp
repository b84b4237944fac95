// A real Debian 12 system booted by berth: systemd as PID 1 reaches READY=1,
// its services run (dbus, sshd reached over the private network), the
// declared mounts and resources apply inside, and its whole lifecycle
// (stop, reboot and poweroff from inside, terminate) behaves like a machine's;
// its console takes a login (tmux plays the person at the terminal).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "guest_support.h"
#include "support/escape_probe.h"

namespace berth::test::guest {
namespace {

using namespace std::chrono_literals;

// Units that fail in any container of this tree, and why. `is-system-running`
// may say "degraded" only because of these.
const std::vector<std::string>& expected_failed_units() {
  static const std::vector<std::string> units = {};
  return units;
}

class DebianGuest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!is_root()) return;
    std::string fixture = debian_fixture();
    if (::access((fixture + "/.berth-debian-recipe").c_str(), F_OK) != 0) return;
    // A private copy: boots write the journal, machine id and host keys.
    tree_ = new TempDir("berth-test-debian");
    auto cp = run({"cp", "-a", fixture + "/.", tree_->path() + "/"}, {.timeout_sec = 300});
    if (cp.status != 0) {
      copy_error_ = cp.err;
      return;
    }
    // It is the guest's /: services that drop root must traverse it.
    ::chmod(tree_->path().c_str(), 0755);
    // Records eth0 as its first service sees it (before sysinit.target).
    std::ofstream(tree_->path() + "/etc/systemd/system/berth-test-net.service")
        << "[Unit]\nDefaultDependencies=no\nBefore=sysinit.target\n"
           "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'ip -o -4 addr show dev eth0 > "
           "/run/berth-test-net'\n"
           "[Install]\nWantedBy=sysinit.target\n";
    run({"mkdir", "-p", tree_->path() + "/etc/systemd/system/sysinit.target.wants"});
    ::symlink("../berth-test-net.service",
              (tree_->path() + "/etc/systemd/system/sysinit.target.wants/berth-test-net.service")
                  .c_str());
  }
  static void TearDownTestSuite() {
    delete tree_;
    tree_ = nullptr;
  }

  void SetUp() override {
    SKIP_UNLESS_ROOT();
    if (!tree_)
      GTEST_SKIP() << "no Debian tree at " << debian_fixture()
                   << " (ctest fixture_debian builds it: tests/fixtures/make-debian.sh)";
    ASSERT_TRUE(copy_error_.empty()) << copy_error_;
    ASSERT_TRUE(host_.ok()) << "cannot create a network namespace";
  }
  void TearDown() override {
    for (auto& n : names_) {
      host_.berth({"terminate", n});
      EXPECT_NE(::access((host_ / ("run/berth/" + n)).c_str(), F_OK), 0) << n;
      for (const char* ctl : {"memory", "pids", "cpu", "systemd", "unified"})
        EXPECT_NE(::access((std::string("/sys/fs/cgroup/") + ctl + "/berth/" + n).c_str(), F_OK), 0)
            << ctl << " " << n;
    }
    if (tree_) {
      EXPECT_TRUE(host_mounts_matching(tree_->path()).empty());
    }
  }

  std::string name(const std::string& base) {
    names_.push_back(unique_id(base));
    host_.track(names_.back());
    return names_.back();
  }
  std::string decl(const std::string& n, int net, const std::string& extra = "") {
    return "[containers." + n + "]\npath = \"" + tree_->path() +
           "\"\nboot = true\nprivate_network = true\n" + "host_address = \"10.233." +
           std::to_string(net) + ".1\"\nlocal_address = \"10.233." + std::to_string(net) +
           ".2\"\ntimeout_start = \"90s\"\n" + extra + "\n";
  }
  // `systemctl is-system-running` inside, with the failed units when degraded.
  void expect_running(const std::string& n) {
    auto r = host_.in_guest(n, "systemctl is-system-running --wait");
    if (r.out == "degraded") {
      auto failed =
          host_.in_guest(n, "systemctl list-units --failed --plain --no-legend | cut -d' ' -f1");
      std::string unexpected;
      std::istringstream in(failed.out);
      for (std::string u; std::getline(in, u);)
        if (std::find(expected_failed_units().begin(), expected_failed_units().end(), u) ==
            expected_failed_units().end())
          unexpected += u + " ";
      EXPECT_TRUE(unexpected.empty()) << "failed units: " << failed.out << "\n"
                                      << host_.berth({"logs", n}).out;
    } else {
      EXPECT_EQ(r.out, "running") << r.err << host_.berth({"logs", n}).out;
    }
  }
  // The guest's persistent journal, read from the host (after it stopped).
  static std::string journal(const std::string& args) {
    return sh("journalctl --no-pager -o cat --directory=" + tree_->path() + "/var/log/journal " +
              args)
        .out;
  }
  static std::string last_journal_line() { return trim(journal("-n 1")); }
  int init_pid(const std::string& n) {
    auto s = host_.status(n);
    return s.contains("pid") && s["pid"].is_number() ? s["pid"].get<int>() : 0;
  }

  static TempDir* tree_;
  static std::string copy_error_;
  Host host_;
  std::vector<std::string> names_;
};

TempDir* DebianGuest::tree_ = nullptr;
std::string DebianGuest::copy_error_;

TEST_F(DebianGuest, BootsServesSshAndStopsCleanly) {
  auto n = name("dg");
  TempDir keys("berth-test-keys"), data("berth-test-gdata");
  ASSERT_EQ(run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keys / "id"}).status, 0);
  TempDir dotssh("berth-test-dotssh");
  ASSERT_EQ(sh("cp " + keys / "id.pub" + " " + dotssh / "authorized_keys" + " && chmod 700 " +
               dotssh.path() + " && chmod 600 " + dotssh / "authorized_keys")
                .status,
            0);
  host_.declare(decl(n, 61,
                     "tmpfs = [\"/var/tmp\"]\n"
                     "resources = { memory = \"256M\", pids = 512, cpu = 0.5 }\n"
                     "bind_mounts.\"/root/.ssh\" = { host_path = \"" +
                         dotssh.path() +
                         "\", read_only = true }\n"
                         "bind_mounts.\"/srv/data\" = { host_path = \"" +
                         data.path() + "\", read_only = false }\n"));
  // It runs in a user namespace of its own (the default for a booted
  // system), whose range `berth spec` names before it starts; its binds are
  // idmapped (#14): host dirs owned by the host's root are its root's,
  // nothing chowned.
  auto spec = nlohmann::json::parse(host_.berth({"spec", n}).out);
  uint32_t base = spec["linux"]["uidMappings"][0]["hostID"];
  auto t0 = std::chrono::steady_clock::now();
  auto r = host_.berth({"start", n});
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(r.status, 0) << r.err << host_.berth({"logs", n}).out;
  EXPECT_EQ(host_.status(n)["uid_base"], base);
  // Ready means systemd said READY=1: startup has finished, so the manager's
  // state is already final (no --wait needed for the jobs to be done).
  EXPECT_NE(host_.berth({"logs", n}).out.find("ready"), std::string::npos);
  std::cerr << "[ info ] berth start -> READY: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
  EXPECT_EQ(host_.status(n)["state"], "up");
  expect_running(n);
  EXPECT_EQ(host_.in_guest(n, "cat /proc/1/comm").out, "systemd");
  // All of that under the default seccomp profile (a filter, mode 2).
  EXPECT_EQ(host_.in_guest(n, "grep ^Seccomp: /proc/1/status | tr -d ' \t'").out, "Seccomp:2");
  EXPECT_EQ(host_.in_guest(n, "echo $container").out, "berth");
  EXPECT_EQ(host_.in_guest(n, "hostname").out, n);
  EXPECT_EQ(host_.in_guest(n, "systemd-detect-virt --container").out, "container-other");
  auto mid = host_.in_guest(n, "cat /etc/machine-id").out;
  EXPECT_EQ(mid.size(), 32u) << mid;
  // journald works: a message logged inside can be read back.
  host_.in_guest(n, "echo berth-test-journal | systemd-cat -t berthtest");
  EXPECT_TRUE(eventually(
      [&] {
        return host_.in_guest(n, "journalctl -t berthtest -o cat --no-pager").out ==
               "berth-test-journal";
      },
      10s));

  // The network was up before the first service ran.
  auto early = host_.in_guest(n, "cat /run/berth-test-net");
  EXPECT_NE(early.out.find("inet 10.233.61.2"), std::string::npos) << early.out << early.err;

  // systemd manages its own cgroup tree below the container's: sshd runs in
  // its unit's cgroup, as the host sees it too (v1 name=systemd and v2).
  EXPECT_EQ(host_.in_guest(n, "systemctl show -p ControlGroup --value ssh").out,
            "/system.slice/ssh.service");
  EXPECT_NE(host_.in_guest(n, "systemctl show -p MainPID --value ssh").out, "0");
  auto host_pids = sh("cat /sys/fs/cgroup/systemd/berth/" + n +
                      "/system.slice/ssh.service/cgroup.procs /sys/fs/cgroup/unified/berth/" + n +
                      "/system.slice/ssh.service/cgroup.procs");
  EXPECT_EQ(host_pids.status, 0) << host_pids.err;
  EXPECT_EQ(std::count(host_pids.out.begin(), host_pids.out.end(), '\n'), 2) << host_pids.out;

  auto dbus = host_.berth({"run", n, "--", "systemctl", "is-active", "dbus"});
  EXPECT_EQ(dbus.status, 0) << dbus.err;
  EXPECT_EQ(trim(dbus.out), "active");

  // ssh from the host to NAME.containers, checking the guest's own host key.
  auto hostkey = host_.in_guest(n, "cat /etc/ssh/ssh_host_ed25519_key.pub");
  ASSERT_EQ(hostkey.status, 0) << hostkey.err;
  std::ofstream(keys / "known_hosts") << n << ".containers " << hostkey.out << "\n";
  auto ssh = host_.on_host("ssh -i " + keys / "id" + " -o BatchMode=yes -o ConnectTimeout=10 " +
                           "-o UserKnownHostsFile=" + keys / "known_hosts" +
                           " -o StrictHostKeyChecking=yes root@" + n +
                           ".containers 'echo via-ssh $(hostname) $(cat /proc/1/comm)'");
  EXPECT_EQ(ssh.status, 0) << ssh.err;
  EXPECT_EQ(trim(ssh.out), "via-ssh " + n + " systemd");
  // show-host-key prints that same key.
  auto shk = host_.berth({"show-host-key", n});
  EXPECT_EQ(shk.status, 0) << shk.err;
  EXPECT_EQ(trim(shk.out), hostkey.out);

  // tmpfs, bind mounts and resources apply to the guest.
  EXPECT_EQ(host_.in_guest(n, "stat -f -c %T /var/tmp").out, "tmpfs");
  EXPECT_EQ(host_.in_guest(n, "echo from-guest > /srv/data/f && echo ok").out, "ok");
  EXPECT_EQ(slurp(data / "f"), "from-guest\n");
  struct stat fst;
  ASSERT_EQ(::stat((data / "f").c_str(), &fst), 0);
  EXPECT_EQ(fst.st_uid, 0u);  // an idmapped bind: its root writes as the host's root
  EXPECT_NE(host_.in_guest(n, "touch /root/.ssh/x").status, 0);  // read-only
  EXPECT_EQ(host_.in_guest(n, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes").out,
            std::to_string(256 << 20));
  EXPECT_EQ(host_.in_guest(n, "cat /sys/fs/cgroup/pids/pids.max").out, "512");
  EXPECT_EQ(host_.in_guest(n, "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us").out, "50000");

  // berth stop: the guest's own shutdown runs and it exits cleanly.
  int pid = init_pid(n);
  auto s = host_.berth({"stop", n});
  EXPECT_EQ(s.status, 0) << s.err;
  EXPECT_EQ(host_.status(n)["state"], "down");
  EXPECT_FALSE(pid_alive(pid));
  auto log = host_.berth({"logs", n}).out;
  EXPECT_NE(log.find("sending SIGRTMIN+4"), std::string::npos) << log;
  EXPECT_EQ(log.find("stop timeout"), std::string::npos) << log;  // no SIGKILL needed
  EXPECT_EQ(log.find("signal 9"), std::string::npos) << log;
  EXPECT_NE(log.find("powered off"), std::string::npos) << log;
  // Its shutdown ran: services were stopped and journald closed the journal.
  EXPECT_EQ(last_journal_line(), "Journal stopped");
  EXPECT_NE(journal("-u ssh.service").find("Received signal 15; terminating."), std::string::npos);
}

TEST_F(DebianGuest, RebootAndPoweroffFromInside) {
  auto n = name("dr");
  host_.declare(decl(n, 62));
  ASSERT_EQ(host_.berth({"start", n}).status, 0) << host_.berth({"logs", n}).out;
  int pid1 = init_pid(n);
  ASSERT_GT(pid1, 0);
  auto mid = host_.in_guest(n, "cat /etc/machine-id").out;
  host_.in_guest(n, "systemctl reboot");
  // The same container comes back: a new init, running again.
  ASSERT_TRUE(eventually(
      [&] {
        int p = init_pid(n);
        return p > 0 && p != pid1 && host_.status(n)["state"] == "up";
      },
      90s))
      << host_.status(n).dump() << host_.berth({"logs", n}).out;
  expect_running(n);
  EXPECT_EQ(host_.in_guest(n, "cat /etc/machine-id").out, mid);
  EXPECT_NE(host_.berth({"logs", n}).out.find("reboot requested"), std::string::npos);

  int pid2 = init_pid(n);
  host_.in_guest(n, "systemctl poweroff");
  ASSERT_TRUE(eventually([&] { return host_.status(n)["state"] == "down"; }, 30s))
      << host_.berth({"logs", n}).out;
  EXPECT_FALSE(pid_alive(pid2));
  auto log = host_.berth({"logs", n}).out;
  EXPECT_NE(log.find("powered off"), std::string::npos) << log;
  // It stays down (a poweroff is not a failure to restart from).
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(host_.status(n)["state"], "down");
}

TEST_F(DebianGuest, TerminateKillsAtOnce) {
  auto n = name("dt");
  host_.declare(decl(n, 63, "timeout_stop = \"60s\""));
  ASSERT_EQ(host_.berth({"start", n}).status, 0) << host_.berth({"logs", n}).out;
  int pid = init_pid(n);
  auto t = host_.berth({"terminate", n});
  EXPECT_EQ(t.status, 0) << t.err;
  EXPECT_FALSE(pid_alive(pid));
  EXPECT_EQ(host_.status(n)["state"], "down");
  auto log = host_.berth({"logs", n}).out;
  EXPECT_EQ(log.find("powered off"), std::string::npos) << log;
  EXPECT_NE(log.find("signal 9"), std::string::npos) << log;
  // No shutdown ran: journald was killed with the rest.
  EXPECT_NE(last_journal_line(), "Journal stopped");
}

// `berth login`: the guest's getty on the console pty, driven through tmux
// as a person at a terminal would: log in as root with the fixture's
// password, run a command, see its output, detach with ^] ^] ^].
TEST_F(DebianGuest, ConsoleLogin) {
  if (run({"tmux", "-V"}).status != 0) GTEST_SKIP() << "tmux is not installed";
  auto n = name("dl");
  host_.declare(decl(n, 65));
  ASSERT_EQ(host_.berth({"start", n}).status, 0) << host_.berth({"logs", n}).out;
  std::string sock = unique_id("berth-test-tmux");
  struct TmuxServer {
    std::string sock;
    ~TmuxServer() { run({"tmux", "-L", sock, "kill-server"}); }
  } server{sock};
  std::string cmd = "nsenter --net=" + host_.netns_path() + " " + test::berth() + " --root " +
                    host_.root() + " login " + n;
  ASSERT_EQ(run({"tmux", "-L", sock, "new-session", "-d", "-x", "160", "-y", "40", cmd}).status, 0);
  auto screen = [&] { return run({"tmux", "-L", sock, "capture-pane", "-p", "-S", "-200"}).out; };
  auto keys = [&](std::vector<std::string> k) {
    std::vector<std::string> argv = {"tmux", "-L", sock, "send-keys"};
    argv.insert(argv.end(), k.begin(), k.end());
    run(argv);
  };
  auto wait_for = [&](const std::string& text) {
    return eventually([&] { return screen().find(text) != std::string::npos; }, 20s);
  };
  keys({"Enter"});
  ASSERT_TRUE(wait_for("login:")) << screen();
  keys({"root", "Enter"});
  ASSERT_TRUE(wait_for("Password:")) << screen();
  keys({"berth", "Enter"});
  keys({"echo console-says-$((6*7)) on $(tty)", "Enter"});
  EXPECT_TRUE(wait_for("console-says-42 on /dev/console")) << screen();
  keys({"exit", "Enter"});
  keys({"C-]", "C-]", "C-]"});
  // Detaching leaves the guest running.
  EXPECT_TRUE(eventually(
      [&] {
        return run({"tmux", "-L", sock, "has-session"}).status != 0;
      },
      10s))
      << screen();
  EXPECT_EQ(host_.status(n)["state"], "up");

  // root-login: a root shell on a terminal of its own, no password; its
  // login session is the guest's (PAM, logind), its exit status passed back.
  std::string rl = "nsenter --net=" + host_.netns_path() + " " + test::berth() + " --root " +
                   host_.root() + " root-login " + n + "; echo root-login-exit=$?; sleep 30";
  ASSERT_EQ(run({"tmux", "-L", sock, "new-session", "-d", "-x", "160", "-y", "40", rl}).status, 0);
  keys({"echo rl-$((2*3)) $(id -un) $(cat /proc/1/comm)", "Enter"});
  EXPECT_TRUE(wait_for("rl-6 root systemd")) << screen();
  keys({"exit 5", "Enter"});
  EXPECT_TRUE(wait_for("root-login-exit=5")) << screen();
  EXPECT_EQ(host_.berth({"stop", n}).status, 0);
}

// ephemeral = true: the guest boots on a throwaway overlay of its tree. What
// it writes is gone at its next start, the tree on disk never changes, and
// the overlay lives only as long as the container: after stop no process
// (in any mount namespace) still has it mounted.
TEST_F(DebianGuest, EphemeralForgetsWritesAndLeavesTreeAlone) {
  auto n = name("de");
  host_.declare(decl(n, 66, "ephemeral = true"));
  const std::string etc = tree_->path() + "/etc";
  struct stat etc0;
  ASSERT_EQ(::stat(etc.c_str(), &etc0), 0);
  const std::string overlay_of_tree = "lowerdir=" + tree_->path();
  const std::string run_dir = host_ / ("run/berth/" + n);

  ASSERT_EQ(host_.berth({"start", n}).status, 0) << host_.berth({"logs", n}).out;
  expect_running(n);
  EXPECT_EQ(host_.in_guest(n, "stat -f -c %T /").out, "overlayfs");
  // The scan below can see the overlay (so its emptiness after stop means
  // something): over the tree itself, or, user-namespaced (the default), over
  // its idmapped view under the run dir.
  EXPECT_FALSE(mounts_in_any_process(overlay_of_tree).empty() &&
               mounts_in_any_process(run_dir).empty());
  auto w =
      host_.in_guest(n,
                     "echo eph > /etc/berth-ephemeral-marker && mkdir -p /var/lib/x && "
                     "echo data > /var/lib/x/f && cat /etc/berth-ephemeral-marker /var/lib/x/f");
  EXPECT_EQ(w.out, "eph\ndata") << w.err;
  // Written inside, not into the tree.
  EXPECT_NE(::access((etc + "/berth-ephemeral-marker").c_str(), F_OK), 0);
  EXPECT_NE(::access((tree_->path() + "/var/lib/x").c_str(), F_OK), 0);

  auto s = host_.berth({"stop", n});
  EXPECT_EQ(s.status, 0) << s.err;
  EXPECT_EQ(host_.status(n)["state"], "down");
  auto left = mounts_in_any_process(overlay_of_tree);
  auto left_run = mounts_in_any_process(run_dir);
  left.insert(left.end(), left_run.begin(), left_run.end());
  EXPECT_TRUE(left.empty()) << left.front();

  ASSERT_EQ(host_.berth({"start", n}).status, 0) << host_.berth({"logs", n}).out;
  expect_running(n);
  const char* gone =
      "for f in /etc/berth-ephemeral-marker /var/lib/x; do "
      "if test -e $f; then echo present; else echo gone; fi; done";
  EXPECT_EQ(host_.in_guest(n, gone).out, "gone\ngone");
  s = host_.berth({"stop", n});
  EXPECT_EQ(s.status, 0) << s.err;
  EXPECT_TRUE(mounts_in_any_process(overlay_of_tree).empty());

  // Two boots later the tree is as it was.
  struct stat etc1;
  ASSERT_EQ(::stat(etc.c_str(), &etc1), 0);
  EXPECT_EQ(etc1.st_mtim.tv_sec, etc0.st_mtim.tv_sec);
  EXPECT_EQ(etc1.st_mtim.tv_nsec, etc0.st_mtim.tv_nsec);
  EXPECT_NE(::access((etc + "/berth-ephemeral-marker").c_str(), F_OK), 0);
  EXPECT_NE(::access((tree_->path() + "/var/lib/x").c_str(), F_OK), 0);
}

// `berth shell NAME [USER]` on a terminal (tmux plays the person): a login
// shell of root, then of a user added inside, with that user's identity,
// home and no capabilities; the shell's exit status comes back as berth's.
TEST_F(DebianGuest, ShellAsRootAndAsUser) {
  if (run({"tmux", "-V"}).status != 0) GTEST_SKIP() << "tmux is not installed";
  auto n = name("dh");
  host_.declare(decl(n, 67));
  ASSERT_EQ(host_.berth({"start", n}).status, 0) << host_.berth({"logs", n}).out;
  auto add = host_.in_guest(n, "useradd -m -s /bin/bash berthu && id -u berthu");
  ASSERT_EQ(add.status, 0) << add.err;
  const std::string uid = add.out;
  ASSERT_NE(uid, "0");

  std::string sock = unique_id("berth-test-tmux");
  struct TmuxServer {
    std::string sock;
    ~TmuxServer() { run({"tmux", "-L", sock, "kill-server"}); }
  } server{sock};
  auto open = [&](const std::string& session, const std::string& user) {
    std::string cmd = "nsenter --net=" + host_.netns_path() + " " + test::berth() + " --root " +
                      host_.root() + " shell " + n + (user.empty() ? "" : " " + user) +
                      "; echo shell-exit=$?; sleep 30";
    return run({"tmux", "-L", sock, "new-session", "-d", "-s", session, "-x", "160", "-y", "40",
                cmd})
        .status;
  };
  auto screen = [&](const std::string& session) {
    return run({"tmux", "-L", sock, "capture-pane", "-p", "-t", session, "-S", "-200"}).out;
  };
  auto keys = [&](const std::string& session, const std::string& text) {
    run({"tmux", "-L", sock, "send-keys", "-t", session, text, "Enter"});
  };
  auto wait_for = [&](const std::string& session, const std::string& text) {
    return eventually([&] { return screen(session).find(text) != std::string::npos; }, 20s);
  };

  ASSERT_EQ(open("r", ""), 0);
  keys("r", "echo sh-$((2*3)) $(id -un) $HOME $(pwd) $(cat /proc/1/comm)");
  EXPECT_TRUE(wait_for("r", "sh-6 root /root /root systemd")) << screen("r");
  keys("r", "exit 7");
  EXPECT_TRUE(wait_for("r", "shell-exit=7")) << screen("r");

  ASSERT_EQ(open("u", "berthu"), 0);
  keys("u",
       "echo us-$((3*3)) $(id -un) $(id -u) $HOME $(pwd) $(grep CapEff /proc/self/status | cut "
       "-f2)");
  EXPECT_TRUE(wait_for("u", "us-9 berthu " + uid + " /home/berthu /home/berthu 0000000000000000"))
      << screen("u");
  keys("u", "touch /etc/berth-not-root 2>/dev/null || echo denied-$((1+1))");
  EXPECT_TRUE(wait_for("u", "denied-2")) << screen("u");
  keys("u", "exit 3");
  EXPECT_TRUE(wait_for("u", "shell-exit=3")) << screen("u");

  // A user the guest does not have: berth's own failure (125), said plainly.
  auto none = host_.berth({"shell", n, "nosuchuser"});
  EXPECT_EQ(none.status, 125);
  EXPECT_NE(none.err.find("nosuchuser"), std::string::npos) << none.err;
  EXPECT_EQ(host_.berth({"stop", n}).status, 0);
}

// Root in a default booted guest: CAP_SYS_ADMIN, but in a user namespace of
// its own, so none of the host's kernel settings, devices or files are its,
// and every mount berth made is locked (the tree is built outside its user
// namespace): none can be remounted read-write, not even the root.
void expect_guest_contained(const std::map<std::string, std::string>& m) {
  EXPECT_EQ(m.count("done"), 1u);
  for (auto& [k, v] : m) {
    if (k == "done" || k == "capeff") continue;
    EXPECT_EQ(v, "no") << "root in the guest could: " << k;
  }
  for (auto k :
       {"remount:/", "remount:/usr", "remount:/proc/sys", "remount:/sys", "remount:/proc/keys"})
    EXPECT_EQ(m.count(k), 1u) << k;
}

std::map<std::string, std::string> probe_guest(Host& host, const std::string& n,
                                               const EscapeProbe& p) {
  auto r = host.berth({"run", n, "--", p.busybox, "sh", "-c", p.script()});
  auto m = parse_probe(r.out);
  EXPECT_EQ(m["done"], "yes") << r.out << r.err;
  return m;
}

TEST_F(DebianGuest, DefaultGuestCannotTouchTheHost) {
  auto n = name("dx");
  host_.declare(decl(n, 68, "bind_mounts.\"/opt/berth/busybox\" = \"/bin/busybox\""));
  auto c = host_.berth({"check"});
  EXPECT_EQ(c.err.find("warning"), std::string::npos) << c.err;
  auto r = host_.berth({"start", n});
  ASSERT_EQ(r.status, 0) << r.err << host_.berth({"logs", n}).out;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  EXPECT_EQ(host_.status(n)["privileged"], false);
  EXPECT_NE(host_.in_guest(n, "cat /proc/self/uid_map").out.find("65536"), std::string::npos);
  EscapeProbe p;
  p.busybox = "/opt/berth/busybox";
  auto m = probe_guest(host_, n, p);
  EXPECT_TRUE(has_cap_sys_admin(m["capeff"]));  // its own namespace's
  expect_guest_contained(m);
  // It still runs as a system after all that.
  expect_running(n);
  EXPECT_EQ(host_.berth({"stop", n}).status, 0);
}

// private_users = "no": the old behaviour, chosen explicitly, with a warning.
TEST_F(DebianGuest, PrivilegedOptInWarnsAndBootsWithoutUserNamespace) {
  auto n = name("dp");
  host_.declare(decl(n, 69, "private_users = \"no\""));
  std::string warn = "warning: containers." + n + ": root in this container can take over the host";
  for (auto verb : {"check", "plan"}) {
    auto r = host_.berth({verb});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find(warn), std::string::npos) << verb << ": " << r.err;
  }
  auto r = host_.berth({"start", n});
  ASSERT_EQ(r.status, 0) << r.err << host_.berth({"logs", n}).out;
  EXPECT_NE(r.err.find(warn), std::string::npos) << r.err;
  EXPECT_EQ(host_.status(n)["privileged"], true);
  EXPECT_EQ(host_.in_guest(n, "cat /proc/self/uid_map | tr -s ' '").out, " 0 0 4294967295");
  expect_running(n);
  EXPECT_EQ(host_.berth({"stop", n}).status, 0);
}

// share_host + boot: the host's own systemd boots over an empty state tree
// (the host's /usr read-only, the guest's /etc its own), as a NixOS
// container boots a system from the shared store. No Debian tree is needed.
class SharedHostBoot : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_UNLESS_ROOT();
    if (::access("/lib/systemd/systemd", X_OK) != 0)
      GTEST_SKIP() << "the host has no /lib/systemd/systemd (install systemd)";
    ASSERT_TRUE(host_.ok()) << "cannot create a network namespace";
  }
  void TearDown() override {
    if (n_.empty()) return;
    host_.berth({"terminate", n_});
    EXPECT_NE(::access((host_ / ("run/berth/" + n_)).c_str(), F_OK), 0);
    EXPECT_TRUE(host_mounts_matching(host_.root()).empty());
  }
  Host host_;
  std::string n_;
};

TEST_F(SharedHostBoot, HostSystemdBootsOverEmptyState) {
  n_ = unique_id("ds");
  host_.track(n_);
  host_.declare("[containers." + n_ +
                "]\nshare_host = true\nboot = true\nprivate_network = true\n"
                "host_address = \"10.233.64.1\"\nlocal_address = \"10.233.64.2\"\n"
                "timeout_start = \"90s\"\n");
  auto r = host_.berth({"start", n_});
  ASSERT_EQ(r.status, 0) << r.err << host_.berth({"logs", n_}).out;
  // Its init is the host's systemd binary.
  int pid = host_.status(n_)["pid"].get<int>();
  struct stat exe, hosts;
  ASSERT_EQ(::stat(("/proc/" + std::to_string(pid) + "/exe").c_str(), &exe), 0);
  ASSERT_EQ(::stat("/lib/systemd/systemd", &hosts), 0);
  EXPECT_EQ(exe.st_ino, hosts.st_ino);
  EXPECT_EQ(exe.st_dev, hosts.st_dev);
  auto state = host_.in_guest(n_, "systemctl is-system-running --wait");
  EXPECT_EQ(state.out, "running")
      << host_.in_guest(n_, "systemctl list-units --failed --plain --no-legend").out;
  EXPECT_EQ(trim(host_.berth({"run", n_, "--", "systemctl", "is-active", "dbus.socket"}).out),
            "active");
  EXPECT_EQ(host_.in_guest(n_, "ip -o -4 addr show dev eth0 | grep -c 10.233.64.2").out, "1");
  // Its state is its own: systemd gave it a machine id, kept in the state tree.
  std::string mid =
      trim(slurp(host_ / ("var/lib/berth/containers/" + n_ + "/rootfs/etc/machine-id")));
  EXPECT_EQ(mid.size(), 32u) << mid;
  EXPECT_EQ(host_.in_guest(n_, "cat /etc/machine-id").out, mid);
  EXPECT_NE(mid, trim(slurp("/etc/machine-id")));
  auto s = host_.berth({"stop", n_});
  EXPECT_EQ(s.status, 0) << s.err;
  auto log = host_.berth({"logs", n_}).out;
  EXPECT_NE(log.find("powered off"), std::string::npos) << log;
  EXPECT_EQ(host_.status(n_)["state"], "down");
}

// The host's systemd booted over share_host, user-namespaced by default: the
// host's /usr is its root's (idmapped) yet stays read-only, locked by the
// kernel, and nothing of the host changes.
TEST_F(SharedHostBoot, DefaultCannotTouchTheHost) {
  n_ = unique_id("dy");
  host_.track(n_);
  host_.declare("[containers." + n_ +
                "]\nshare_host = true\nboot = true\nprivate_network = true\n"
                "host_address = \"10.233.70.1\"\nlocal_address = \"10.233.70.2\"\n"
                "timeout_start = \"90s\"\n");
  struct stat usr0, bin0;
  ASSERT_EQ(::stat("/usr", &usr0), 0);
  ASSERT_EQ(::stat("/usr/bin", &bin0), 0);
  auto r = host_.berth({"start", n_});
  ASSERT_EQ(r.status, 0) << r.err << host_.berth({"logs", n_}).out;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  EXPECT_TRUE(host_.status(n_)["uid_base"].is_number());
  EscapeProbe p;
  p.remount = {"/usr", "/usr/bin", "/lib", "/proc/sys", "/sys", "/proc/keys", "/sys/firmware", "/"};
  p.create_in = {"/usr", "/usr/bin"};
  auto m = probe_guest(host_, n_, p);
  expect_guest_contained(m);
  // The shared dirs were made read-only outside its user namespace: locked.
  EXPECT_EQ(m["remount:/usr"], "no");
  EXPECT_EQ(m["remount:/usr/bin"], "no");
  EXPECT_NE(::access(("/usr/" + p.marker).c_str(), F_OK), 0);
  EXPECT_NE(::access(("/usr/bin/" + p.marker).c_str(), F_OK), 0);
  struct stat usr1, bin1;
  ASSERT_EQ(::stat("/usr", &usr1), 0);
  ASSERT_EQ(::stat("/usr/bin", &bin1), 0);
  EXPECT_EQ(usr1.st_mtim.tv_nsec, usr0.st_mtim.tv_nsec);
  EXPECT_EQ(bin1.st_mtim.tv_nsec, bin0.st_mtim.tv_nsec);
  auto state = host_.in_guest(n_, "systemctl is-system-running --wait");
  EXPECT_EQ(state.out, "running")
      << host_.in_guest(n_, "systemctl list-units --failed --plain --no-legend").out;
  EXPECT_EQ(host_.berth({"stop", n_}).status, 0);
}

}  // namespace
}  // namespace berth::test::guest
