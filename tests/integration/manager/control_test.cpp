// machinectl's kill, enable/disable and copy-to/copy-from as berth verbs, end
// to end: busybox containers (private trees where they are written to), each
// test with its own --root, nothing left behind.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/manager/manager_fixture.h"
#include "support/testenv.h"

namespace berth::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kTermLoop =
    "trap 'echo bye; exit 0' TERM; echo hello; while :; do sleep 0.1; done";

struct stat stat_of(const std::string& path) {
  struct stat st = {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

void write(const std::string& path, const std::string& text, mode_t mode, time_t mtime) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
  struct timespec t[2] = {{mtime, 0}, {mtime, 123456789}};
  ::utimensat(AT_FDCWD, path.c_str(), t, AT_SYMLINK_NOFOLLOW);
}

class Control : public ManagerTest {
 protected:
  Control() : ManagerTest("berth-test-mgrc") {}

  void SetUp() override {
    ManagerTest::SetUp();
    if (IsSkipped()) return;
    ::chmod(data_.path().c_str(), 0777);
  }
  std::string log_of(const std::string& n) {
    return slurp(root_ / ("var/log/berth/" + n + ".log"));
  }
  std::string in(const std::string& n, const std::string& cmd) {
    auto r = berth({"run", n, "--", "/bin/sh", "-c", cmd});
    EXPECT_EQ(r.status, 0) << cmd << ": " << r.err;
    return r.out;
  }

  TempDir data_{"berth-test-data"};
};

// ---- kill ----

TEST_F(Control, KillSignalsTheInitOrEveryProcess) {
  auto n = name("ck");
  // The command (behind the stub init, which forwards what it gets) and a
  // second process of the container each say which signal reached them.
  declare(
      busybox_decl(n,
                   "trap 'echo main got USR1' USR1; trap 'echo main got TERM' TERM; "
                   "/bin/sh -c \"trap 'echo child got USR1' USR1; echo child ready; "
                   "while :; do sleep 0.1; done\" & echo main ready; while :; do sleep 0.1; done",
                   "timeout_stop = \"3s\""));
  ASSERT_EQ(berth({"start", n}).status, 0);
  ASSERT_TRUE(eventually([&] {
    auto l = log_of(n);
    return count(l, "main ready") == 1 && count(l, "child ready") == 1;
  })) << log_of(n);
  int pid = pid_of(n);

  // --who=init (the default): only the command.
  auto r = berth({"kill", n, "--signal", "USR1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(eventually([&] { return count(log_of(n), "main got USR1") == 1; })) << log_of(n);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(count(log_of(n), "child got USR1"), 0) << log_of(n);
  // A number works as well as a name; --who=all reaches the second process.
  r = berth({"kill", n, "-s", "10", "--who=all"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(eventually([&] { return count(log_of(n), "child got USR1") == 1; })) << log_of(n);
  EXPECT_TRUE(eventually([&] { return count(log_of(n), "main got USR1") >= 2; })) << log_of(n);
  // SIGTERM by default; the container lives on (its command traps it).
  r = berth({"kill", n});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(eventually([&] { return count(log_of(n), "main got TERM") == 1; })) << log_of(n);
  EXPECT_EQ(status(n)["state"], "up");
  EXPECT_EQ(pid_of(n), pid);

  expect_one_line(berth({"kill", n, "--signal", "SIGNOPE"}), "invalid signal \"SIGNOPE\"");
  expect_one_line(berth({"kill", n, "--signal", "0"}), "invalid signal");
  EXPECT_EQ(berth({"kill", n, "--who", "some"}).status, 2);  // a usage error

  // KILL to all: the container is gone.
  declare(busybox_decl(n, kTermLoop, "restart = \"no\""));
  ASSERT_EQ(berth({"restart", n}).status, 0);
  ASSERT_EQ(berth({"kill", n, "--signal", "KILL", "--who", "all"}).status, 0);
  EXPECT_TRUE(eventually([&] { return status(n)["state"] == "down"; })) << status(n);
  expect_one_line(berth({"kill", n}), n + " is not running");
  expect_one_line(berth({"kill", "berth-test-nosuch", "--who=all"}),
                  "berth-test-nosuch is not running");
}

// ---- enable / disable ----

TEST_F(Control, EnableAndDisableFlipAutostartOfCreatedContainers) {
  auto d = name("cd"), c = name("cc");
  declare(busybox_decl(d, kTermLoop));
  auto main_file = root_ / "etc/berth/containers.toml";
  auto main_before = slurp(main_file);
  auto made = berth({"create", c, "--path", test_rootfs(), "--", "/bin/sh", "-c", kTermLoop});
  ASSERT_EQ(made.status, 0) << made.err;
  auto file = root_ / ("etc/berth/containers.d/" + c + ".toml");
  auto before = slurp(file);
  ASSERT_EQ(before.find("autostart"), std::string::npos) << before;

  auto e = berth({"enable", c});
  ASSERT_EQ(e.status, 0) << e.err;
  EXPECT_EQ(e.out, "enabled " + c + ": autostart = true in " + file + "\n");
  auto enabled = slurp(file);
  EXPECT_NE(enabled.find("\nautostart = true\n"), std::string::npos) << enabled;
  EXPECT_EQ(berth({"check"}).status, 0);
  // Idempotent: said, and the file untouched.
  auto again = berth({"enable", c});
  EXPECT_EQ(again.status, 0);
  EXPECT_EQ(again.out, c + " is already enabled (autostart = true in " + file + ")\n");
  EXPECT_EQ(slurp(file), enabled);
  // It takes effect: boot starts it (and not the other one).
  ASSERT_EQ(berth({"boot"}).status, 0);
  EXPECT_EQ(status(c)["state"], "up");
  EXPECT_EQ(status(d)["state"], "down");
  ASSERT_EQ(berth({"stop", c}).status, 0);

  auto off = berth({"disable", c});
  ASSERT_EQ(off.status, 0) << off.err;
  EXPECT_EQ(off.out, "disabled " + c + ": autostart = false in " + file + "\n");
  EXPECT_EQ(slurp(file), before);  // back to what create wrote
  EXPECT_EQ(berth({"disable", c}).out,
            c + " is already disabled (autostart = false in " + file + ")\n");
  ASSERT_EQ(berth({"boot"}).status, 0);
  EXPECT_EQ(status(c)["state"], "down");

  // Declared in the main file: refused, naming the file to edit.
  auto r = berth({"enable", d});
  expect_one_line(r, d + " is declared in " + main_file + "; set autostart = true there");
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(slurp(main_file), main_before);
  expect_one_line(berth({"disable", "berth-test-nosuch"}), "no such container declared");
}

// ---- copy-to / copy-from ----

TEST_F(Control, CopyFilesTreesAndSymlinksBothWays) {
  TempDir t("berth-test-cpt");
  std::string tree = copy_tree(t);
  auto n = name("cp");
  declare(busybox_decl(n, kTermLoop, "", tree));
  ASSERT_EQ(berth({"start", n}).status, 0);

  // A file: content, mode and times kept, owned by root.
  write(data_ / "f.txt", "one file\n", 0640, 1000000000);
  ASSERT_EQ(::chown((data_ / "f.txt").c_str(), 1234, 1234), 0);
  auto r = berth({"copy-to", n, data_ / "f.txt", "/f.txt"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out + r.err, "");
  EXPECT_EQ(in(n, "cat /f.txt; stat -c '%a %u %g %Y' /f.txt"), "one file\n640 0 0 1000000000\n");
  EXPECT_EQ(stat_of(tree + "/f.txt").st_mtim.tv_nsec, 123456789);

  // A tree: directories, files, symlinks as symlinks (absolute ones too).
  fs::create_directories(data_ / "d/sub/deeper");
  write(data_ / "d/sub/b", "bee\n", 0600, 1100000000);
  write(data_ / "d/a", "ay\n", 0755, 1200000000);
  ASSERT_EQ(::symlink("a", (data_ / "d/rel").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/passwd", (data_ / "d/abs").c_str()), 0);
  ::chmod((data_ / "d/sub").c_str(), 0750);
  ASSERT_EQ(::mkfifo((data_ / "d/fifo").c_str(), 0600), 0);
  struct timespec tt[2] = {{1300000000, 0}, {1300000000, 0}};
  ::utimensat(AT_FDCWD, (data_ / "d/sub").c_str(), tt, 0);
  r = berth({"copy-to", n, data_ / "d", "/d"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "berth: copy-to " + n + ": skipped /d/fifo (a fifo)\n");
  EXPECT_EQ(in(n,
               "cd /d && cat a sub/b rel && readlink rel && readlink abs && "
               "stat -c '%n %a %u %Y' sub sub/b a && ls -a sub/deeper | wc -l && "
               "test ! -e fifo && echo no fifo"),
            "ay\nbee\nay\na\n/etc/passwd\nsub 750 0 1300000000\nsub/b 600 0 1100000000\n"
            "a 755 0 1200000000\n2\nno fifo\n");

  // Out again, owned by the caller, and the same tree.
  in(n, "chown -R 1234:1234 /d && mkdir /out && echo made inside > /out/x");
  r = berth({"copy-from", n, "/d", data_ / "back"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out + r.err, "");
  EXPECT_EQ(slurp(data_ / "back/sub/b"), "bee\n");
  EXPECT_EQ(fs::read_symlink(data_ / "back/abs"), "/etc/passwd");
  EXPECT_EQ(fs::read_symlink(data_ / "back/rel"), "a");
  for (const char* p : {"back", "back/sub", "back/sub/b", "back/a", "back/abs"}) {
    auto st = stat_of(data_ / p);
    EXPECT_EQ(st.st_uid, 0u) << p;
    EXPECT_EQ(st.st_gid, 0u) << p;
  }
  EXPECT_EQ(stat_of(data_ / "back/sub").st_mode & 07777, 0750u);
  EXPECT_EQ(stat_of(data_ / "back/sub").st_mtim.tv_sec, 1300000000);
  EXPECT_EQ(stat_of(data_ / "back/a").st_mode & 07777, 0755u);
  EXPECT_EQ(stat_of(data_ / "back/sub/b").st_mtim.tv_sec, 1100000000);
  // Into an existing directory: merged, a file of the same name replaced.
  r = berth({"copy-from", n, "/out", data_ / "back"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(slurp(data_ / "back/x"), "made inside\n");
  EXPECT_EQ(slurp(data_ / "back/a"), "ay\n");
  write(data_ / "f.txt", "changed\n", 0644, 1000000000);
  ASSERT_EQ(berth({"copy-to", n, data_ / "f.txt", "/f.txt"}).status, 0);
  EXPECT_EQ(in(n, "cat /f.txt"), "changed\n");
  // PATH defaults to HOST_PATH.
  fs::create_directories(tree + data_.path());
  ASSERT_EQ(berth({"copy-to", n, data_ / "f.txt"}).status, 0);
  EXPECT_EQ(slurp(tree + data_.path() + "/f.txt"), "changed\n");
  ASSERT_EQ(berth({"copy-from", n, data_ / "f.txt", data_ / "g.txt"}).status, 0);
  EXPECT_EQ(slurp(data_ / "g.txt"), "changed\n");

  // A type in the way: one line, nothing changed.
  expect_one_line(berth({"copy-to", n, data_ / "f.txt", "/d"}),
                  "/d exists and is a directory; not replacing it with a regular file");
  expect_one_line(berth({"copy-to", n, data_ / "d", "/f.txt"}),
                  "/f.txt exists and is a regular file; not replacing it with a directory");
  expect_one_line(berth({"copy-from", n, "/d/abs", data_ / "back/sub"}),
                  "exists and is a directory");
  EXPECT_EQ(in(n, "cat /f.txt; ls /d | wc -l"), "changed\n4\n");
  ASSERT_EQ(berth({"stop", n}).status, 0);
}

// Symlinks of the container resolve inside its root, wherever they point.
TEST_F(Control, CopyResolvesEveryPathInsideTheContainersRoot) {
  TempDir t("berth-test-cpe");
  std::string tree = copy_tree(t);
  auto n = name("ce");
  declare(busybox_decl(n, kTermLoop, "", tree));
  // A "secret" at the same path on the host and in the container's tree.
  std::string secret = data_ / "shadow";
  write(secret, "HOST SECRET\n", 0600, 1000000000);
  fs::create_directories(tree + data_.path());
  write(tree + secret, "the container's own\n", 0600, 1000000000);
  std::string up = "../../../../../../../../../..";
  ASSERT_EQ(::symlink(secret.c_str(), (tree + "/abs").c_str()), 0);
  ASSERT_EQ(::symlink((up + secret).c_str(), (tree + "/rel").c_str()), 0);
  ASSERT_EQ(::symlink(data_.path().c_str(), (tree + "/dir").c_str()), 0);
  ASSERT_EQ(::symlink(up.c_str(), (tree + "/top").c_str()), 0);
  ASSERT_EQ(berth({"start", n}).status, 0);

  for (const char* link : {"/abs", "/rel", "/dir/shadow", "/top/abs", "/top/top/rel"}) {
    SCOPED_TRACE(link);
    ::unlink((data_ / "got").c_str());
    auto r = berth({"copy-from", n, link, data_ / "got"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(slurp(data_ / "got"), "the container's own\n");
  }
  // Copying in through the same links writes the container's files.
  write(data_ / "new", "new\n", 0644, 1000000000);
  for (const char* dest : {"/dir/new", "/top/dir/new2", "/top/../top/dir/new3"}) {
    SCOPED_TRACE(dest);
    auto r = berth({"copy-to", n, data_ / "new", dest});
    ASSERT_EQ(r.status, 0) << r.err;
  }
  EXPECT_EQ(slurp(tree + data_.path() + "/new"), "new\n");
  EXPECT_EQ(slurp(tree + data_.path() + "/new2"), "new\n");
  EXPECT_EQ(slurp(tree + data_.path() + "/new3"), "new\n");
  EXPECT_FALSE(exists(data_ / "new2"));
  EXPECT_FALSE(exists(data_ / "new3"));
  // A symlink as the destination is not replaced by a file (nor followed).
  expect_one_line(berth({"copy-to", n, data_ / "new", "/abs"}),
                  "/abs exists and is a symlink; not replacing it with a regular file");
  EXPECT_EQ(slurp(secret), "HOST SECRET\n");
  EXPECT_EQ(slurp(tree + secret), "the container's own\n");

  // Missing things: one line, exit 1.
  expect_one_line(berth({"copy-from", n, "/nonexistent", data_ / "x"}),
                  "/nonexistent: No such file or directory");
  expect_one_line(berth({"copy-to", n, data_ / "nonexistent", "/x"}),
                  data_ / "nonexistent: No such file or directory");
  expect_one_line(berth({"copy-to", n, data_ / "new", "/no/such/dir/x"}),
                  "/no/such/dir: No such file or directory");
  expect_one_line(berth({"copy-to", n, data_ / "new", "relative/x"}), "must be absolute");
  expect_one_line(berth({"copy-to", "berth-test-nosuch", data_ / "new", "/x"}),
                  "berth-test-nosuch is not running");
  ASSERT_EQ(berth({"stop", n}).status, 0);
  expect_one_line(berth({"copy-from", n, "/abs", data_ / "x"}), n + " is not running");
  EXPECT_FALSE(exists(data_ / "x"));
}

// In a user namespace: what is copied in is its root's, on an idmapped tree
// (uid 0 on disk) and on a bind that is not idmapped (uid_base on the host) alike.
TEST_F(Control, CopyToAUserNamespacedContainerIsOwnedByItsRoot) {
  TempDir t("berth-test-cpu");
  std::string tree = copy_tree(t);
  auto n = name("cu");
  TempDir bound("berth-test-cpb");
  ::chmod(bound.path().c_str(), 0777);
  declare(busybox_decl(n, kTermLoop,
                       "private_users = \"pick\"\nbind_mounts.\"/data\" = { host_path = \"" +
                           bound.path() + "\", read_only = false, idmap = false }",
                       tree));
  auto s = berth({"start", n});
  ASSERT_EQ(s.status, 0) << s.err << log_of(n);
  auto base = status(n)["uid_base"];
  ASSERT_TRUE(base.is_number()) << status(n);
  uint32_t uid_base = base.get<uint32_t>();

  write(data_ / "f", "owned\n", 0604, 1000000000);
  fs::create_directories(data_ / "d/e");
  write(data_ / "d/e/g", "deep\n", 0600, 1000000000);
  for (const char* dest : {"/f", "/data/f"})
    ASSERT_EQ(berth({"copy-to", n, data_ / "f", dest}).status, 0) << dest;
  auto r = berth({"copy-to", n, data_ / "d", "/data/d"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(in(n, "stat -c '%n %u %g %a' /f /data/f /data/d/e/g"),
            "/f 0 0 604\n/data/f 0 0 604\n/data/d/e/g 0 0 600\n");
  EXPECT_EQ(stat_of(tree + "/f").st_uid, 0u);  // the idmapped tree: its root's ids on disk
  for (const char* p : {"f", "d", "d/e", "d/e/g"}) {
    auto st = stat_of(bound / p);
    EXPECT_EQ(st.st_uid, uid_base) << p;
    EXPECT_EQ(st.st_gid, uid_base) << p;
  }
  // Its root can change what was copied in.
  EXPECT_EQ(in(n, "echo more >> /f && rm -r /data/d && echo ok"), "ok\n");
  // Out: the caller's.
  ASSERT_EQ(berth({"copy-from", n, "/data/f", data_ / "out"}).status, 0);
  EXPECT_EQ(stat_of(data_ / "out").st_uid, 0u);
  EXPECT_EQ(slurp(data_ / "out"), "owned\n");
  ASSERT_EQ(berth({"stop", n}).status, 0);
}

}  // namespace
}  // namespace berth::test
