// The rootless tests' fixture (#14): the test makes a user berthtest-XXXX
// with a subordinate id range of its own, a private HOME and XDG_RUNTIME_DIR,
// runs the shipped berth as that user (setpriv: its ids, no capabilities)
// and removes the user, its subuid/subgid lines, every process and file
// after, also when an assertion fails.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/testenv.h"

namespace berth::test::rootless {

inline std::string slurp(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

inline std::string slurp_link(const std::string& path) {
  char buf[128] = {};
  return ::readlink(path.c_str(), buf, sizeof(buf) - 1) > 0 ? buf : "";
}

// The owner, mode and existence of a path, as "UID 0700" ("" if missing).
inline std::string owner_mode(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return "";
  char mode[8];
  std::snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
  return std::to_string(st.st_uid) + " " + mode;
}

// The first id free after every range of a subuid/subgid file.
inline uint64_t first_free(const std::string& file) {
  uint64_t next = 100000;
  std::istringstream in(slurp(file));
  for (std::string l; std::getline(in, l);) {
    auto a = l.find(':'), b = l.rfind(':');
    if (a == std::string::npos || a == b) continue;
    try {
      next = std::max<uint64_t>(
          next, std::stoull(l.substr(a + 1, b - a - 1)) + std::stoull(l.substr(b + 1)));
    } catch (const std::exception&) {
    }
  }
  return next;
}

inline bool has_line_of(const std::string& file, const std::string& user) {
  std::istringstream in(slurp(file));
  for (std::string l; std::getline(in, l);)
    if (l.rfind(user + ":", 0) == 0) return true;
  return false;
}

// Every process whose real uid is in [lo, hi] (the user's and its
// containers' ids): the test's own, ended by pid.
inline std::vector<pid_t> processes_of(uint64_t lo, uint64_t hi, uint64_t uid) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.empty() || !std::all_of(n.begin(), n.end(), ::isdigit)) continue;
    std::istringstream in(slurp("/proc/" + n + "/status"));
    for (std::string l; std::getline(in, l);) {
      if (l.rfind("Uid:", 0) != 0) continue;
      uint64_t ruid = std::stoull(l.substr(4));
      if (ruid == uid || (ruid >= lo && ruid <= hi)) out.push_back(std::stoi(n));
      break;
    }
  }
  ::closedir(d);
  return out;
}

// A network namespace of the test's own, held by a paused child (killed
// with it): the "host" side a rootless berth runs in, so that its
// slirp4netns and forwards never touch the machine's own network. The child
// holds a mount namespace too, with a /dev/net/tun the user may open (mode
// 0666, as Debian's udev makes it; a host without udev has it 0600), on a
// tmpfs of its own: nothing of the host's /dev changes.
struct HostNetns {
  pid_t pid = -1;
  std::string why;  // why there is none
  HostNetns() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return;
    pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      const char* failed = nullptr;
      if (::unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
        failed = "unshare a network and a mount namespace";
      else if (::mount(nullptr, "/", nullptr, MS_PRIVATE | MS_REC, nullptr) < 0)
        failed = "make / private";
      else if (::mount("tmpfs", "/dev/net", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755") < 0)
        failed = "mount a tmpfs on /dev/net";
      else if (::mknod("/dev/net/tun", S_IFCHR | 0666, makedev(10, 200)) < 0 ||
               ::chmod("/dev/net/tun", 0666) < 0)
        failed = "make /dev/net/tun";
      std::string said = failed ? std::string(failed) + ": " + std::strerror(errno) : "y";
      (void)!::write(p[1], said.data(), said.size());
      ::close(p[1]);
      for (;;) ::pause();
    }
    ::close(p[1]);
    char buf[256] = {};
    (void)!::read(p[0], buf, sizeof(buf) - 1);
    ::close(p[0]);
    if (std::string(buf) != "y") why = buf, reset();
  }
  ~HostNetns() { reset(); }
  void reset() {
    if (pid > 0) ::kill(pid, SIGKILL), ::waitpid(pid, nullptr, 0);
    pid = -1;
  }
  std::string path() const { return "/proc/" + std::to_string(pid) + "/ns/net"; }
  std::string mnt() const { return "/proc/" + std::to_string(pid) + "/ns/mnt"; }
  // argv run in it (as root).
  RunResult in(std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {"nsenter", "--net=" + path(), "--mount=" + mnt()});
    return run(argv);
  }
};

// The user and everything of it; its destructor removes them in any case.
struct TestUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  uint64_t sub_start = 0, sub_count = 65536;
  bool made = false;

  ~TestUser() {
    if (!made) return;
    for (int round = 0; round < 20; ++round) {
      auto left = processes_of(sub_start, sub_start + sub_count - 1, uid);
      if (left.empty()) break;
      for (pid_t p : left) ::kill(p, SIGKILL);
      reap_children();
      ::usleep(50000);
    }
    // userdel drops its subuid/subgid lines; any left are removed too.
    run({"userdel", name});
    for (const char* f : {"/etc/subuid", "/etc/subgid"})
      if (has_line_of(f, name)) run({"sed", "-i", "/^" + name + ":/d", f});
  }
};

class RootlessBerth : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!is_root()) GTEST_SKIP() << "needs root (to make a test user)";
    for (auto tool : {"useradd", "userdel", "usermod", "setpriv", "newuidmap", "newgidmap"})
      if (sh(std::string("command -v ") + tool + " >/dev/null").status != 0)
        GTEST_SKIP() << "not installed: " << tool
                     << (std::string(tool).starts_with("new") ? " (Debian's uidmap)" : "");
    for (const char* f : {"/etc/subuid", "/etc/subgid"})
      if (::access(f, F_OK) != 0) GTEST_SKIP() << "no subordinate id support: " << f << " missing";
    if (slurp("/proc/sys/user/max_user_namespaces").starts_with("0"))
      GTEST_SKIP() << "user namespaces are off (user.max_user_namespaces = 0)";
    if (slurp("/proc/sys/kernel/unprivileged_userns_clone").starts_with("0"))
      GTEST_SKIP() << "unprivileged user namespaces are off (kernel.unprivileged_userns_clone)";

    user_.name = "berthtest" + unique_id("");
    auto r = run({"useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user_.name});
    ASSERT_EQ(r.status, 0) << r.err;
    user_.made = true;
    struct passwd* pw = ::getpwnam(user_.name.c_str());
    ASSERT_NE(pw, nullptr);
    user_.uid = pw->pw_uid;
    user_.gid = pw->pw_gid;
    // Its own range, whether or not useradd gave it one.
    if (!has_line_of("/etc/subuid", user_.name) || !has_line_of("/etc/subgid", user_.name)) {
      user_.sub_start = std::max(first_free("/etc/subuid"), first_free("/etc/subgid"));
      std::string range = std::to_string(user_.sub_start) + "-" +
                          std::to_string(user_.sub_start + user_.sub_count - 1);
      auto m = run({"usermod", "--add-subuids", range, "--add-subgids", range, user_.name});
      ASSERT_EQ(m.status, 0) << m.err;
    }
    std::istringstream in(slurp("/etc/subuid"));
    for (std::string l; std::getline(in, l);)
      if (l.rfind(user_.name + ":", 0) == 0) {
        auto b = l.rfind(':');
        user_.sub_start = std::stoull(l.substr(user_.name.size() + 1, b));
        user_.sub_count = std::stoull(l.substr(b + 1));
      }
    ASSERT_GT(user_.sub_start, 0u);

    ::chmod(dir_.path().c_str(), 0755);
    for (auto d : {"home", "xdg"}) {
      ::mkdir((dir_ / d).c_str(), 0700);
      ASSERT_EQ(::chown((dir_ / d).c_str(), user_.uid, user_.gid), 0);
    }
    // The shipped binaries, where the user can run them (next to each
    // other: berth finds berth-init beside itself).
    ::mkdir((dir_ / "bin").c_str(), 0755);
    for (auto b : {"berth", "berth-init"})
      ASSERT_EQ(run({"cp", build_dir() + "/" + b, dir_ / "bin"}).status, 0);
    // Its own tree, owned by it (root inside owns it).
    tree_ = dir_ / "home/tree";
    ASSERT_EQ(run({"cp", "-a", test_rootfs(), tree_}).status, 0);
    ASSERT_EQ(
        run({"chown", "-R", std::to_string(user_.uid) + ":" + std::to_string(user_.gid), tree_})
            .status,
        0);
  }

  void TearDown() override {
    if (!user_.made) return;
    // Stop whatever a failed test left running, as the user.
    as_user({"terminate", "rl", "rl2", "sh"});
  }

  // `berth args...` as the user, as its login would run it: its ids and
  // groups, no capabilities (the bounding set stays whole: newuidmap, set-uid
  // root, needs CAP_SETUID from it), its own HOME and runtime dir
  // (env_extra: more NAME=VALUE, or "-XDG_RUNTIME_DIR" to drop).
  RunResult as_user(const std::vector<std::string>& args, std::vector<std::string> env_extra = {}) {
    RunOptions o;
    o.cwd = dir_.path();
    return run(user_argv(args, env_extra), o);
  }
  // The command line as_user runs (absolute programs: PtySession execs it).
  std::vector<std::string> user_argv(const std::vector<std::string>& args,
                                     const std::vector<std::string>& env_extra = {}) {
    std::vector<std::string> a;
    if (netns_) a = {"/usr/bin/nsenter", "--net=" + netns_->path(), "--mount=" + netns_->mnt()};
    a.insert(a.end(), {"/usr/bin/setpriv", "--reuid=" + std::to_string(user_.uid),
                       "--regid=" + std::to_string(user_.gid), "--init-groups", "--inh-caps=-all",
                       "env", "-i", "PATH=/usr/bin:/bin", "HOME=" + (dir_ / "home")});
    bool drop_xdg =
        std::find(env_extra.begin(), env_extra.end(), "-XDG_RUNTIME_DIR") != env_extra.end();
    if (!drop_xdg) a.push_back("XDG_RUNTIME_DIR=" + (dir_ / "xdg"));
    for (auto& e : env_extra)
      if (!e.starts_with("-")) a.push_back(e);
    a.push_back(dir_ / "bin/berth");
    a.insert(a.end(), args.begin(), args.end());
    return a;
  }

  void declare(const std::string& toml) {
    std::string etc = dir_ / "home/.config/berth";
    ASSERT_EQ(owner_mode(etc), std::to_string(user_.uid) + " 0700") << "run berth first";
    std::ofstream(etc + "/containers.toml") << toml;
    ASSERT_EQ(::chown((etc + "/containers.toml").c_str(), user_.uid, user_.gid), 0);
  }

  // The lines of the container's output in its log (the XDG layout's) that
  // are one of want's, once its last one has come (5 s at most).
  std::vector<std::string> said(const std::string& name, const std::vector<std::string>& want) {
    std::vector<std::string> out;
    for (int i = 0; i < 100; ++i) {
      out.clear();
      std::istringstream in(slurp(dir_ / ("home/.local/share/berth/log/" + name + ".log")));
      for (std::string l; std::getline(in, l);)
        if (std::find(want.begin(), want.end(), l) != want.end()) out.push_back(l);
      if (!out.empty() && out.back() == want.back()) break;
      ::usleep(50000);
    }
    return out;
  }

  nlohmann::json status_json(const std::string& name) {
    auto r = as_user({"status", name, "--json"});
    try {
      return nlohmann::json::parse(r.out);
    } catch (const std::exception&) {
      ADD_FAILURE() << "status --json: " << r.out << r.err;
      return {};
    }
  }

  TempDir dir_{"berth-test-rootless-berth"};
  std::unique_ptr<HostNetns> netns_;  // where as_user runs berth, when set
  TestUser user_;
  std::string tree_;
};

}  // namespace berth::test::rootless
