#include "support/testenv.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace berth::test {
namespace fs = std::filesystem;

namespace {
std::string env_or(const char* name, const std::string& dflt) {
  const char* v = getenv(name);
  return v && *v ? v : dflt;
}
}  // namespace

std::string build_dir() {
  return env_or("BERTH_BUILD_DIR", BERTH_BUILD_DIR_DEFAULT);
}
std::string source_dir() {
  return env_or("BERTH_SOURCE_DIR", BERTH_SOURCE_DIR_DEFAULT);
}
std::string berth_oci() {
  return env_or("BERTH_OCI", build_dir() + "/berth-oci");
}
std::string berth() {
  return env_or("BERTH", build_dir() + "/berth");
}
std::string test_rootfs() {
  return env_or("BERTH_TEST_ROOTFS", BERTH_TEST_ROOTFS_DEFAULT);
}
bool is_root() {
  return geteuid() == 0;
}

RunResult run(const std::vector<std::string>& argv, const RunOptions& opts) {
  RunResult res;
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    res.err = "pipe failed";
    return res;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    setpgid(0, 0);
    for (auto& [k, v] : opts.env) setenv(k.c_str(), v.c_str(), 1);
    if (!opts.cwd.empty() && chdir(opts.cwd.c_str()) != 0) _exit(127);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execvp(a[0], a.data());
    dprintf(2, "exec %s: %s\n", a[0], strerror(errno));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  // Feed stdin (small inputs only) and read both outputs without deadlock.
  if (!opts.stdin_data.empty()) (void)!write(in[1], opts.stdin_data.data(), opts.stdin_data.size());
  close(in[1]);
  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  bool killed = false;
  while (open_fds > 0) {
    int n = poll(fds, 2, 200);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!killed && now.tv_sec - start.tv_sec >= opts.timeout_sec) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      killed = true;
    }
    if (n <= 0) continue;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t r = read(fds[i].fd, buf, sizeof buf);
      if (r <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_fds--;
      } else {
        (i == 0 ? res.out : res.err).append(buf, r);
      }
    }
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  res.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return res;
}

RunResult sh(const std::string& command, const RunOptions& opts) {
  return run({"/bin/sh", "-c", command}, opts);
}

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  // Unmount anything a failed test left below the dir, deepest first.
  for (auto& line : host_mounts_matching(path_)) {
    std::istringstream is(line);
    std::string f[5];
    for (auto& x : f) is >> x;
    if (f[4].rfind(path_, 0) == 0) umount2(f[4].c_str(), MNT_DETACH);
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
}

Bundle::Bundle(std::vector<std::string> args) : dir_("berth-bundle") {
  auto r = run({berth_oci(), "spec", "--bundle", dir_.path()});
  if (r.status != 0) throw std::runtime_error("berth-oci spec failed: " + r.err);
  std::ifstream f(dir_.path() + "/config.json");
  config_ = nlohmann::json::parse(f);
  fs::remove(dir_.path() + "/config.json");
  config_["root"]["path"] = test_rootfs();
  config_["process"]["terminal"] = false;
  config_["process"]["args"] = args;
}

void Bundle::write() const {
  std::ofstream f(dir_.path() + "/config.json");
  f << config_.dump(2);
}

void Bundle::use_private_rootfs() {
  std::string dst = dir_.path() + "/rootfs";
  auto r = run({"cp", "-a", test_rootfs(), dst});
  if (r.status != 0) throw std::runtime_error("copy rootfs: " + r.err);
  config_["root"]["path"] = "rootfs";
  config_["root"]["readonly"] = false;
}

OciRoot::OciRoot() : dir_("berth-ociroot") {
  // Like conmon and containerd's shim, the test process is the subreaper that
  // container inits are reparented to once `create` returns.
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

OciRoot::~OciRoot() {
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir_.path(), ec)) {
    if (e.is_directory() && e.path().filename().string()[0] != '.')
      run({berth_oci(), "--root", dir_.path(), "delete", "--force", e.path().filename()});
  }
  reap_children();
}

void reap_children() {
  int st;
  while (waitpid(-1, &st, WNOHANG) > 0) {
  }
}

RunResult OciRoot::oci(const std::vector<std::string>& args, const RunOptions& opts) const {
  std::vector<std::string> argv = {berth_oci(), "--root", dir_.path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, opts);
}

std::string unique_id(const std::string& prefix) {
  static std::atomic<int> n{0};
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(n++);
}

std::vector<std::string> host_mounts_matching(const std::string& needle) {
  std::vector<std::string> out;
  std::ifstream f("/proc/self/mountinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.find(needle) != std::string::npos) out.push_back(line);
  std::reverse(out.begin(), out.end());
  return out;
}

bool pid_alive(pid_t pid) {
  if (pid <= 0) return false;
  if (kill(pid, 0) != 0) return false;
  // A zombie is not alive.
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  std::getline(f, s);
  auto p = s.rfind(')');
  return p != std::string::npos && p + 2 < s.size() && s[p + 2] != 'Z';
}

}  // namespace berth::test
