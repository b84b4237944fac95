// The shipped `berth` run by an ordinary user (#14, rootless berth stage 1):
// layout, ids, binds, run, share_host, what it refuses (fixture.h).
#include "integration/rootless/fixture.h"

namespace berth::test::rootless {
namespace {

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
  // apply says the same of the container it starts.
  declare(
      "[containers.sh]\nshare_host = true\ncommand = [\"/bin/sleep\", \"1000\"]\n"
      "autostart = true\nresources = { pids = 50 }\n[containers.rl2]\npath = \"" +
      tree_ + "\"\ncommand = [\"/bin/sleep\", \"1000\"]\n");
  auto ap = as_user({"apply"});
  EXPECT_EQ(ap.status, 0) << ap.err;
  EXPECT_EQ(ap.err,
            "warning: containers.sh: resources (pids) not applied: no delegated cgroup "
            "for uid " +
                std::to_string(user_.uid) + "; it runs without limits\n");
  t = as_user({"terminate", "sh"});
  EXPECT_EQ(t.status, 0) << t.err;
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
  // A private network has no host side: its link is slirp4netns's.
  declare("[containers.rl]\npath = \"" + tree_ +
          "\"\ncommand = [\"/bin/true\"]\nprivate_network = true\nhost_address = "
          "\"10.231.0.1\"\n");
  c = as_user({"check"});
  EXPECT_EQ(c.status, 1);
  EXPECT_EQ(c.err, file +
                       ":5: containers.rl.host_address: not with a rootless berth: its private "
                       "network is slirp4netns's (eth0 10.0.2.100/24, gateway 10.0.2.2), reached "
                       "from the host by forward_ports\n");

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
}  // namespace berth::test::rootless
