// The shipped `berth` run by an ordinary user (#14, rootless berth stage 1):
// the test makes a user berthtest-XXXX with a subordinate id range of its
// own, a private HOME and XDG_RUNTIME_DIR, runs berth as that user (setpriv:
// its ids, no capabilities) and removes the user, its subuid/subgid lines,
// every process and file after, also when an assertion fails.
#include <dirent.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/testenv.h"

namespace berth::test {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

// The owner, mode and existence of a path, as "UID 0700" ("" if missing).
std::string owner_mode(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return "";
  char mode[8];
  std::snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
  return std::to_string(st.st_uid) + " " + mode;
}

// The first id free after every range of a subuid/subgid file.
uint64_t first_free(const std::string& file) {
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

bool has_line_of(const std::string& file, const std::string& user) {
  std::istringstream in(slurp(file));
  for (std::string l; std::getline(in, l);)
    if (l.rfind(user + ":", 0) == 0) return true;
  return false;
}

// Every process whose real uid is in [lo, hi] (the user's and its
// containers' ids): the test's own, ended by pid.
std::vector<pid_t> processes_of(uint64_t lo, uint64_t hi, uint64_t uid) {
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
    std::vector<std::string> a = {"setpriv",
                                  "--reuid=" + std::to_string(user_.uid),
                                  "--regid=" + std::to_string(user_.gid),
                                  "--init-groups",
                                  "--inh-caps=-all",
                                  "env",
                                  "-i",
                                  "PATH=/usr/bin:/bin",
                                  "HOME=" + (dir_ / "home")};
    bool drop_xdg =
        std::find(env_extra.begin(), env_extra.end(), "-XDG_RUNTIME_DIR") != env_extra.end();
    if (!drop_xdg) a.push_back("XDG_RUNTIME_DIR=" + (dir_ / "xdg"));
    for (auto& e : env_extra)
      if (!e.starts_with("-")) a.push_back(e);
    a.push_back(dir_ / "bin/berth");
    a.insert(a.end(), args.begin(), args.end());
    RunOptions o;
    o.cwd = dir_.path();
    return run(a, o);
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
  TestUser user_;
  std::string tree_;
};

TEST_F(RootlessBerth, XdgLayoutIsMadePrivateAndWithoutARuntimeDirItSaysSo) {
  auto none = as_user({"list"}, {"-XDG_RUNTIME_DIR"});
  EXPECT_EQ(none.status, 1);
  EXPECT_EQ(none.err,
            "berth: XDG_RUNTIME_DIR is not set (or not absolute): a rootless berth keeps its "
            "runtime state in $XDG_RUNTIME_DIR/berth; set it (a 0700 directory of yours) or "
            "give --root DIR\n");
  EXPECT_EQ(owner_mode(dir_ / "home/.config/berth"), "") << "nothing is made then";

  auto l = as_user({"list"});
  EXPECT_EQ(l.status, 0) << l.err;
  std::string mine = std::to_string(user_.uid) + " 0700";
  EXPECT_EQ(owner_mode(dir_ / "home/.config/berth"), mine);
  EXPECT_EQ(owner_mode(dir_ / "home/.local/share/berth"), mine);
  EXPECT_EQ(owner_mode(dir_ / "xdg/berth"), mine);
  // XDG_CONFIG_HOME and XDG_DATA_HOME move them.
  auto x = as_user({"list"}, {"XDG_CONFIG_HOME=" + (dir_ / "home/cfg"),
                              "XDG_DATA_HOME=" + (dir_ / "home/data")});
  EXPECT_EQ(x.status, 0) << x.err;
  EXPECT_EQ(owner_mode(dir_ / "home/cfg/berth"), mine);
  EXPECT_EQ(owner_mode(dir_ / "home/data/berth"), mine);
}

TEST_F(RootlessBerth, ACommandContainerRunsAsTheUserAndReachesNothingOfOthers) {
  ASSERT_EQ(as_user({"list"}).status, 0);
  // A root-owned secret and another user's home, bound in.
  ::mkdir((dir_ / "other").c_str(), 0755);
  std::ofstream(dir_ / "other/secret") << "root only\n";
  ::chmod((dir_ / "other/secret").c_str(), 0600);
  ::mkdir((dir_ / "otherhome").c_str(), 0700);
  std::ofstream(dir_ / "otherhome/notes") << "nobody's\n";
  ASSERT_EQ(::chown((dir_ / "otherhome").c_str(), 65534, 65534), 0);
  // And one of the user's, for `run` to write in.
  ::mkdir((dir_ / "home/bound").c_str(), 0755);
  ASSERT_EQ(::chown((dir_ / "home/bound").c_str(), user_.uid, user_.gid), 0);
  declare("[containers.rl]\npath = \"" + tree_ +
          "\"\ncommand = [\"/bin/sh\", \"-c\", \"id -u; cat /other/secret || echo refused; "
          "touch /other/new || echo refused; ls /otherhome || echo refused; echo x > /mine && "
          "echo mine; exec sleep 1000\"]\n"
          "bind_mounts.\"/other\" = { host_path = \"" +
          (dir_ / "other") + "\" }\nbind_mounts.\"/otherhome\" = { host_path = \"" +
          (dir_ / "otherhome") + "\" }\nbind_mounts.\"/bound\" = { host_path = \"" +
          (dir_ / "home/bound") + "\", read_only = false }\n");
  auto s = as_user({"start", "rl"});
  ASSERT_EQ(s.status, 0) << s.err << s.out;
  EXPECT_EQ(s.err, "");

  // Its init: root inside is the user on the host, its maps the user's.
  auto st = status_json("rl");
  ASSERT_TRUE(st["pid"].is_number()) << st.dump();
  int pid = st["pid"];
  std::string u = std::to_string(user_.uid);
  std::string status = slurp("/proc/" + std::to_string(pid) + "/status");
  EXPECT_NE(status.find("\nUid:\t" + u + "\t" + u + "\t" + u + "\t" + u + "\n"), std::string::npos)
      << status;
  std::string map = slurp("/proc/" + std::to_string(pid) + "/uid_map");
  std::string squeezed;
  for (char c : map)
    if (!(c == ' ' && (squeezed.empty() || squeezed.back() == ' ' || squeezed.back() == '\n')))
      squeezed += c;
  EXPECT_EQ(squeezed, "0 " + u + " 1\n1 " + std::to_string(user_.sub_start) + " " +
                          std::to_string(user_.sub_count) + "\n");

  // status says what holds.
  auto text = as_user({"status", "rl"});
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("  limits: not applied (no delegated cgroup for uid " + u + ")\n"),
            std::string::npos)
      << text.out;
  EXPECT_NE(
      text.out.find("  user namespace: ids 0 -> " + u + ", 1-" + std::to_string(user_.sub_count) +
                    " -> " + std::to_string(user_.sub_start) + "-"),
      std::string::npos)
      << text.out;
  auto list = as_user({"list"});
  EXPECT_NE(list.out.find("rl "), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("up"), std::string::npos) << list.out;

  // The XDG layout, nothing in the system's.
  EXPECT_EQ(owner_mode(dir_ / "xdg/berth/rl").substr(0, u.size()), u);
  EXPECT_NE(owner_mode(dir_ / "home/.local/share/berth/log/rl.log"), "");
  EXPECT_EQ(owner_mode("/run/berth/rl"), "");

  // Inside: root, and nothing of others' readable or writable.
  EXPECT_EQ(said("rl", {"0", "refused", "mine"}),
            (std::vector<std::string>{"0", "refused", "refused", "refused", "mine"}));
  EXPECT_FALSE(std::ifstream(dir_ / "other/new").good());
  // What its root wrote is the user's on the host.
  EXPECT_EQ(owner_mode(tree_ + "/mine").substr(0, u.size() + 1), u + " ");
  // The spec it runs with says the same (as plan compares it).
  auto spec = as_user({"spec", "rl"});
  ASSERT_EQ(spec.status, 0) << spec.err;
  auto sj = nlohmann::json::parse(spec.out, nullptr, false);
  EXPECT_EQ(sj["linux"]["uidMappings"][0]["hostID"], user_.uid) << spec.out;
  EXPECT_EQ(sj["linux"]["uidMappings"][1]["hostID"], user_.sub_start) << spec.out;
  auto plan = as_user({"plan"});
  EXPECT_EQ(plan.status, 0) << plan.err;
  EXPECT_EQ(plan.out.find("restart"), std::string::npos) << plan.out;

  // `run` in it: root inside, its exit status passed through.
  auto id = as_user({"run", "rl", "--", "id", "-u"});
  EXPECT_EQ(id.status, 0) << id.err;
  EXPECT_EQ(id.out, "0\n") << id.err;
  EXPECT_EQ(id.err, "");
  auto seven = as_user({"run", "rl", "--", "sh", "-c", "exit 7"});
  EXPECT_EQ(seven.status, 7) << seven.err;
  EXPECT_EQ(seven.err, "");
  // In its pid namespace (a small pid there, the init's namespace) and its
  // user namespace (the init's, with the init's maps), as the user on the host.
  std::string ns = "/proc/" + std::to_string(pid) + "/ns/";
  auto in = as_user({"run", "rl", "--", "sh", "-c",
                     "echo $$; readlink /proc/self/ns/pid; readlink /proc/self/ns/user; cat "
                     "/proc/self/uid_map; grep ^Uid: /proc/self/status"});
  ASSERT_EQ(in.status, 0) << in.err;
  std::istringstream lines(in.out);
  std::string own_pid, pidns, userns;
  std::getline(lines, own_pid);
  std::getline(lines, pidns);
  std::getline(lines, userns);
  EXPECT_GT(std::stoi(own_pid), 1) << in.out;
  EXPECT_LT(std::stoi(own_pid), 100) << in.out;
  char link[64] = {};
  EXPECT_GT(::readlink((ns + "pid").c_str(), link, sizeof(link) - 1), 0);
  EXPECT_EQ(pidns, link) << in.out;
  std::fill(std::begin(link), std::end(link), 0);
  EXPECT_GT(::readlink((ns + "user").c_str(), link, sizeof(link) - 1), 0);
  EXPECT_EQ(userns, link) << in.out;
  EXPECT_NE(in.out.find(map), std::string::npos) << in.out << map;
  EXPECT_NE(in.out.find("\nUid:\t0\t0\t0\t0\n"), std::string::npos) << in.out;
  // What its root writes through `run` in a bind is the user's on the host.
  auto w = as_user({"run", "rl", "--", "sh", "-c", "echo hi > /bound/f"});
  EXPECT_EQ(w.status, 0) << w.err;
  EXPECT_EQ(owner_mode(dir_ / "home/bound/f").substr(0, u.size() + 1), u + " ");
  EXPECT_EQ(slurp(dir_ / "home/bound/f"), "hi\n");
  // A command that is not there: one line, and the container runs on.
  auto none = as_user({"run", "rl", "--", "/no/such"});
  EXPECT_NE(none.status, 0);
  EXPECT_EQ(std::count(none.err.begin(), none.err.end(), '\n'), 1) << none.err;
  EXPECT_TRUE(pid_alive(pid));

  auto stop = as_user({"stop", "rl"});
  EXPECT_EQ(stop.status, 0) << stop.err;
  EXPECT_FALSE(pid_alive(pid));
  EXPECT_EQ(status_json("rl")["state"], "down");
}

TEST_F(RootlessBerth, ShareHostAndTwoContainersShareTheUsersRange) {
  ASSERT_EQ(as_user({"list"}).status, 0);
  declare(
      "[containers.sh]\nshare_host = true\ncommand = [\"/bin/sh\", \"-c\", \"id -u; touch "
      "/usr/x || echo refused; test -e /etc/shadow || echo none; exec sleep 1000\"]\n"
      "resources = { memory = \"64M\", pids = 50 }\n"
      "[containers.rl2]\npath = \"" +
      tree_ + "\"\ncommand = [\"/bin/sleep\", \"1000\"]\n");
  auto s = as_user({"start", "sh", "rl2"});
  ASSERT_EQ(s.status, 0) << s.err;
  // Declared limits that cannot hold are said at start, not dropped silently.
  EXPECT_EQ(s.err,
            "warning: containers.sh: resources (memory, pids) not applied: no delegated "
            "cgroup for uid " +
                std::to_string(user_.uid) + "; it runs without limits\n");
  int a = status_json("sh")["pid"], b = status_json("rl2")["pid"];
  EXPECT_EQ(slurp("/proc/" + std::to_string(a) + "/uid_map"),
            slurp("/proc/" + std::to_string(b) + "/uid_map"));
  // The host's /usr, read-only, and its /etc's secrets not there.
  EXPECT_EQ(said("sh", {"0", "refused", "none"}),
            (std::vector<std::string>{"0", "refused", "none"}));
  // `run` in both, as root inside.
  for (auto name : {"sh", "rl2"}) {
    auto id = as_user({"run", name, "--", "id", "-u"});
    EXPECT_EQ(id.status, 0) << name << ": " << id.err;
    EXPECT_EQ(id.out, "0\n") << name;
  }
  auto t = as_user({"terminate", "sh"});
  EXPECT_EQ(t.status, 0) << t.err;
  EXPECT_FALSE(pid_alive(a));
  auto stop = as_user({"stop", "rl2"});
  EXPECT_EQ(stop.status, 0) << stop.err;
  EXPECT_FALSE(pid_alive(b));
}

TEST_F(RootlessBerth, WhatARootlessBerthCannotDoIsOneLine) {
  ASSERT_EQ(as_user({"list"}).status, 0);
  std::string file = dir_ / "home/.config/berth/containers.toml";
  declare("[containers.rl]\npath = \"" + tree_ +
          "\"\ncommand = [\"/bin/true\"]\nprivate_users = \"no\"\n");
  auto c = as_user({"start", "rl"});
  EXPECT_EQ(c.status, 1);
  EXPECT_EQ(c.err, file +
                       ":4: containers.rl.private_users: expected \"pick\": a rootless berth runs "
                       "every container in a user namespace of the caller's ids (/etc/subuid, "
                       "/etc/subgid)\n");
  declare("[containers.rl]\npath = \"" + tree_ +
          "\"\ncommand = [\"/bin/true\"]\nprivate_network = true\n");
  c = as_user({"check"});
  EXPECT_EQ(c.status, 1);
  EXPECT_EQ(first_line(c.err),
            file +
                ":4: containers.rl.private_network: not supported by a rootless berth yet: "
                "expected false (no pasta or slirp4netns network yet: it shares the host's, "
                "as with private_network = false as root)");
  EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << c.err;

  // No subordinate ids: one line naming the file and the user.
  declare("[containers.rl]\npath = \"" + tree_ + "\"\ncommand = [\"/bin/sleep\", \"1000\"]\n");
  std::string range =
      std::to_string(user_.sub_start) + "-" + std::to_string(user_.sub_start + user_.sub_count - 1);
  ASSERT_EQ(run({"usermod", "--del-subuids", range, user_.name}).status, 0);
  auto s = as_user({"start", "rl"});
  EXPECT_EQ(s.status, 1);
  EXPECT_EQ(s.err, "berth: start rl: no subordinate ids for user " + user_.name + " (uid " +
                       std::to_string(user_.uid) +
                       ") in /etc/subuid: a rootless berth maps its containers' ids there (as "
                       "root: usermod --add-subuids FIRST-LAST --add-subgids FIRST-LAST " +
                       user_.name + ")\n");
  EXPECT_EQ(status_json("rl")["state"], "down");
}

}  // namespace
}  // namespace berth::test
