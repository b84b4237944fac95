// Test-only helpers for the black-box OCI runtime tests: a fixture that owns
// a state root and bundles and checks that nothing survives a test, plus small
// readers for /proc and a console-socket receiver (SCM_RIGHTS).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/testenv.h"

namespace berth::test::ocit {

namespace fs = std::filesystem;
using json = nlohmann::json;

inline std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

inline std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) i++;
  return s.substr(i);
}

inline std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream is(s);
  std::string l;
  while (std::getline(is, l)) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    out.push_back(l);
  }
  return out;
}

// The value of "Key:" in /proc/PID/status-like text (tabs squeezed to spaces).
inline std::string status_field(const std::string& status_text, const std::string& key) {
  for (auto& l : lines(status_text)) {
    if (l.rfind(key + ":", 0) == 0) {
      std::string v = l.substr(key.size() + 1);
      for (auto& c : v)
        if (c == '\t') c = ' ';
      std::string out;
      for (char c : v)
        if (!(c == ' ' && (out.empty() || out.back() == ' '))) out += c;
      return trim(out);
    }
  }
  return "";
}

inline std::string readlink_str(const std::string& path) {
  std::error_code ec;
  auto t = fs::read_symlink(path, ec);
  return ec ? "" : t.string();
}

inline bool wait_until(const std::function<bool()>& pred, int timeout_ms = 10000) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

inline pid_t read_pid_file(const std::string& path) {
  std::string s = trim(read_text(path));
  try {
    return s.empty() ? -1 : static_cast<pid_t>(std::stol(s));
  } catch (...) {
    return -1;
  }
}

inline std::string proc_cmdline(pid_t pid) {
  std::string s = read_text("/proc/" + std::to_string(pid) + "/cmdline");
  for (auto& c : s)
    if (c == '\0') c = ' ';
  return trim(s);
}

// Cgroup dirs of the v1 hierarchies and the v2 mount whose name contains needle.
inline std::vector<std::string> cgroups_matching(const std::string& needle) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& h : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    std::error_code ec2;
    for (auto& e : fs::directory_iterator(h.path(), ec2))
      if (e.is_directory(ec2) && e.path().filename().string().find(needle) != std::string::npos)
        out.push_back(e.path());
  }
  return out;
}

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

// The state root, the bundles and the ids of one test. TearDown force-deletes
// every container and then checks (and, as a last resort, cleans) that no
// process, cgroup or mount of the test survives.
class OciTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_UNLESS_ROOT();
    if (access(berth_oci().c_str(), X_OK) != 0)
      GTEST_SKIP() << "runtime binary " << berth_oci() << " missing (set BERTH_OCI)";
    if (access((test_rootfs() + "/bin/busybox").c_str(), X_OK) != 0)
      GTEST_SKIP() << "test rootfs " << test_rootfs() << " missing (run ctest's fixture_rootfs)";
    root_ = std::make_unique<OciRoot>();
    // Container inits and detached exec processes can end up as children of
    // this process (as they would of conmon); reap the ones we know of, or a
    // zombie init keeps the runtime's delete waiting for it.
    reaper_ = std::thread([this] {
      while (!stop_reaper_) {
        {
          std::lock_guard<std::mutex> g(pids_mu_);
          for (pid_t p : pids_) waitpid(p, nullptr, WNOHANG);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }

  ~OciTest() override {
    stop_reaper_ = true;
    if (reaper_.joinable()) reaper_.join();
  }

  void TearDown() override {
    if (!root_) return;
    for (auto& id : ids_) root_->oci({"delete", "--force", id});
    // The kernel needs a moment to tear down a killed pid namespace.
    std::vector<pid_t> pids;
    {
      std::lock_guard<std::mutex> g(pids_mu_);
      pids = pids_;
    }
    for (pid_t p : pids) {
      if (!wait_until([&] { return !pid_alive(p); }, 3000)) {
        ADD_FAILURE() << "pid " << p << " still alive after delete --force";
        kill(p, SIGKILL);
      }
    }
    for (auto& id : ids_) {
      if (!wait_until([&] { return cgroups_matching(id).empty(); }, 3000)) {
        for (auto& cg : cgroups_matching(id)) {
          ADD_FAILURE() << "cgroup " << cg << " left behind";
          wait_until([&] { return rmdir(cg.c_str()) == 0 || errno == ENOENT; }, 3000);
        }
      }
    }
    for (auto& b : bundles_) {
      auto m = host_mounts_matching(b->path());
      EXPECT_TRUE(m.empty()) << "mount left on the host: " << m.front();
    }
    root_.reset();
    bundles_.clear();
  }

  // A new container id whose cgroup (linux.cgroupsPath) is /berth-test-<id>.
  std::string new_id(const std::string& prefix = "oci") {
    ids_.push_back("berth-test-" + unique_id(prefix));
    return ids_.back();
  }

  // A bundle on the shared busybox rootfs running args, its cgroup named after id.
  Bundle& bundle(const std::vector<std::string>& args, const std::string& id) {
    bundles_.push_back(std::make_unique<Bundle>(args));
    auto& b = *bundles_.back();
    b.config()["linux"]["cgroupsPath"] = "/" + id;
    b.write();
    return b;
  }

  RunResult oci(const std::vector<std::string>& args, const RunOptions& opts = {}) {
    return root_->oci(args, opts);
  }

  // Runs the runtime with stdin /dev/null and stdout/stderr in files, for
  // commands whose container process inherits the runtime's stdio (create,
  // run -d, exec -d): a pipe would stay open as long as the container lives.
  RunResult oci_detached(const std::vector<std::string>& args, int timeout_sec = 30) {
    TempDir d("berth-out");
    std::string cmd = "exec " + shell_quote(berth_oci()) + " --root " + shell_quote(root_->path());
    for (auto& a : args) cmd += " " + shell_quote(a);
    cmd += " </dev/null >" + shell_quote(d / "out") + " 2>" + shell_quote(d / "err");
    RunOptions o;
    o.timeout_sec = timeout_sec;
    auto r = sh(cmd, o);
    r.out = read_text(d / "out");
    r.err += read_text(d / "err");
    return r;
  }

  // Remembers a container pid so TearDown can check that it is gone.
  void track(pid_t p) {
    std::lock_guard<std::mutex> g(pids_mu_);
    if (p > 0) pids_.push_back(p);
  }

  json state(const std::string& id) {
    auto r = oci({"state", id});
    if (r.status != 0) return json();
    try {
      return json::parse(r.out);
    } catch (...) {
      return json();
    }
  }

  std::string status_of(const std::string& id) {
    auto s = state(id);
    return s.is_object() && s.contains("status") ? s["status"].get<std::string>() : "";
  }

  // create + wait for "created"; returns the init pid (or -1, with a failure).
  pid_t create(const std::string& id, Bundle& b, std::vector<std::string> extra = {}) {
    std::string pidfile = b.path() + "/" + id + ".pid";
    std::vector<std::string> args = {"create", "--bundle", b.path(), "--pid-file", pidfile};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(id);
    auto r = oci_detached(args);
    EXPECT_EQ(r.status, 0) << "create failed: " << r.err;
    if (r.status != 0) return -1;
    pid_t p = read_pid_file(pidfile);
    track(p);
    return p;
  }

  // create + start of a long-running container; returns the init pid.
  pid_t start_running(const std::string& id, Bundle& b) {
    pid_t p = create(id, b);
    if (p <= 0) return p;
    auto r = oci({"start", id});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(wait_until([&] { return status_of(id) == "running"; }));
    return p;
  }

  // Foreground `run` of a one-shot container; the caller checks status/out/err.
  RunResult run_bundle(const std::string& id, Bundle& b, int timeout = 60) {
    b.write();
    RunOptions o;
    o.timeout_sec = timeout;
    return oci({"run", "--bundle", b.path(), id}, o);
  }

  // Runs `sh -c script` in a fresh container configured by edit, returns the result.
  RunResult run_script(const std::string& script, const std::function<void(json&)>& edit = nullptr,
                       Bundle** out_bundle = nullptr) {
    std::string id = new_id("run");
    auto& b = bundle({"/bin/sh", "-c", script}, id);
    if (edit) edit(b.config());
    if (out_bundle) *out_bundle = &b;
    return run_bundle(id, b);
  }

  std::unique_ptr<OciRoot> root_;
  std::vector<std::unique_ptr<Bundle>> bundles_;
  std::vector<std::string> ids_;
  std::mutex pids_mu_;
  std::vector<pid_t> pids_;
  std::atomic<bool> stop_reaper_{false};
  std::thread reaper_;
};

// Listens on an AF_UNIX stream socket and receives fds sent with SCM_RIGHTS,
// the way conmon and containerd receive a container's pty master.
class ConsoleReceiver {
 public:
  ConsoleReceiver() : dir_("berth-console") {
    path_ = dir_ / "console.sock";
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listen_fd_, 4) != 0)
      throw std::runtime_error("console socket bind/listen failed");
    thread_ = std::thread([this] { loop(); });
  }
  ~ConsoleReceiver() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_) close(fd);
    close(listen_fd_);
  }
  const std::string& path() const { return path_; }
  // Waits until at least n fds arrived (or timeout); returns how many did.
  size_t wait_fds(size_t n, int timeout_ms = 10000) {
    wait_until([&] { return count() >= n; }, timeout_ms);
    return count();
  }
  size_t count() {
    std::lock_guard<std::mutex> g(mu_);
    return fds_.size();
  }
  int fd(size_t i) {
    std::lock_guard<std::mutex> g(mu_);
    return i < fds_.size() ? fds_[i] : -1;
  }

 private:
  void loop() {
    std::vector<int> conns;
    while (!stop_) {
      std::vector<pollfd> p = {{listen_fd_, POLLIN, 0}};
      for (int c : conns) p.push_back({c, POLLIN, 0});
      if (poll(p.data(), p.size(), 50) <= 0) continue;
      if (p[0].revents & POLLIN) {
        int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) conns.push_back(c);
      }
      for (size_t i = 1; i < p.size(); i++) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[4096];
        iovec iov{buf, sizeof buf};
        alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * 8)];
        msghdr m{};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = cbuf;
        m.msg_controllen = sizeof cbuf;
        ssize_t r = recvmsg(p[i].fd, &m, MSG_CMSG_CLOEXEC);
        if (r <= 0) {
          close(p[i].fd);
          conns.erase(std::find(conns.begin(), conns.end(), p[i].fd));
          break;
        }
        for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            int* fds = reinterpret_cast<int*>(CMSG_DATA(c));
            std::lock_guard<std::mutex> g(mu_);
            for (size_t k = 0; k < n; k++) fds_.push_back(fds[k]);
          }
        }
      }
    }
    for (int c : conns) close(c);
  }

  TempDir dir_;
  std::string path_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<int> fds_;
  std::thread thread_;
};

// Reads from fd until `needle` shows up, EOF/EIO, or timeout; returns what was read.
inline std::string read_until(int fd, const std::string& needle, int timeout_ms = 10000) {
  std::string out;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char buf[1024];
    ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0) break;
    out.append(buf, r);
    if (!needle.empty() && out.find(needle) != std::string::npos) break;
  }
  return out;
}

inline std::string sha256_of(const std::string& path) {
  auto r = run({"sha256sum", path});
  return r.out.substr(0, 64);
}

}  // namespace berth::test::ocit
