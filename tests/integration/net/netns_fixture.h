// Test-only network namespaces: each is held by a paused child of the test
// (killed, with the namespace going away, when the object dies or the test
// process dies), plus background servers and socat clients run inside them.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/unique_fd.h"
#include "net/addr.h"
#include "net/link.h"
#include "net/netns.h"
#include "support/testenv.h"

namespace berth::net::testing {

class TestNetns {
 public:
  TestNetns() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::close(p[0]);
      char c = ::unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
      (void)!::write(p[1], &c, 1);
      for (;;) ::pause();
    }
    ::close(p[1]);
    char c = 0;
    (void)!::read(p[0], &c, 1);
    ::close(p[0]);
    if (c != 'y') throw std::runtime_error("unshare(CLONE_NEWNET) failed in child");
    fd_ = UniqueFd(::open(path().c_str(), O_RDONLY | O_CLOEXEC));
    auto nl = NlSocket::open(fd_.get());
    if (!nl || !loopback_up(*nl)) throw std::runtime_error("loopback up in test netns");
  }
  ~TestNetns() {
    fd_.reset();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;

  int fd() const { return fd_.get(); }
  pid_t pid() const { return pid_; }
  std::string path() const { return "/proc/" + std::to_string(pid_) + "/ns/net"; }
  NlSocket nl() const { return std::move(*NlSocket::open(fd_.get())); }

  // A shell command inside the namespace (the tools only check results).
  test::RunResult sh(const std::string& cmd, int timeout_sec = 20) const {
    test::RunOptions o;
    o.timeout_sec = timeout_sec;
    return test::run({"nsenter", "--net=" + path(), "sh", "-c", cmd}, o);
  }
  std::string out(const std::string& cmd) const { return sh(cmd).out; }

 private:
  pid_t pid_ = -1;
  UniqueFd fd_;
};

// A command running in a namespace until the object goes out of scope; it
// and everything it forked are killed by process group.
class Background {
 public:
  Background(const TestNetns& ns, std::vector<std::string> argv) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::setns(ns.fd(), CLONE_NEWNET) < 0) ::_exit(126);
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
  }
  ~Background() {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

 private:
  pid_t pid_ = -1;
};

inline std::string socat_addr(const std::string& ip) {
  return ip.find(':') != std::string::npos ? "[" + ip + "]" : ip;
}

// A server answering each line "X" with "reply-X from PEER" (both address
// families, tcp or udp).
inline std::unique_ptr<Background> echo_server(const TestNetns& ns, int port,
                                               const std::string& proto = "tcp") {
  std::string listen = proto == "tcp"
                           ? fmt::format("TCP6-LISTEN:{},ipv6only=0,reuseaddr,fork", port)
                           : fmt::format("UDP6-RECVFROM:{},ipv6only=0,fork", port);
  return std::make_unique<Background>(
      ns, std::vector<std::string>{"socat", listen,
                                   "SYSTEM:read l; echo reply-$l from $SOCAT_PEERADDR"});
}

// socat prints a TCP6 listener's peers as "[0000:...:ffff:0a00:0001]:PORT";
// turn them into "10.0.0.1:PORT" and "[fd00::1]:PORT".
inline std::string canonical_peer(const std::string& line) {
  size_t from = line.find(" from [");
  if (from == std::string::npos) return line;
  size_t open = from + 6, close = line.find(']', open);
  if (close == std::string::npos) return line;
  std::string addr = line.substr(open + 1, close - open - 1);
  unsigned char b[16];
  if (::inet_pton(AF_INET6, addr.c_str(), b) != 1) return line;
  char buf[INET6_ADDRSTRLEN];
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  std::string canon;
  if (std::memcmp(b, mapped, 12) == 0)
    canon = ::inet_ntop(AF_INET, b + 12, buf, sizeof buf);
  else
    canon = "[" + std::string(::inet_ntop(AF_INET6, b, buf, sizeof buf)) + "]";
  return line.substr(0, from + 6) + canon + line.substr(close + 1);
}

// Sends "hi" to ip:port from ns and returns the answer ("" on failure),
// retrying while the server may still be starting.
inline std::string request(const TestNetns& ns, const std::string& ip, int port,
                           const std::string& proto = "tcp", int tries = 40) {
  std::string cmd =
      fmt::format("echo hi | socat -T2 -t2 - {}:{}:{}{}", proto == "tcp" ? "TCP" : "UDP",
                  socat_addr(ip), port, proto == "tcp" ? ",connect-timeout=2" : "");
  for (int i = 0; i < tries; ++i) {
    auto r = ns.sh(cmd, 10);
    std::string o = r.out;
    while (!o.empty() && (o.back() == '\n' || o.back() == '\r')) o.pop_back();
    if (r.status == 0 && !o.empty()) return canonical_peer(o);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return "";
}

inline ino_t netns_inode_of_this_thread() {
  struct stat st {};
  ::stat("/proc/thread-self/ns/net", &st);
  return st.st_ino;
}

// Link names in the namespace, as `ip -o link` shows them (without @peer).
inline std::vector<std::string> link_names(const TestNetns& ns) {
  std::vector<std::string> out;
  auto nl = NlSocket::open(ns.fd());
  if (!nl) return out;
  auto links = list_links(*nl);
  if (!links) return out;
  for (const auto& l : *links) out.push_back(l.name);
  return out;
}

}  // namespace berth::net::testing
