// Regression tests for runtime CVEs (reference §5): cwd escapes through leaked
// fds, fd leaks into init, runtime-binary overwrite, symlinked /proc /sys /dev
// and mount targets, procfs impostors, inheritable capabilities.
#include <sys/mount.h>

#include <future>

#include "oci_helpers.h"

namespace berth::test::ocit {
namespace {

class Security : public OciTest {
 protected:
  // No trace of id: no state dir, cgroup or process in a cgroup of that name.
  void expect_nothing_left(const std::string& id) {
    EXPECT_FALSE(fs::exists(root_->path() + "/" + id)) << "state dir of " << id << " left behind";
    EXPECT_TRUE(wait_until([&] { return cgroups_matching(id).empty(); }, 3000))
        << "cgroup of " << id << " left behind";
    wait_until(
        [&] {
          std::error_code ec;
          for (auto& e : fs::directory_iterator("/proc", ec)) {
            std::string n = e.path().filename();
            if (n.find_first_not_of("0123456789") == std::string::npos &&
                read_text(e.path().string() + "/cgroup").find("/" + id) != std::string::npos)
              return false;
          }
          return true;
        },
        3000);
    std::error_code ec;
    for (auto& e : fs::directory_iterator("/proc", ec)) {
      std::string n = e.path().filename();
      if (n.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string cg = read_text(e.path().string() + "/cgroup");
      if (cg.find("/" + id) != std::string::npos) {
        ADD_FAILURE() << "process " << n << " left in the cgroup of " << id;
        kill(std::stoi(n), SIGKILL);
      }
    }
  }
};

// CVE-2024-21626: a cwd through a leaked fd must never be reachable.
TEST_F(Security, CwdThroughProcSelfFdIsRefused) {
  auto id0 = new_id("cwd");
  auto& b = bundle({"/bin/sh", "-c", "pwd; ls"}, id0);
  for (int n = 3; n <= 64; n++) {
    SCOPED_TRACE("cwd /proc/self/fd/" + std::to_string(n));
    std::string id = id0 + "-" + std::to_string(n);
    ids_.push_back(id);
    b.config()["process"]["cwd"] = "/proc/self/fd/" + std::to_string(n);
    b.config()["linux"]["cgroupsPath"] = "/" + id;
    b.write();
    auto r = oci_detached({"create", "--bundle", b.path(), "--pid-file", b.path() + "/pid", id});
    if (r.status == 0) {
      ADD_FAILURE() << "create succeeded with cwd /proc/self/fd/" << n << "; init cwd is "
                    << readlink_str("/proc/" + std::to_string(read_pid_file(b.path() + "/pid")) +
                                    "/cwd");
      oci({"delete", "--force", id});
    }
    expect_nothing_left(id);
    fs::remove(b.path() + "/pid");
  }
}

TEST_F(Security, ExecCwdThroughProcSelfFdIsRefused) {
  auto id = new_id("execcwd");
  auto& b = bundle({"/bin/sleep", "1000"}, id);
  ASSERT_GT(start_running(id, b), 0);
  for (int n = 3; n <= 16; n++) {
    auto r = oci(
        {"exec", "--cwd", "/proc/self/fd/" + std::to_string(n), id, "/bin/sh", "-c", "ls /; pwd"});
    EXPECT_NE(r.status, 0) << "exec with cwd /proc/self/fd/" << n << " ran: " << r.out;
  }
}

// CVE-2016-9962 / CVE-2024-21626: init must hold no fd but an allowlist before start.
TEST_F(Security, InitHoldsOnlyAllowlistedFdsAfterCreate) {
  for (bool tty : {false, true}) {
    SCOPED_TRACE(tty ? "terminal" : "no terminal");
    auto id = new_id("fds");
    auto& b = bundle({"/bin/sleep", "1000"}, id);
    b.config()["process"]["terminal"] = tty;
    b.write();
    std::unique_ptr<ConsoleReceiver> rx;
    std::vector<std::string> extra;
    if (tty) {
      rx = std::make_unique<ConsoleReceiver>();
      extra = {"--console-socket", rx->path()};
    }
    pid_t pid = create(id, b, extra);
    ASSERT_GT(pid, 0);
    std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
    int seen = 0;
    for (auto& e : fs::directory_iterator(fd_dir)) {
      int n = std::stoi(e.path().filename());
      std::string target = readlink_str(e.path());
      seen++;
      struct stat st;
      ASSERT_EQ(stat(e.path().c_str(), &st) == 0 || errno == ENOENT || errno == ENXIO, true);
      bool is_dir = stat(e.path().c_str(), &st) == 0 && S_ISDIR(st.st_mode);
      EXPECT_FALSE(is_dir) << "fd " << n << " is a directory: " << target;
      if (n <= 2) continue;  // stdio: whatever the caller gave
      bool ok = target.rfind("pipe:", 0) == 0 || target.rfind("socket:", 0) == 0 ||
                target.rfind("anon_inode:", 0) == 0 || target == "/dev/null" ||
                target.rfind("/dev/pts/", 0) == 0 || target == "/dev/ptmx" ||
                (target.rfind(root_->path() + "/", 0) == 0 && target.size() > 10 &&
                 target.substr(target.size() - 10) == "/exec.fifo");
      EXPECT_TRUE(ok) << "init of a created container holds fd " << n << " -> " << target;
      EXPECT_FALSE(target.rfind(root_->path(), 0) == 0 && !ok)
          << "state dir reachable through fd " << n;
    }
    EXPECT_GE(seen, 3);
  }
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

// CVE-2019-5736: no process of the runtime inside a container runs the host
// binary itself (it could be reopened for writing through /proc/PID/exe).
TEST_F(Security, RuntimeBinaryNotExposedToContainer) {
  std::string bin = fs::canonical(berth_oci());
  std::string hash_before = sha256_of(bin);
  ASSERT_EQ(hash_before.size(), 64u);

  auto id = new_id("exe");
  auto& b = bundle({"/bin/sleep", "1000"}, id);
  pid_t pid = create(id, b);
  ASSERT_GT(pid, 0);
  std::string exe = "/proc/" + std::to_string(pid) + "/exe";
  EXPECT_FALSE(same_file(exe, bin))
      << "init of a created container executes the host runtime binary " << readlink_str(exe);
  // Opening init's exe for writing from the host side must not reach the binary.
  int fd = open(exe.c_str(), O_WRONLY | O_APPEND);
  if (fd >= 0) {
    EXPECT_FALSE(same_file("/proc/self/fd/" + std::to_string(fd), bin))
        << "host runtime binary writable via exe";
    close(fd);
  }
  ASSERT_EQ(oci({"start", id}).status, 0);
  std::string ns = readlink_str("/proc/" + std::to_string(pid) + "/ns/pid");

  // Watch every process that enters the container's pid namespace while exec runs.
  std::atomic<bool> stop{false};
  std::atomic<int> sightings{0};
  std::vector<std::string> bad;
  std::mutex mu;
  std::thread watcher([&] {
    while (!stop) {
      std::error_code ec;
      for (auto& e : fs::directory_iterator("/proc", ec)) {
        std::string n = e.path().filename();
        if (n.find_first_not_of("0123456789") != std::string::npos || std::stoi(n) == pid) continue;
        if (readlink_str(e.path().string() + "/ns/pid") != ns) continue;
        sightings++;
        if (same_file(e.path().string() + "/exe", bin)) {
          std::lock_guard<std::mutex> g(mu);
          bad.push_back(n + " " + proc_cmdline(std::stoi(n)));
        }
      }
    }
  });
  for (int i = 0; i < 10; i++) {
    auto r = oci({"exec", id, "/bin/true"});
    EXPECT_EQ(r.status, 0) << r.err;
  }
  // The classic exploit entrypoint: exec the runtime through /proc/self/exe.
  auto r = oci({"exec", id, "/proc/self/exe", "--version"});
  stop = true;
  watcher.join();
  EXPECT_TRUE(bad.empty()) << "runtime processes in the container ran the host binary: "
                           << bad.front();
  RecordProperty("pid_ns_sightings", sightings.load());
  EXPECT_EQ(sha256_of(bin), hash_before) << "runtime binary modified";
}

// A rootfs copy with `rel` replaced by a symlink to `target`.
void symlink_in_rootfs(Bundle& b, const std::string& rel, const std::string& target) {
  std::string p = b.path() + "/rootfs/" + rel;
  std::error_code ec;
  fs::remove_all(p, ec);
  fs::create_symlink(target, p);
}

std::vector<std::string> dir_entries(const std::string& d) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(d, ec)) out.push_back(e.path().filename());
  return out;
}

class SymlinkAttack : public Security {
 protected:
  // Creates the container and requires that create fails and nothing lands
  // outside the rootfs or on the host's mount table.
  void expect_refused(Bundle& b, const std::string& id, const std::string& outside) {
    auto mounts_before = host_mounts_matching(b.path());
    auto r = oci_detached({"create", "--bundle", b.path(), "--pid-file", b.path() + "/pid", id});
    EXPECT_NE(r.status, 0) << "create succeeded";
    if (r.status == 0) {
      track(read_pid_file(b.path() + "/pid"));
      oci({"delete", "--force", id});
    }
    EXPECT_EQ(host_mounts_matching(b.path()), mounts_before) << "host mount table changed";
    EXPECT_TRUE(host_mounts_matching(outside).empty());
    auto ents = dir_entries(outside);
    EXPECT_TRUE(ents.empty()) << "runtime wrote outside the rootfs: " << outside << "/"
                              << ents.front();
    expect_nothing_left(id);
  }
};

TEST_F(SymlinkAttack, ProcIsSymlinkOutsideRootfs) {
  auto id = new_id("symproc");
  auto& b = bundle({"/bin/true"}, id);
  b.use_private_rootfs();
  std::string outside = b.path() + "/outside";
  fs::create_directory(outside);
  symlink_in_rootfs(b, "proc", outside);
  b.write();
  expect_refused(b, id, outside);
}

TEST_F(SymlinkAttack, SysIsSymlinkOutsideRootfs) {
  auto id = new_id("symsys");
  auto& b = bundle({"/bin/true"}, id);
  b.use_private_rootfs();
  std::string outside = b.path() + "/outside";
  fs::create_directory(outside);
  symlink_in_rootfs(b, "sys", outside);
  b.write();
  expect_refused(b, id, outside);
}

TEST_F(SymlinkAttack, MaskedPathIsSymlinkOutsideRootfs) {
  auto id = new_id("symmask");
  auto& b = bundle({"/bin/true"}, id);
  b.use_private_rootfs();
  std::string outside = b.path() + "/outside";
  fs::create_directory(outside);
  // Relative, so it escapes when resolved from the host before pivot_root.
  std::string rel = "..";
  for (int i = 0; i < 16; i++) rel += "/..";
  symlink_in_rootfs(b, "masklink", rel + outside);
  b.config()["linux"]["maskedPaths"].push_back("/masklink");
  b.write();
  expect_refused(b, id, outside);
}

TEST_F(SymlinkAttack, DevIsSymlinkOutsideRootfs) {
  auto id = new_id("symdev");
  auto& b = bundle({"/bin/true"}, id);
  b.use_private_rootfs();
  std::string outside = b.path() + "/outside";
  fs::create_directory(outside);
  symlink_in_rootfs(b, "dev", outside);
  // Default devices are created in /dev even without a /dev tmpfs mount.
  auto& mounts = b.config()["mounts"];
  for (size_t i = 0; i < mounts.size(); i++)
    if (mounts[i]["destination"] == "/dev") {
      mounts.erase(i);
      break;
    }
  b.write();
  auto mounts_before = host_mounts_matching(b.path());
  auto r = oci_detached({"create", "--bundle", b.path(), "--pid-file", b.path() + "/pid", id});
  if (r.status == 0) {
    track(read_pid_file(b.path() + "/pid"));
    oci({"delete", "--force", id});
  }
  EXPECT_EQ(host_mounts_matching(b.path()), mounts_before);
  auto ents = dir_entries(outside);
  EXPECT_TRUE(ents.empty()) << "device nodes created outside the rootfs: " << ents.front();
  expect_nothing_left(id);
}

// A mount destination that is a symlink out of the rootfs: refusing it and
// resolving it inside the rootfs (runc's SecureJoin) are both safe; what must
// never happen is a mount or a created dir at the host-side target.
TEST_F(SymlinkAttack, MountDestinationSymlinkNeverLeavesRootfs) {
  auto id = new_id("symmnt");
  auto& b = bundle({"/bin/sh", "-c", "grep -c ' /home ' /proc/self/mountinfo; true"}, id);
  b.use_private_rootfs();
  std::string outside = b.path() + "/outside";
  fs::create_directory(outside);
  std::string rel = "..";
  for (int i = 0; i < 16; i++) rel += "/..";
  symlink_in_rootfs(b, "home", rel + outside + "/target");
  b.config()["mounts"].push_back(
      {{"destination", "/home"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"size=1m"}}});
  b.config()["mounts"].push_back({{"destination", "/home/sub/deeper"},
                                  {"type", "tmpfs"},
                                  {"source", "tmpfs"},
                                  {"options", {"size=1m"}}});
  b.write();
  auto mounts_before = host_mounts_matching(b.path());
  auto r = run_bundle(id, b);
  EXPECT_EQ(host_mounts_matching(b.path()), mounts_before) << "host mount table changed";
  auto ents = dir_entries(outside);
  EXPECT_TRUE(ents.empty()) << "runtime created " << outside << "/" << ents.front()
                            << " outside the rootfs";
  RecordProperty("create_status", r.status);
  expect_nothing_left(id);
}

// CVE-2019-16884: /proc must be procfs, not a bind of something else.
TEST_F(Security, TmpfsBindAtProcIsRefused) {
  TempDir fake("berth-fakeproc");
  ASSERT_EQ(mount("tmpfs", fake.path().c_str(), "tmpfs", 0, "size=1m"), 0) << strerror(errno);
  fs::create_directories(fake / "self/attr");
  write_text(fake / "self/attr/exec", "");
  auto id = new_id("fakeproc");
  auto& b = bundle({"/bin/true"}, id);
  for (auto& m : b.config()["mounts"])
    if (m["destination"] == "/proc")
      m = {{"destination", "/proc"},
           {"type", "bind"},
           {"source", fake.path()},
           {"options", {"rbind"}}};
  b.write();
  auto r = oci_detached({"create", "--bundle", b.path(), "--pid-file", b.path() + "/pid", id});
  EXPECT_NE(r.status, 0) << "a tmpfs bind-mounted at /proc was accepted";
  if (r.status == 0) {
    track(read_pid_file(b.path() + "/pid"));
    oci({"delete", "--force", id});
  }
  expect_nothing_left(id);
}

TEST_F(Security, InheritableCapsEmptyInInitAndExec) {
  auto id = new_id("capinh");
  auto& b = bundle({"/bin/sleep", "1000"}, id);
  pid_t pid = start_running(id, b);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(status_field(read_text("/proc/" + std::to_string(pid) + "/status"), "CapInh"),
            "0000000000000000");
  auto r = oci({"exec", id, "/bin/cat", "/proc/self/status"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(status_field(r.out, "CapInh"), "0000000000000000");
  EXPECT_EQ(status_field(r.out, "CapBnd"),
            status_field(read_text("/proc/" + std::to_string(pid) + "/status"), "CapBnd"));
}

}  // namespace
}  // namespace berth::test::ocit

namespace berth::test::ocit {
namespace {

// linux.seccomp with SCMP_ACT_NOTIFY: the listener fd reaches listenerPath
// while the container is created, and the init runs under the filter.
class SeccompNotify : public OciTest {};

TEST_F(SeccompNotify, ListenerReachesListenerPath) {
  auto id = new_id("notify");
  auto& b = bundle({"/bin/sleep", "1000"}, id);
  ConsoleReceiver rx;  // any AF_UNIX stream listener that takes SCM_RIGHTS
  b.config()["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"listenerPath", rx.path()},
      {"listenerMetadata", "berth-test"},
      {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_NOTIFY"}}}}};
  b.write();
  pid_t pid = create(id, b);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(rx.wait_fds(1), 1u) << "no listener fd arrived at listenerPath";
  EXPECT_EQ(readlink_str("/proc/self/fd/" + std::to_string(rx.fd(0))), "anon_inode:seccomp notify");
  EXPECT_EQ(status_field(read_text("/proc/" + std::to_string(pid) + "/status"), "Seccomp"), "2");
}

}  // namespace
}  // namespace berth::test::ocit
