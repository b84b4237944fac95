// berth-oci run by an ordinary user (#14), as crun and runc run rootless:
// `berth-oci spec --rootless` (its uid mapped to root, no network
// namespace), a tree the user built, no cgroup where the host delegates
// none. The user is made by the test (with a subordinate id range of its
// own, as useradd gives) and removed after, with everything it made.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "oci_helpers.h"

namespace berth::test::ocit {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

class Rootless : public OciTest {
 protected:
  void SetUp() override {
    OciTest::SetUp();
    if (IsSkipped()) return;
    for (auto tool : {"useradd", "userdel", "setpriv"})
      if (sh(std::string("command -v ") + tool + " >/dev/null").status != 0)
        GTEST_SKIP() << "not installed: " << tool;
    user_ = unique_id("brl");
    if (user_.size() > 31) user_ = user_.substr(user_.size() - 31);
    auto r = run({"useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user_});
    ASSERT_EQ(r.status, 0) << r.err;
    made_ = true;
    struct passwd* pw = ::getpwnam(user_.c_str());
    ASSERT_NE(pw, nullptr);
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    ::chmod(dir_.path().c_str(), 0755);
    for (auto d : {"bundle", "state", "xdg"}) {
      ::mkdir((dir_ / d).c_str(), 0700);
      ASSERT_EQ(::chown((dir_ / d).c_str(), uid_, gid_), 0);
    }
    // Its own copy of the tree, owned by it (what `podman unshare` or a
    // tar as that user would make).
    ASSERT_EQ(run({"cp", "-a", test_rootfs(), dir_ / "bundle/rootfs"}).status, 0);
    ASSERT_EQ(run({"chown", "-R", std::to_string(uid_) + ":" + std::to_string(gid_),
                   dir_ / "bundle/rootfs"})
                  .status,
              0);
  }
  void TearDown() override {
    if (made_) {
      // userdel refuses a user with processes left: none may be.
      auto d = run({"userdel", user_});
      EXPECT_EQ(d.status, 0) << d.err;
      EXPECT_EQ(sh("grep -c '^" + user_ + ":' /etc/passwd /etc/subuid /etc/subgid").out.find(":1"),
                std::string::npos)
          << "the test user is left behind";
    }
    OciTest::TearDown();
  }
  // argv as the user: its ids, no capabilities, its own runtime dir.
  RunResult as_user(const std::vector<std::string>& argv) {
    std::vector<std::string> a = {"setpriv",
                                  "--reuid=" + std::to_string(uid_),
                                  "--regid=" + std::to_string(gid_),
                                  "--clear-groups",
                                  "--inh-caps=-all",
                                  "--bounding-set=-all",
                                  "env",
                                  "-i",
                                  "PATH=/usr/bin:/bin",
                                  "XDG_RUNTIME_DIR=" + (dir_ / "xdg")};
    a.insert(a.end(), argv.begin(), argv.end());
    RunOptions o;
    o.cwd = dir_ / "bundle";
    return run(a, o);
  }

  TempDir dir_{"berth-test-rootless"};
  std::string user_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  bool made_ = false;
};

TEST_F(Rootless, AnOrdinaryUserRunsASpecRootlessBundle) {
  auto sp = as_user({berth_oci(), "spec", "--rootless"});
  ASSERT_EQ(sp.status, 0) << sp.err;
  auto cfg = json::parse(read_text(dir_ / "bundle/config.json"));
  EXPECT_EQ(cfg["linux"]["uidMappings"][0]["hostID"], uid_);
  EXPECT_EQ(cfg["linux"]["uidMappings"][0]["size"], 1);
  // A secret of another user's (root's), bound in: still not readable.
  std::string other = dir_ / "other";
  ::mkdir(other.c_str(), 0755);
  std::ofstream(other + "/secret") << "root only\n";
  ::chmod((other + "/secret").c_str(), 0600);
  cfg["process"]["terminal"] = false;
  cfg["process"]["args"] = {"/bin/sh", "-c",
                            "id -u; cat /proc/self/uid_map | tr -s ' '; echo made > /tmp/f && "
                            "cat /tmp/f; cat /other/secret || echo refused; touch /other/new || "
                            "echo refused; mknod /tmp/m c 1 1 || echo refused"};
  cfg["mounts"].push_back(
      {{"destination", "/other"}, {"type", "bind"}, {"source", other}, {"options", {"rbind"}}});
  cfg["mounts"].push_back({{"destination", "/tmp"},
                           {"type", "tmpfs"},
                           {"source", "tmpfs"},
                           {"options", {"nosuid", "nodev"}}});
  std::ofstream(dir_ / "bundle/config.json") << cfg.dump();
  auto r = as_user({berth_oci(), "--root", dir_ / "state", "run", "-b", ".", "rl1"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0\n 0 " + std::to_string(uid_) + " 1\nmade\nrefused\nrefused\nrefused\n")
      << r.err;
  EXPECT_FALSE(std::ifstream(other + "/new").good());
  // No cgroup was made for it (nothing delegated here), and it is gone.
  EXPECT_EQ(sh("ls -d /sys/fs/cgroup/*/berth/rl1 /sys/fs/cgroup/berth/rl1 2>/dev/null").out, "");
  auto list = as_user({berth_oci(), "--root", dir_ / "state", "list", "-q"});
  EXPECT_EQ(list.out, "");

  // exec by the user into its running container: root inside, in the
  // container's namespaces, its exit status back.
  cfg["process"]["args"] = {"/bin/sh", "-c", "exec sleep 1000 >/dev/null 2>&1 </dev/null"};
  std::ofstream(dir_ / "bundle/config.json") << cfg.dump();
  std::vector<std::string> oci = {berth_oci(), "--root", dir_ / "state"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.begin(), oci.begin(), oci.end());
    return as_user(args);
  };
  auto d = with({"run", "-d", "-b", ".", "rl2"});
  ASSERT_EQ(d.status, 0) << d.err;
  auto id = with({"exec", "rl2", "sh", "-c", "id -u; cat /proc/self/uid_map | tr -s ' '"});
  EXPECT_EQ(id.status, 0) << id.err;
  EXPECT_EQ(id.out, "0\n 0 " + std::to_string(uid_) + " 1\n") << id.err;
  auto three = with({"exec", "rl2", "sh", "-c", "exit 3"});
  EXPECT_EQ(three.status, 3) << three.err;
  auto none = with({"exec", "rl2", "/no/such"});
  EXPECT_NE(none.status, 0);
  EXPECT_EQ(std::count(none.err.begin(), none.err.end(), '\n'), 1) << none.err;
  auto del = with({"delete", "-f", "rl2"});
  EXPECT_EQ(del.status, 0) << del.err;
}

// A limit that cannot hold without a cgroup is refused, not ignored.
TEST_F(Rootless, ALimitWithoutADelegatedCgroupIsRefused) {
  ASSERT_EQ(as_user({berth_oci(), "spec", "--rootless"}).status, 0);
  auto cfg = json::parse(read_text(dir_ / "bundle/config.json"));
  cfg["process"]["terminal"] = false;
  cfg["process"]["args"] = {"/bin/true"};
  cfg["linux"]["resources"]["pids"]["limit"] = 10;
  std::ofstream(dir_ / "bundle/config.json") << cfg.dump();
  auto r = as_user({berth_oci(), "--root", dir_ / "state", "run", "-b", ".", "rl2"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("linux.cgroupsPath"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace berth::test::ocit
