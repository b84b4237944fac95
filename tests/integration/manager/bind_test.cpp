// berth bind / unbind end to end: transient binds into running busybox
// containers (private trees, as the binds' --mkdir writes to them), each test
// with its own --root, nothing left behind.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/manager/manager_fixture.h"
#include "support/testenv.h"

namespace berth::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLoop = "trap 'exit 0' TERM; while :; do sleep 0.1; done";

// What the kernel lacks for `berth bind`, or "".
std::string missing_mount_api() {
  int fd = static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, "/", 01000000 /*O_CLOEXEC*/));
  if (fd < 0 && errno == ENOSYS) return "open_tree (Linux 5.2)";
  if (fd >= 0) ::close(fd);
  if (::syscall(SYS_mount_setattr, -1, "", 0, nullptr, 0) < 0 && errno == ENOSYS)
    return "mount_setattr (Linux 5.12)";
  return "";
}

class Bind : public ManagerTest {
 protected:
  Bind() : ManagerTest("berth-test-mgrb") {}

  void SetUp() override {
    ManagerTest::SetUp();
    if (IsSkipped()) return;
    if (auto m = missing_mount_api(); !m.empty()) GTEST_SKIP() << "the kernel has no " << m;
    ::chmod(data_.path().c_str(), 0777);
    fs::create_directories(data_ / "d");
    std::ofstream(data_ / "d/x") << "dir\n";
    std::ofstream(data_ / "f.txt") << "file\n";
    ::chmod((data_ / "d").c_str(), 0777);
  }
  // A running busybox container on a private copy of the tree.
  std::string started(const std::string& base, const std::string& extra = "") {
    tree_ = copy_tree(t_);
    auto n = name(base);
    declare(busybox_decl(n, kLoop, extra, tree_));
    auto r = berth({"start", n});
    EXPECT_EQ(r.status, 0) << r.err;
    return n;
  }
  RunResult sh(const std::string& n, const std::string& cmd) {
    return berth({"run", n, "--", "/bin/sh", "-c", cmd});
  }
  std::string in(const std::string& n, const std::string& cmd) {
    auto r = sh(n, cmd);
    EXPECT_EQ(r.status, 0) << cmd << ": " << r.err;
    return r.out;
  }

  TempDir data_{"berth-test-bdata"};
  TempDir t_{"berth-test-btree"};
  std::string tree_;
};

TEST_F(Bind, FilesAndDirectoriesLiveReadOnlyAndUnbound) {
  auto n = started("bd");
  // A directory, made with --mkdir (in the container's tree), live both ways.
  auto r = berth({"bind", n, data_ / "d", "/mnt/d", "--mkdir"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out + r.err, "");
  EXPECT_TRUE(fs::is_directory(tree_ + "/mnt/d"));
  EXPECT_EQ(in(n, "cat /mnt/d/x"), "dir\n");
  std::ofstream(data_ / "d/y") << "from the host\n";
  EXPECT_EQ(in(n, "cat /mnt/d/y; echo inside > /mnt/d/z"), "from the host\n");
  EXPECT_EQ(slurp(data_ / "d/z"), "inside\n");
  // Always nosuid and nodev.
  auto mi = in(n, "grep ' /mnt/d ' /proc/self/mountinfo");
  EXPECT_NE(mi.find("nosuid"), std::string::npos) << mi;
  EXPECT_NE(mi.find("nodev"), std::string::npos) << mi;

  // A file, onto an empty file --mkdir makes.
  ASSERT_EQ(berth({"bind", n, data_ / "f.txt", "/etc/f.txt", "--mkdir"}).status, 0);
  EXPECT_EQ(in(n, "cat /etc/f.txt"), "file\n");
  EXPECT_TRUE(fs::is_regular_file(tree_ + "/etc/f.txt"));
  EXPECT_EQ(fs::file_size(tree_ + "/etc/f.txt"), 0u);

  // Read-only: writing fails inside, the host's file is unchanged.
  ASSERT_EQ(berth({"bind", n, data_ / "d", "/ro", "--mkdir", "--read-only"}).status, 0);
  EXPECT_EQ(in(n, "cat /ro/x"), "dir\n");
  EXPECT_NE(sh(n, "echo no > /ro/x").status, 0);
  EXPECT_NE(sh(n, "touch /ro/new").status, 0);
  EXPECT_EQ(slurp(data_ / "d/x"), "dir\n");
  EXPECT_FALSE(exists(data_ / "d/new"));

  // status knows them.
  auto s = status(n);
  ASSERT_EQ(s["binds"].size(), 3u) << s;
  EXPECT_EQ(s["binds"][0]["path"], "/mnt/d");
  EXPECT_EQ(s["binds"][0]["host_path"], data_ / "d");
  EXPECT_EQ(s["binds"][2]["read_only"], true);
  auto text = berth({"status", n}).out;
  EXPECT_NE(text.find("bind: /ro from " + data_ / "d" + ", read-only (transient)"),
            std::string::npos)
      << text;

  // unbind: the container's own directory again; a second time it is no mount.
  r = berth({"unbind", n, "/mnt/d/"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(in(n, "ls /mnt/d | wc -l"), "0\n");
  EXPECT_EQ(status(n)["binds"].size(), 2u);
  expect_one_line(berth({"unbind", n, "/mnt/d"}), "/mnt/d is not a mount point");
  ASSERT_EQ(berth({"unbind", n, "/ro"}).status, 0);
  EXPECT_EQ(in(n, "ls /ro | wc -l"), "0\n");

  // Transient: a restart has none of them.
  ASSERT_EQ(berth({"restart", n}).status, 0);
  EXPECT_EQ(status(n)["binds"].size(), 0u);
  EXPECT_EQ(in(n, "cat /etc/f.txt | wc -c"), "0\n");
  expect_one_line(berth({"unbind", n, "/etc/f.txt"}), "/etc/f.txt is not a mount point");
  ASSERT_EQ(berth({"stop", n}).status, 0);
  EXPECT_EQ(slurp(data_ / "d/x"), "dir\n");
}

// The destination resolves inside the container's root, whatever its
// symlinks point at: the bind lands in the tree, never on the host.
TEST_F(Bind, SymlinksOfTheContainerDoNotLeadOutOfItsRoot) {
  TempDir victim("berth-test-bvictim");
  tree_ = copy_tree(t_);
  auto n = name("bs");
  declare(busybox_decl(n, kLoop, "", tree_));
  ASSERT_EQ(::symlink(victim.path().c_str(), (tree_ + "/abs").c_str()), 0);
  ASSERT_EQ(::symlink("../../../../../../../..", (tree_ + "/up").c_str()), 0);
  ASSERT_EQ(::symlink((victim.path() + "/none").c_str(), (tree_ + "/dangling").c_str()), 0);
  ASSERT_EQ(berth({"start", n}).status, 0);
  // Through a link to what the container does not have: refused, nothing made.
  expect_one_line(berth({"bind", n, data_ / "d", "/abs/in", "--mkdir"}), "/abs");
  expect_one_line(berth({"bind", n, data_ / "d", "/dangling", "--mkdir"}), "/dangling");
  EXPECT_FALSE(exists(tree_ + victim.path()));
  EXPECT_TRUE(fs::is_empty(victim.path()));
  fs::create_directories(tree_ + victim.path());

  auto r = berth({"bind", n, data_ / "d", "/abs/in", "--mkdir"});
  ASSERT_EQ(r.status, 0) << r.err;
  r = berth({"bind", n, data_ / "f.txt", "/up" + victim.path() + "/file", "--mkdir"});
  ASSERT_EQ(r.status, 0) << r.err;
  // Made in the container's tree, at the path the link names there.
  EXPECT_TRUE(fs::is_directory(tree_ + victim.path() + "/in"));
  EXPECT_TRUE(fs::is_regular_file(tree_ + victim.path() + "/file"));
  EXPECT_EQ(in(n, "cat " + victim.path() + "/in/x " + victim.path() + "/file"), "dir\nfile\n");
  // Nothing of the host's: not made, not mounted on.
  EXPECT_TRUE(fs::is_empty(victim.path()));
  EXPECT_TRUE(host_mounts_matching(victim.path()).empty());
  ASSERT_EQ(berth({"unbind", n, "/abs/in"}).status, 0);
  ASSERT_EQ(berth({"stop", n}).status, 0);
}

TEST_F(Bind, BadInputChangesNothing) {
  auto n = started(
      "bb", "bind_mounts.\"/decl\" = { host_path = \"" + data_ / "d" + "\", read_only = true }");
  auto tree_before = run({"sh", "-c", "cd " + tree_ + " && find . | sort"}).out;
  expect_one_line(berth({"bind", "berth-test-nosuch", data_ / "d", "/x"}),
                  "berth: bind berth-test-nosuch: berth-test-nosuch is not running");
  EXPECT_FALSE(exists(root_ / "run/berth/berth-test-nosuch"));
  expect_one_line(berth({"bind", n, data_ / "nonexistent", "/x", "--mkdir"}),
                  data_ / "nonexistent: No such file or directory");
  expect_one_line(berth({"bind", n, data_ / "d", "/nope/x"}),
                  "/nope/x: No such file or directory (--mkdir makes it)");
  expect_one_line(berth({"bind", n, data_ / "d", "relative"}), "must be absolute");
  expect_one_line(berth({"bind", n, data_ / "d", "/"}), "cannot be bound over");
  expect_one_line(berth({"bind", n, data_ / "f.txt", "/etc"}),
                  "/etc is a directory and " + data_ / "f.txt" + " is not");
  expect_one_line(berth({"bind", n, data_ / "d", "/bin/busybox"}),
                  "/bin/busybox is not a directory and " + data_ / "d" + " is one");
  expect_one_line(berth({"unbind", n, "/decl"}), "/decl is declared in bind_mounts");
  expect_one_line(berth({"unbind", n, "/proc"}), "/proc is not a bind made by berth bind");
  expect_one_line(berth({"unbind", n, "/bin"}), "/bin is not a mount point");
  expect_one_line(berth({"unbind", n, "/nonexistent"}), "/nonexistent: No such file or directory");
  EXPECT_EQ(in(n, "cat /decl/x"), "dir\n");
  EXPECT_EQ(status(n)["binds"].size(), 0u);
  EXPECT_EQ(run({"sh", "-c", "cd " + tree_ + " && find . | sort"}).out, tree_before);
  ASSERT_EQ(berth({"stop", n}).status, 0);
  expect_one_line(berth({"bind", n, data_ / "d", "/mnt"}), n + " is not running");
  expect_one_line(berth({"unbind", n, "/mnt"}),
                  "berth: unbind " + n + ": " + n + " is not running");
  EXPECT_FALSE(exists(root_ / ("run/berth/" + n)));
}

// In a user namespace: the bind is there, idmapped by default (its root's
// writes are the host's root's) or, with --no-idmap, not (they are uid_base's
// on the host), and a read-only bind stays so: the kernel locks its flags, so
// that its root cannot remount it read-write.
TEST_F(Bind, UserNamespacedContainerCannotUnlockTheFlags) {
  auto n = started("bu", "private_users = \"pick\"");
  auto base = status(n)["uid_base"];
  ASSERT_TRUE(base.is_number()) << status(n);
  auto r = berth({"bind", n, data_ / "d", "/rw", "--mkdir"});
  ASSERT_EQ(r.status, 0) << r.err;
  r = berth({"bind", n, data_ / "d", "/rwn", "--mkdir", "--no-idmap"});
  ASSERT_EQ(r.status, 0) << r.err;
  r = berth({"bind", n, data_ / "d", "/ro", "--mkdir", "--read-only"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(in(n, "cat /ro/x; echo mine > /rw/mine; echo its > /rwn/its; stat -c %u /rw/x /rwn/x"),
            "dir\n0\n65534\n");
  struct stat st;
  ASSERT_EQ(::stat((data_ / "d/mine").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  ASSERT_EQ(::stat((data_ / "d/its").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, base.get<uint32_t>());
  ASSERT_EQ(berth({"unbind", n, "/rwn"}).status, 0);
  EXPECT_NE(sh(n, "touch /ro/new").status, 0);
  EXPECT_NE(sh(n, "mount -o remount,rw,bind /ro").status, 0);
  EXPECT_NE(sh(n, "mount -o remount,suid,bind /rw").status, 0);
  EXPECT_NE(sh(n, "touch /ro/new").status, 0);
  EXPECT_FALSE(exists(data_ / "d/new"));
  ASSERT_EQ(berth({"unbind", n, "/ro"}).status, 0);
  ASSERT_EQ(berth({"unbind", n, "/rw"}).status, 0);
  EXPECT_EQ(in(n, "ls -A /ro | wc -l; ls -A /rw | wc -l; ls -A /rwn | wc -l"), "0\n0\n0\n");
  ASSERT_EQ(berth({"stop", n}).status, 0);
}

// bind_mounts of a user-namespaced container are idmapped (#14): its root
// is the host's root in them, files it makes there are the host's root's, a
// host file outside its range stays unwritable, a read-only one cannot be
// remounted read-write even with CAP_SYS_ADMIN (its user namespace's), and
// idmap = false binds one as it is (the host's root's files are nobody's).
TEST_F(Bind, DeclaredBindsOfAUserNamespacedContainerAreIdmapped) {
  tree_ = copy_tree(t_);
  fs::create_directories(data_ / "srv");
  ::chmod((data_ / "srv").c_str(), 0755);
  std::ofstream(data_ / "srv/root-file") << "root\n";
  std::ofstream(data_ / "srv/outside") << "outside\n";
  // A host uid no container range of 65536 ids from 0 reaches.
  ASSERT_EQ(::chown((data_ / "srv/outside").c_str(), 70000, 70000), 0);
  ::chmod((data_ / "srv/outside").c_str(), 0644);
  auto n = name("bid");
  declare(busybox_decl(n, kLoop,
                       "private_users = \"pick\"\n"
                       "additional_capabilities = [\"CAP_SYS_ADMIN\"]\n"
                       "bind_mounts.\"/srv\" = { host_path = \"" +
                           data_ / "srv" +
                           "\", read_only = false }\n"
                           "bind_mounts.\"/ro\" = \"" +
                           data_ / "srv" +
                           "\"\n"
                           "bind_mounts.\"/plain\" = { host_path = \"" +
                           data_ / "srv" + "\", read_only = false, idmap = false }\n",
                       tree_));
  auto spec = nlohmann::json::parse(berth({"spec", n}).out);
  for (auto& m : spec["mounts"]) {
    bool idmap = false;
    for (auto& o : m["options"]) idmap |= o == "idmap";
    if (m["destination"] == "/srv" || m["destination"] == "/ro") {
      EXPECT_TRUE(idmap) << m.dump();
    } else if (m["destination"] == "/plain") {
      EXPECT_FALSE(idmap) << m.dump();
    }
  }
  auto r = berth({"start", n});
  ASSERT_EQ(r.status, 0) << r.err << slurp(root_ / ("var/log/berth/" + n + ".log"));
  auto base = status(n)["uid_base"];
  ASSERT_TRUE(base.is_number());
  EXPECT_EQ(slurp(root_ / ("var/log/berth/" + n + ".log")).find("not idmapped"), std::string::npos);
  EXPECT_EQ(in(n, "stat -c '%u %g' /srv /srv/root-file /srv/outside /plain/root-file"),
            "0 0\n0 0\n65534 65534\n65534 65534\n");
  EXPECT_EQ(in(n,
               "echo more >> /srv/root-file && mkdir /srv/made && echo new > /srv/made/f && "
               "cat /srv/root-file"),
            "root\nmore\n");
  struct stat st;
  ASSERT_EQ(::stat((data_ / "srv/made/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, 0u);
  // What must stay unwritable does.
  EXPECT_NE(sh(n, "echo x >> /srv/outside").status, 0);
  EXPECT_NE(sh(n, "echo x >> /ro/root-file").status, 0);
  EXPECT_NE(sh(n, "mount -o remount,rw,bind /ro").status, 0);
  EXPECT_NE(sh(n, "echo x >> /ro/root-file").status, 0);
  EXPECT_NE(sh(n, "echo x >> /plain/root-file").status, 0);
  EXPECT_NE(sh(n, "touch /plain/new").status, 0);
  EXPECT_EQ(slurp(data_ / "srv/outside"), "outside\n");
  EXPECT_EQ(slurp(data_ / "srv/root-file"), "root\nmore\n");
  EXPECT_FALSE(exists(data_ / "srv/new"));

  // Those binds are locked (built outside its user namespace): a new one
  // comes live, one removed takes a restart.
  std::string decl = slurp(root_ / "etc/berth/containers.toml");
  std::string added =
      decl + "bind_mounts.\"/more\" = { host_path = \"" + data_ / "d" + "\", idmap = false }\n";
  declare(added);
  auto plan = berth({"plan"});
  EXPECT_EQ(plan.out, "update " + n + ": live, no restart: bind_mounts: mount namespace (+/more)\n")
      << plan.err;
  ASSERT_EQ(berth({"apply"}).status, 0);
  EXPECT_EQ(in(n, "cat /more/x"), "dir\n");
  auto plain = added.find("bind_mounts.\"/plain\"");
  ASSERT_NE(plain, std::string::npos);
  declare(added.substr(0, plain) + added.substr(added.find('\n', plain) + 1));
  plan = berth({"plan"});
  EXPECT_NE(plan.out.find("restart " + n), std::string::npos) << plan.out << plan.err;
  EXPECT_EQ(plan.out.find("live"), std::string::npos) << plan.out;
  ASSERT_EQ(berth({"stop", n}).status, 0);
}

// bind_mounts changed on a running container (#15): `plan` names the live
// path, `apply` unbinds and binds in its mount namespace without a restart,
// and then runs its reload command; a restart keeps the applied binds.
TEST_F(Bind, DeclaredBindMountsChangeLive) {
  tree_ = copy_tree(t_);
  auto n = name("bdl");
  std::string reload = "reload = [\"/bin/sh\", \"-c\", \"echo r >> /reloads\"]\n";
  auto with = [&](const std::string& binds) {
    return busybox_decl(n, kLoop, reload + binds, tree_);
  };
  declare(with("bind_mounts.\"/mnt/d\" = \"" + data_ / "d" + "\"\n"));
  ASSERT_EQ(berth({"start", n}).status, 0);
  int pid = status(n)["pid"].get<int>();
  EXPECT_EQ(in(n, "cat /mnt/d/x"), "dir\n");

  declare(with("bind_mounts.\"/srv/f\" = { host_path = \"" + data_ / "f.txt" +
               "\", read_only = true }\n"));
  auto plan = berth({"plan"});
  EXPECT_EQ(plan.out, "update " + n +
                          ": live, no restart: bind_mounts: mount namespace (-/mnt/d, +/srv/f); "
                          "then reload: /bin/sh -c echo r >> /reloads\n")
      << plan.err;
  auto ap = berth({"apply"});
  ASSERT_EQ(ap.status, 0) << ap.out << ap.err;
  EXPECT_EQ(status(n)["pid"].get<int>(), pid);
  EXPECT_EQ(in(n, "cat /srv/f"), "file\n");
  EXPECT_NE(sh(n, "echo x > /srv/f").status, 0);  // read-only
  EXPECT_EQ(in(n, "ls /mnt/d | wc -l"), "0\n");   // the bind is gone, the dir stays
  EXPECT_EQ(in(n, "cat /reloads"), "r\n");
  EXPECT_EQ(berth({"plan"}).out, "nothing to do: the host matches the declarations\n");
  // Not a transient bind: unbind refuses it as declared.
  auto u = berth({"unbind", n, "/srv/f"});
  EXPECT_NE(u.status, 0);
  EXPECT_NE(u.err.find("declared in bind_mounts"), std::string::npos) << u.err;
  // The monitor's own restart (the init killed) starts it with the new binds.
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  for (int i = 0; i < 100; ++i) {
    auto st = status(n);
    if (st.value("state", "") == "running" && st.value("pid", 0) != pid) break;
    usleep(50000);
  }
  EXPECT_EQ(in(n, "cat /srv/f"), "file\n");
  ASSERT_EQ(berth({"stop", n}).status, 0);
}

}  // namespace
}  // namespace berth::test
