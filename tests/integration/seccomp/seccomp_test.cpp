// Compiled programs loaded into real (forked) processes: what a program in a
// container observes.
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/unique_fd.h"
#include "oci/spec.h"
#include "seccomp/seccomp.h"
#include "support/testenv.h"

namespace berth::seccomp {
namespace {

using nlohmann::json;

oci::Seccomp profile(const json& j) {
  auto s = oci::parse_spec({{"ociVersion", "1.2.0"}, {"linux", {{"seccomp", j}}}});
  EXPECT_TRUE(s.ok()) << s.error().message;
  return s.ok() ? *s->linux->seccomp : oci::Seccomp{};
}

Program compiled(const oci::Seccomp& s) {
  auto p = compile(s);
  EXPECT_TRUE(p.ok()) << p.error().message;
  return p.ok() ? *std::move(p) : Program{};
}

// What the child wrote back (raw longs) and how it ended.
struct Outcome {
  int status = -1;
  std::vector<long> values;
  bool exited_ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
  bool killed_by(int sig) const { return WIFSIGNALED(status) && WTERMSIG(status) == sig; }
};

// The child: no_new_privs (the engine's job), install, then body. body may
// only make the syscalls the program allows; report() is a bare write(2).
class Child {
 public:
  using Body = std::function<void(int report_fd, int listener_fd)>;

  Child(const Program& prog, const Body& body) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(p[0]);
      if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) ::_exit(120);
      int rc = install(prog);
      if (rc < 0) {
        long v = rc;
        (void)!::write(p[1], &v, sizeof v);
        ::_exit(121);
      }
      body(p[1], rc);
      ::_exit(0);
    }
    ::close(p[1]);
    out_.reset(p[0]);
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }

  Outcome wait(int timeout_ms = 20000) {
    Outcome o;
    for (;;) {
      pollfd pfd{out_.get(), POLLIN, 0};
      int n = ::poll(&pfd, 1, timeout_ms);
      if (n <= 0) {
        ADD_FAILURE() << "child timed out";
        break;
      }
      long v;
      ssize_t r = ::read(out_.get(), &v, sizeof v);
      if (r <= 0) break;
      if (r == sizeof v) o.values.push_back(v);
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);  // no-op once it has exited
      ::waitpid(pid_, &o.status, 0);
      pid_ = -1;
    }
    return o;
  }

 private:
  pid_t pid_ = -1;
  UniqueFd out_;
};

void report(int fd, long v) {
  (void)!::write(fd, &v, sizeof v);
}
// A syscall's result as one value: >= 0 the return, < 0 -errno.
long result(long rc) {
  return rc < 0 ? -errno : rc;
}

json allow_all_but(json rules) {
  return {{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", std::move(rules)}};
}

class SeccompIntegration : public ::testing::Test {
 protected:
  void SetUp() override { SKIP_UNLESS_ROOT(); }
};

TEST_F(SeccompIntegration, DeniedSyscallReturnsTheConfiguredErrno) {
  berth::test::TempDir dir("berth-test-seccomp");
  std::string target = dir / "made-by-child";
  Program p = compiled(profile(allow_all_but(
      {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 42}},
       {{"names", {"rmdir"}}, {"action", "SCMP_ACT_ERRNO"}}})));
  Child c(p, [&](int out, int) {
    report(out, result(::mkdir(target.c_str(), 0755)));
    report(out, result(::rmdir(dir.path().c_str())));
    report(out, result(::getpid()));
  });
  Outcome o = c.wait();
  ASSERT_TRUE(o.exited_ok()) << o.status;
  ASSERT_EQ(o.values.size(), 3u);
  EXPECT_EQ(o.values[0], -42);
  EXPECT_EQ(o.values[1], -EPERM);
  EXPECT_GT(o.values[2], 0);
  struct stat st;
  EXPECT_NE(::stat(target.c_str(), &st), 0) << "the denied mkdir happened";
}

TEST_F(SeccompIntegration, KillActionsKillWithSigsys) {
  for (const char* action : {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD"}) {
    SCOPED_TRACE(action);
    Program p = compiled(profile(allow_all_but({{{"names", {"getppid"}}, {"action", action}}})));
    Child c(p, [](int out, int) {
      report(out, 1);
      ::syscall(SYS_getppid);
      report(out, 2);  // never reached
    });
    Outcome o = c.wait();
    EXPECT_TRUE(o.killed_by(SIGSYS)) << "status " << o.status;
    EXPECT_EQ(o.values, std::vector<long>{1});
  }
}

int g_trap_out = -1;
void on_sigsys(int, siginfo_t* info, void*) {
  long v = info->si_syscall;
  (void)!::write(g_trap_out, &v, sizeof v);
}

TEST_F(SeccompIntegration, TrapDeliversSigsysNamingTheSyscall) {
  Program p =
      compiled(profile(allow_all_but({{{"names", {"getppid"}}, {"action", "SCMP_ACT_TRAP"}}})));
  Child c(p, [](int out, int) {
    g_trap_out = out;
    struct sigaction sa {};
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    ::sigaction(SIGSYS, &sa, nullptr);
    ::syscall(SYS_getppid);
    report(out, -1);  // the handler returned
  });
  Outcome o = c.wait();
  ASSERT_TRUE(o.exited_ok()) << o.status;
  EXPECT_EQ(o.values, (std::vector<long>{SYS_getppid, -1}));
}

TEST_F(SeccompIntegration, ArgumentConditionsDistinguishCalls) {
  Program p = compiled(profile(allow_all_but({
      {{"names", {"personality"}},
       {"action", "SCMP_ACT_ERRNO"},
       {"args", {{{"index", 0}, {"value", 0xffffffff}, {"op", "SCMP_CMP_NE"}}}}},
      {{"names", {"socket"}},
       {"action", "SCMP_ACT_ERRNO"},
       {"errnoRet", EAFNOSUPPORT},
       {"args", {{{"index", 0}, {"value", AF_INET}, {"op", "SCMP_CMP_EQ"}}}}},
  })));
  Child c(p, [](int out, int) {
    report(out, result(::personality(0xffffffff)));
    report(out, result(::personality(PER_LINUX32)));
    long unix_sock = result(::socket(AF_UNIX, SOCK_STREAM, 0));
    report(out, unix_sock);
    report(out, result(::socket(AF_INET, SOCK_STREAM, 0)));
  });
  Outcome o = c.wait();
  ASSERT_TRUE(o.exited_ok()) << o.status;
  ASSERT_EQ(o.values.size(), 4u);
  EXPECT_GE(o.values[0], 0);  // the query is allowed
  EXPECT_EQ(o.values[1], -EPERM);
  EXPECT_GE(o.values[2], 0);
  EXPECT_EQ(o.values[3], -EAFNOSUPPORT);
}

TEST_F(SeccompIntegration, MaskedEqual) {
  // Deny non-blocking sockets: type & SOCK_NONBLOCK == SOCK_NONBLOCK.
  Program p = compiled(profile(allow_all_but({{{"names", {"socket"}},
                                               {"action", "SCMP_ACT_ERRNO"},
                                               {"errnoRet", 77},
                                               {"args",
                                                {{{"index", 1},
                                                  {"value", SOCK_NONBLOCK},
                                                  {"valueTwo", SOCK_NONBLOCK},
                                                  {"op", "SCMP_CMP_MASKED_EQ"}}}}}})));
  Child c(p, [](int out, int) {
    report(out, result(::socket(AF_UNIX, SOCK_STREAM, 0)));
    report(out, result(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)));
    report(out, result(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)));
    report(out, result(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)));
  });
  Outcome o = c.wait();
  ASSERT_TRUE(o.exited_ok()) << o.status;
  ASSERT_EQ(o.values.size(), 4u);
  EXPECT_GE(o.values[0], 0);
  EXPECT_EQ(o.values[1], -77);
  EXPECT_EQ(o.values[2], -77);
  EXPECT_GE(o.values[3], 0);
}

TEST_F(SeccompIntegration, NewerUnnamedSyscallsGetEnosys) {
  // Everything the child does after install, and nothing newer than
  // exit_group (231 on x86_64): memfd_create and clone3 are "newer".
  json names = {"write", "exit", "exit_group", "getpid", "rt_sigreturn"};
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
  names.push_back("sigaltstack");  // ASan's no-return hook, before _exit
#endif
#endif
  Program p = compiled(profile({{"defaultAction", "SCMP_ACT_ERRNO"},
                                {"syscalls", {{{"names", names}, {"action", "SCMP_ACT_ALLOW"}}}}}));
  Child c(p, [](int out, int) {
    report(out, result(::syscall(SYS_memfd_create, "x", 0)));
    report(out, result(::syscall(SYS_clone3, nullptr, 0)));
    report(out, result(::syscall(SYS_mkdir, "/nonexistent", 0)));  // older, unnamed
    report(out, result(::syscall(SYS_getpid)));
  });
  pid_t pid = c.pid();
  Outcome o = c.wait();
  ASSERT_TRUE(o.exited_ok()) << o.status;
  ASSERT_EQ(o.values.size(), 4u);
  EXPECT_EQ(o.values[0], -ENOSYS);  // this kernel has memfd_create: the filter said so
  EXPECT_EQ(o.values[1], -ENOSYS);
  EXPECT_EQ(o.values[2], -EPERM);
  EXPECT_EQ(o.values[3], pid);
}

TEST_F(SeccompIntegration, TsyncAppliesToEveryThread) {
  json j = allow_all_but(
      {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 43}}});
  j["flags"] = {"SECCOMP_FILTER_FLAG_TSYNC"};
  Program p = compiled(profile(j));
  ASSERT_TRUE(p.flags & SECCOMP_FILTER_FLAG_TSYNC);
  // The thread exists before install and tries mkdir after it.
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::alarm(20);
    pthread_t t;
    static int go_rd;
    static int report_fd;
    go_rd = go[0];
    report_fd = go[1];
    ::pthread_create(
        &t, nullptr,
        [](void*) -> void* {
          char b;
          (void)!::read(go_rd, &b, 1);
          _exit(::mkdir("/nonexistent-berth/x", 0) < 0 && errno == 43 ? 0 : 1);
        },
        nullptr);
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (install(p) != 0) _exit(2);
    (void)!::write(report_fd, "g", 1);
    for (;;) ::pause();
  }
  ::close(go[0]);
  ::close(go[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

berth::test::RunResult exec_under(const Program& p, const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (install(p) != 0) _exit(121);
    ::execv(args[0], args.data());
    _exit(127);
  }
  ::close(fds[1]);
  berth::test::RunResult r;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

TEST_F(SeccompIntegration, DefaultProfileRunsBusyboxAndADebianUserland) {
  Program p = compiled(profile(default_profile()));
  std::string bb = berth::test::test_rootfs() + "/bin/busybox";
  if (::access(bb.c_str(), X_OK) != 0) bb = "/bin/busybox";
  if (::access(bb.c_str(), X_OK) == 0) {
    auto r = exec_under(
        p, {bb, "sh", "-c",
            "echo ok; ls / >/dev/null && id -u && cat /proc/self/status | grep -c Seccomp"});
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out, "ok\n0\n2\n");
  }
  // bash, coreutils, threads (sort --parallel), and apt's config parser.
  auto r = exec_under(
      p,
      {"/bin/bash", "-c",
       "set -e; echo ok; ls -la / >/dev/null; seq 1 20000 | sort -n --parallel=4 -S 1M | tail -1; "
       "date +%Y >/dev/null; id -un; grep ^Seccomp: /proc/self/status; "
       "apt-config dump >/dev/null; stat / >/dev/null; mktemp -d | xargs rmdir"});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "ok\n20000\nroot\nSeccomp:\t2\n");
}

TEST_F(SeccompIntegration, DefaultProfileDeniesAndFallsBack) {
  Program p = compiled(profile(default_profile()));
  Child c(p, [](int out, int) {
    report(out, result(::syscall(SYS_kexec_load, 0, 0, nullptr, 0)));
    report(out, result(::syscall(SYS_keyctl, 0, 0, 0, 0, 0)));
    report(out, result(::syscall(SYS_bpf, 0, nullptr, 0)));
    report(out, result(::syscall(462 /* mseal: newer than libseccomp 2.5.4 */, 0, 0, 0)));
    report(out, result(::personality(0x0400000 /* READ_IMPLIES_EXEC */)));
    report(out, result(::syscall(SYS_unshare, 0)));
  });
  Outcome o = c.wait();
  ASSERT_TRUE(o.exited_ok()) << o.status;
  ASSERT_EQ(o.values.size(), 6u);
  EXPECT_EQ(o.values[0], -EPERM);
  EXPECT_EQ(o.values[1], -EPERM);
  EXPECT_EQ(o.values[2], -EPERM);
  EXPECT_EQ(o.values[3], -ENOSYS);
  EXPECT_EQ(o.values[4], -ENOSYS);
  EXPECT_EQ(o.values[5], 0);
}

// The reason for the ENOSYS prologue: a profile written before clone3
// existed, with EPERM by default. glibc's pthread_create tries clone3 and
// falls back to clone only on ENOSYS.
TEST_F(SeccompIntegration, GlibcFallsBackFromClone3) {
  json j = default_profile();
  j["defaultErrnoRet"] = EPERM;
  int clone3_nr = seccomp_syscall_resolve_name("clone3");
  for (auto& rule : j["syscalls"]) {
    json kept = json::array();
    for (auto& n : rule["names"]) {
      int nr = seccomp_syscall_resolve_name(n.get<std::string>().c_str());
      if (nr != __NR_SCMP_ERROR && nr < clone3_nr) kept.push_back(n);
    }
    rule["names"] = kept;
  }
  j["syscalls"] = [&] {
    json out = json::array();
    for (auto& rule : j["syscalls"])
      if (!rule["names"].empty()) out.push_back(rule);
    return out;
  }();
  Program p = compiled(profile(j));
  Child c(p, [](int out, int) {
    report(out, result(::syscall(SYS_clone3, nullptr, 0)));
    long fd = result(::syscall(SYS_memfd_create, "x", 0));  // older, listed
    report(out, fd >= 0 ? 1 : fd);
    pthread_t t;
    int rc = ::pthread_create(
        &t, nullptr, [](void*) -> void* { return reinterpret_cast<void*>(7); }, nullptr);
    report(out, rc);
    void* ret = nullptr;
    if (rc == 0) ::pthread_join(t, &ret);
    report(out, reinterpret_cast<long>(ret));
  });
  Outcome o = c.wait();
  ASSERT_TRUE(o.exited_ok()) << o.status;
  EXPECT_EQ(o.values, (std::vector<long>{-ENOSYS, 1, 0, 7}))
      << "clone3 must fail with ENOSYS, not EPERM, and threads must still start";
}

TEST_F(SeccompIntegration, SystemdStartsUnderTheDefaultProfile) {
  const char* systemd = "/lib/systemd/systemd";
  if (::access(systemd, X_OK) != 0) GTEST_SKIP() << "no " << systemd << " on this machine";
  Program p = compiled(profile(default_profile()));
  // Not as PID 1: it parses, loads its libraries and prints its version.
  auto r = exec_under(p, {systemd, "--version"});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("systemd"), std::string::npos) << r.out;
}

TEST_F(SeccompIntegration, NotifyHandsTheListenerToTheAgent) {
  berth::test::TempDir dir("berth-test-seccomp");
  json j = allow_all_but({{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_NOTIFY"}}});
  j["listenerPath"] = dir / "agent.sock";
  j["listenerMetadata"] = "hello-agent";
  oci::Seccomp s = profile(j);
  Program p = compiled(s);
  ASSERT_TRUE(p.uses_notify);

  UniqueFd server(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, s.listener_path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(server.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(server.get(), 1), 0);

  Child c(p, [&](int out, int listener) {
    std::string state = json{
        {"ociVersion", "1.2.0"},
        {"id", "notify-test"},
        {"status", "creating"},
        {"pid", ::getpid()},
        {"bundle",
         dir.path()}}.dump();
    auto sent = send_listener(listener, s, state);
    ::close(listener);
    report(out, sent.ok() ? 0 : -1);
    report(out, result(::syscall(SYS_mkdir, "/nonexistent-berth/x", 0755)));
  });

  pollfd pfd{server.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 20000), 1) << "no connection from the child";
  UniqueFd conn(::accept4(server.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(conn.valid());
  std::string data;
  UniqueFd notify_fd;
  for (;;) {
    char buf[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
    if (n <= 0) break;
    if (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm && cm->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(cm), sizeof fd);
      notify_fd.reset(fd);
    }
    data.append(buf, static_cast<size_t>(n));
  }
  ASSERT_TRUE(notify_fd.valid()) << "no fd came with the state";
  json state = json::parse(data);
  EXPECT_EQ(state["ociVersion"], oci::kOciVersion);
  EXPECT_EQ(state["fds"], json({"seccompFd"}));
  EXPECT_EQ(state["pid"], c.pid());
  EXPECT_EQ(state["metadata"], "hello-agent");
  EXPECT_EQ(state["state"]["id"], "notify-test");
  EXPECT_EQ(state["state"]["status"], "creating");

  // Act as the seccomp agent: answer the child's mkdir with 4242.
  pollfd npfd{notify_fd.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&npfd, 1, 20000), 1) << "no notification";
  seccomp_notif req{};
  ASSERT_EQ(::ioctl(notify_fd.get(), SECCOMP_IOCTL_NOTIF_RECV, &req), 0) << std::strerror(errno);
  EXPECT_EQ(req.data.nr, SYS_mkdir);
  EXPECT_EQ(static_cast<pid_t>(req.pid), c.pid());
  EXPECT_EQ(req.data.args[1], 0755u);
  seccomp_notif_resp resp{};
  resp.id = req.id;
  resp.val = 4242;
  resp.error = 0;
  ASSERT_EQ(::ioctl(notify_fd.get(), SECCOMP_IOCTL_NOTIF_SEND, &resp), 0) << std::strerror(errno);

  Outcome o = c.wait();
  ASSERT_TRUE(o.exited_ok()) << o.status;
  EXPECT_EQ(o.values, (std::vector<long>{0, 4242}));
}

}  // namespace
}  // namespace berth::seccomp
