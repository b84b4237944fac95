// containerd 1.6 (Debian) with the runc v2 shim pointed at berth-oci
// (BinaryName, through `ctr run --runc-binary`), and the same cases on crun.
// Each case starts its own containerd (private root, state and sockets) as a
// child and kills it by PID at the end.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "engines_support.h"

namespace berth::test::engines {
namespace {

const char* kRef = "localhost/berth-test/busybox:latest";

bool have(const std::string& tool) {
  return sh("command -v " + tool + " >/dev/null").status == 0;
}

// An OCI image archive of the busybox rootfs, made once per test binary with
// a throwaway podman store (podman is part of this tier anyway).
const std::string& image_archive(std::string* why) {
  static TempDir dir("berth-test-ctdimg");
  static std::string path;
  static std::string error;
  if (!path.empty() || !error.empty()) {
    *why = error;
    return path;
  }
  std::string store = "--root " + (dir / "root") + " --runroot " + (dir / "runroot") +
                      " --storage-driver overlay --cgroup-manager cgroupfs --events-backend file";
  RunOptions o = opts(120, {{"CONTAINERS_CONF", "/dev/null"}});
  auto r = sh("tar -C " + test_rootfs() + " -c . | podman " + store +
                  " import - berth-test/busybox:latest && podman " + store +
                  " save --format oci-archive -o " + (dir / "img.tar") +
                  " berth-test/busybox:latest && podman " + store + " rmi -af >/dev/null",
              o);
  unmount_under(dir.path());
  if (r.status != 0) {
    error = "making the image: " + describe(r);
  } else {
    path = dir / "img.tar";
  }
  *why = error;
  return path;
}

class Containerd {
 public:
  explicit Containerd(const Runtime& rt) : rt_(rt), dir_("berth-test-ctd") {
    ns_ = "berth-test-ctd-" + unique_id("n");
    std::error_code ec;
    run_dir_existed_ = std::filesystem::exists("/run/containerd", ec);
    std::ofstream conf(dir_ / "config.toml");
    conf << "version = 2\n"
         << "root = \"" << (dir_ / "root") << "\"\n"
         << "state = \"" << (dir_ / "state") << "\"\n"
         << "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
         << "[grpc]\n  address = \"" << sock() << "\"\n"
         << "[ttrpc]\n  address = \"" << (dir_ / "ttrpc.sock") << "\"\n"
         << "[debug]\n  address = \"" << (dir_ / "debug.sock") << "\"\n"
         << "[metrics]\n  address = \"\"\n";
    conf.close();
    std::string script;
    // crun 1.8.1 refuses the hybrid layout: containerd (and so its shims)
    // run where /sys/fs/cgroup/unified is not mounted.
    if (rt.hide_unified)
      script += "umount /sys/fs/cgroup/unified 2>/dev/null || umount -l /sys/fs/cgroup/unified; ";
    script += "exec containerd --config " + (dir_ / "config.toml") + " >" +
              (dir_ / "containerd.log") + " 2>&1";
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      if (rt.hide_unified)
        execlp("unshare", "unshare", "-m", "--", "/bin/sh", "-c", script.c_str(), nullptr);
      else
        execlp("/bin/sh", "/bin/sh", "-c", script.c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      if (ctr({"version"}).status == 0) {
        up_ = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  ~Containerd() { cleanup(); }

  bool up() const { return up_; }
  std::string runc_root() const { return dir_ / "runc"; }
  std::string fifo_dir() const { return dir_ / "fifo"; }
  // ctr task exec --fifo-dir DIR ARGS...
  RunResult exec(std::vector<std::string> args) const {
    std::vector<std::string> v = {"task", "exec", "--fifo-dir", fifo_dir()};
    v.insert(v.end(), args.begin(), args.end());
    return ctr(v, opts(60));
  }
  // The runtime itself, on the state root the shim gave it.
  RunResult runtime(std::vector<std::string> args) const {
    std::vector<std::string> v = {rt_.path, "--root", runc_root() + "/" + ns_};
    v.insert(v.end(), args.begin(), args.end());
    return run(v);
  }
  std::string sock() const { return dir_ / "ctd.sock"; }
  const std::string& ns() const { return ns_; }
  std::string log() const {
    std::ifstream f(dir_ / "containerd.log");
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  }

  RunResult ctr(std::vector<std::string> args, RunOptions opts = {}) const {
    std::vector<std::string> v = {"ctr", "--address", sock(), "--namespace", ns_};
    v.insert(v.end(), args.begin(), args.end());
    return run(v, opts);
  }

  // ctr run --runtime io.containerd.runc.v2 --runc-binary RUNTIME [flags] IMAGE ID cmd...
  RunResult ctr_run(std::vector<std::string> flags, const std::string& id,
                    std::vector<std::string> cmd) const {
    // The shim's runtime state root and ctr's fifos live in the test's dir
    // (their defaults are under /run/containerd).
    std::vector<std::string> v = {"run",           "--runtime",  "io.containerd.runc.v2",
                                  "--runc-binary", rt_.path,     "--runc-root",
                                  runc_root(),     "--fifo-dir", dir_ / "fifo"};
    v.insert(v.end(), flags.begin(), flags.end());
    v.push_back(kRef);
    v.push_back(id);
    v.insert(v.end(), cmd.begin(), cmd.end());
    return ctr(v, opts(60));
  }

  std::string task_status(const std::string& id) const {
    auto r = ctr({"task", "ls"});
    std::stringstream ss(r.out);
    std::string name, pid, status;
    std::string line;
    while (std::getline(ss, line)) {
      std::stringstream ls(line);
      ls >> name >> pid >> status;
      if (name == id) return status;
    }
    return "";
  }

  pid_t task_pid(const std::string& id) const {
    auto r = ctr({"task", "ls"});
    std::stringstream ss(r.out);
    std::string line, name, pid;
    while (std::getline(ss, line)) {
      std::stringstream ls(line);
      ls >> name >> pid;
      if (name == id) return std::atoi(pid.c_str());
    }
    return 0;
  }

  // Removes every task, container and image, stops containerd, then checks
  // that no shim, mount or cgroup of this test is left.
  void cleanup() {
    if (cleaned_) return;
    cleaned_ = true;
    if (up_) {
      auto tasks = ctr({"task", "ls", "-q"});
      std::stringstream ts(tasks.out);
      std::string id;
      while (std::getline(ts, id)) {
        id = trim(id);
        if (id.empty()) continue;
        ctr({"task", "kill", "-s", "SIGKILL", id});
        for (int i = 0; i < 50; ++i) {
          if (ctr({"task", "delete", id}).status == 0) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
      auto cs = ctr({"containers", "ls", "-q"});
      std::stringstream cst(cs.out);
      while (std::getline(cst, id))
        if (!trim(id).empty()) ctr({"containers", "rm", trim(id)});
      auto rmi = ctr({"images", "rm", kRef});
      (void)rmi;
      EXPECT_EQ(trim(ctr({"task", "ls", "-q"}).out), "") << "tasks left";
      EXPECT_EQ(trim(ctr({"containers", "ls", "-q"}).out), "") << "containers left";
    }
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int st = 0;
      for (int i = 0; i < 50; ++i) {
        if (waitpid(pid_, &st, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto procs = processes_mentioning(dir_.path());
    EXPECT_TRUE(procs.empty()) << procs.size() << " processes (shims?) still mention "
                               << dir_.path();
    for (pid_t p : procs) kill(p, SIGKILL);
    EXPECT_TRUE(mounts_under(dir_.path()).empty()) << "mounts left under " << dir_.path();
    unmount_under(dir_.path());
    // The runtime's state dir for the namespace must be empty by now.
    std::error_code ec;
    auto left = std::filesystem::exists(runc_root() + "/" + ns_, ec) &&
                !std::filesystem::is_empty(runc_root() + "/" + ns_, ec);
    EXPECT_FALSE(left) << "runtime state left in " << runc_root() << "/" << ns_;
    remove_cgroup_tree(ns_);
    // The shim puts its sockets in /run/containerd/s whatever the config
    // says; drop the (empty) dirs if this test made them.
    if (!run_dir_existed_)
      for (const char* d :
           {"/run/containerd/s", "/run/containerd/fifo", "/run/containerd/runc", "/run/containerd"})
        rmdir(d);
    EXPECT_TRUE(cgroups_matching(ns_).empty()) << "cgroups left for " << ns_;
    reap_children();
  }

 private:
  Runtime rt_;
  TempDir dir_;
  std::string ns_;
  pid_t pid_ = -1;
  bool up_ = false;
  bool cleaned_ = false;
  bool run_dir_existed_ = false;
};

class ContainerdTest : public ::testing::TestWithParam<Runtime> {
 protected:
  void SetUp() override {
    SKIP_UNLESS_ROOT();
    if (!have("containerd") || !have("ctr"))
      GTEST_SKIP() << "containerd not installed (scripts/install-deps.sh system)";
    if (!have("podman"))
      GTEST_SKIP() << "podman (used to make the OCI image archive) not installed";
    if (access(GetParam().path.c_str(), X_OK) != 0) GTEST_SKIP() << GetParam().path << " missing";
    std::string why;
    archive_ = image_archive(&why);
    ASSERT_FALSE(archive_.empty()) << why;
    c_ = std::make_unique<Containerd>(GetParam());
    ASSERT_TRUE(c_->up()) << "containerd did not come up: " << c_->log();
    auto r = c_->ctr({"images", "import", archive_}, opts(120));
    ASSERT_EQ(r.status, 0) << "ctr image import: " << describe(r);
    ASSERT_NE(c_->ctr({"images", "ls", "-q"}).out.find(kRef), std::string::npos);
  }
  void TearDown() override { c_.reset(); }

  std::string archive_;
  std::unique_ptr<Containerd> c_;
};

TEST_P(ContainerdTest, RunRmExitStatus) {
  auto r = c_->ctr_run({"--rm"}, "r1", {"sh", "-c", "echo out-$((40+2)); exit 3"});
  EXPECT_EQ(r.status, 3) << describe(r);
  EXPECT_EQ(trim(r.out), "out-42");
  r = c_->ctr_run({"--rm"}, "r2", {"true"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(trim(c_->ctr({"containers", "ls", "-q"}).out), "") << "--rm left a container";
}

TEST_P(ContainerdTest, DetachExecPsKillDelete) {
  auto r = c_->ctr_run({"-d"}, "d1", {"sleep", "1000"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(c_->task_status("d1"), "RUNNING");
  pid_t pid = c_->task_pid("d1");
  ASSERT_GT(pid, 0);
  // The shim parses state's stdout and stderr together as JSON.
  r = c_->runtime({"state", "d1"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.err, "") << "state wrote to stderr: containerd would fail to parse it";
  EXPECT_NE(r.out.find("\"running\""), std::string::npos) << describe(r);
  r = c_->exec({"--exec-id", "e1", "d1", "sh", "-c", "echo in-exec; exit 4"});
  EXPECT_EQ(r.status, 4) << describe(r);
  EXPECT_EQ(trim(r.out), "in-exec");
  // ps lists the init (and a running exec) by host pid.
  r = c_->exec({"--detach", "--exec-id", "e2", "d1", "sleep", "1000"});
  EXPECT_EQ(r.status, 0) << describe(r);
  r = c_->ctr({"task", "ps", "d1"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find(std::to_string(pid)), std::string::npos) << describe(r);
  r = c_->ctr({"task", "kill", "-s", "SIGTERM", "d1"});
  EXPECT_EQ(r.status, 0) << describe(r);
  for (int i = 0; i < 20 && c_->task_status("d1") != "STOPPED"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // PID 1 ignores TERM without a handler; KILL it.
  if (c_->task_status("d1") != "STOPPED") {
    r = c_->ctr({"task", "kill", "-a", "-s", "SIGKILL", "d1"});
    EXPECT_EQ(r.status, 0) << describe(r);
    for (int i = 0; i < 50 && c_->task_status("d1") != "STOPPED"; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(c_->task_status("d1"), "STOPPED");
  EXPECT_FALSE(pid_alive(pid));
  r = c_->ctr({"task", "delete", "d1"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(c_->task_status("d1"), "");
  r = c_->ctr({"containers", "rm", "d1"});
  EXPECT_EQ(r.status, 0) << describe(r);
}

TEST_P(ContainerdTest, PauseResume) {
  auto r = c_->ctr_run({"-d"}, "p1", {"sleep", "1000"});
  ASSERT_EQ(r.status, 0) << describe(r);
  pid_t pid = c_->task_pid("p1");
  r = c_->ctr({"task", "pause", "p1"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(c_->task_status("p1"), "PAUSED");
  std::string fz = cgroup_of(pid, "freezer");
  std::ifstream f(fz + "/freezer.state");
  std::string st;
  f >> st;
  EXPECT_EQ(st, "FROZEN") << fz;
  r = c_->ctr({"task", "resume", "p1"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(c_->task_status("p1"), "RUNNING");
  r = c_->exec({"--exec-id", "e1", "p1", "true"});
  EXPECT_EQ(r.status, 0) << describe(r);
}

TEST_P(ContainerdTest, Metrics) {
  auto r = c_->ctr_run({"-d", "--memory-limit", "67108864"}, "m1", {"sleep", "1000"});
  ASSERT_EQ(r.status, 0) << describe(r);
  r = c_->ctr({"task", "metrics", "m1"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("memory.limit_in_bytes    67108864"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("pids.current             1"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("cpuacct.usage"), std::string::npos) << describe(r);
}

// A failing create/exec reaches the ctr user as the runtime's own message,
// which the shim takes from the last error line of the runtime's log.json.
TEST_P(ContainerdTest, ErrorThroughLogJson) {
  auto r = c_->ctr_run({"--rm"}, "bad1", {"/no/such/cmd"});
  EXPECT_NE(r.status, 0) << describe(r);
  EXPECT_NE(r.err.find("OCI runtime create failed"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("/no/such/cmd"), std::string::npos)
      << "runtime's message missing: " << describe(r);
  c_->ctr({"containers", "rm", "bad1"});
  r = c_->ctr_run({"-d"}, "e1", {"sleep", "1000"});
  ASSERT_EQ(r.status, 0) << describe(r);
  r = c_->exec({"--exec-id", "x", "e1", "/no/such/exec"});
  EXPECT_NE(r.status, 0) << describe(r);
  EXPECT_NE(r.err.find("OCI runtime exec failed"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("/no/such/exec"), std::string::npos)
      << "runtime's message missing: " << describe(r);
  EXPECT_EQ(c_->task_status("e1"), "RUNNING");
}

INSTANTIATE_TEST_SUITE_P(Containerd, ContainerdTest, ::testing::ValuesIn(runtimes()),
                         [](const auto& info) { return runtime_param_name(info.param); });

}  // namespace
}  // namespace berth::test::engines
