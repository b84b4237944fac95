#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "base/unique_fd.h"
#include "profile_util.h"
#include "support/testenv.h"

namespace berth::seccomp::test {
namespace {

using nlohmann::json;

const char* kState =
    R"({"ociVersion":"1.2.0","id":"c1","status":"creating","pid":4422,"bundle":"/b","annotations":{"k":"v"}})";

UniqueFd listen_at(const std::string& path) {
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  EXPECT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
  EXPECT_EQ(::listen(s.get(), 4), 0);
  return s;
}

// Reads one whole connection: the payload and the fds that came with it.
std::pair<std::string, std::vector<int>> receive_all(int conn) {
  std::string data;
  std::vector<int> fds;
  for (;;) {
    char buf[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    if (n <= 0) break;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        fds.push_back(fd);
      }
    }
    data.append(buf, static_cast<size_t>(n));
  }
  return {data, fds};
}

TEST(SeccompListener, ContainerProcessStateShape) {
  oci::Seccomp s;
  s.listener_path = "/run/agent.sock";
  s.listener_metadata = "MKNOD=/dev/null";
  auto j = container_process_state(s, kState);
  ASSERT_TRUE(j.ok()) << j.error().message;
  EXPECT_EQ((*j)["ociVersion"], oci::kOciVersion);
  EXPECT_EQ((*j)["fds"], json({"seccompFd"}));
  EXPECT_EQ((*j)["pid"], 4422);
  EXPECT_EQ((*j)["metadata"], "MKNOD=/dev/null");
  EXPECT_EQ((*j)["state"], json::parse(kState));

  s.listener_metadata.clear();
  j = container_process_state(s, kState);
  ASSERT_TRUE(j.ok());
  EXPECT_FALSE(j->contains("metadata"));

  EXPECT_EQ(
      container_process_state(s, "{").error().message.rfind("container state: invalid JSON", 0),
      0u);
  EXPECT_EQ(container_process_state(s, R"({"id":"x"})").error().message,
            "container state: pid: expected an integer");
}

TEST(SeccompListener, SendsTheFdAndTheStateOverTheSocket) {
  berth::test::TempDir dir("berth-test-seccomp");
  oci::Seccomp s;
  s.listener_path = dir / "agent.sock";
  s.listener_metadata = "meta";
  UniqueFd server = listen_at(s.listener_path);

  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd rd(p[0]), wr(p[1]);
  auto r = send_listener(rd.get(), s, kState);
  ASSERT_TRUE(r.ok()) << r.error().message;

  UniqueFd conn(::accept4(server.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(conn.valid());
  auto [data, fds] = receive_all(conn.get());
  ASSERT_EQ(fds.size(), 1u);
  UniqueFd got(fds[0]);
  struct stat a {
  }, b{};
  ASSERT_EQ(::fstat(got.get(), &a), 0);
  ASSERT_EQ(::fstat(rd.get(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);  // the very pipe we sent
  EXPECT_NE(got.get(), rd.get());
  json j = json::parse(data);
  EXPECT_EQ(j["fds"], json({"seccompFd"}));
  EXPECT_EQ(j["pid"], 4422);
  EXPECT_EQ(j["metadata"], "meta");
  EXPECT_EQ(j["state"]["id"], "c1");
}

TEST(SeccompListener, Errors) {
  berth::test::TempDir dir("berth-test-seccomp");
  oci::Seccomp s;
  EXPECT_EQ(send_listener(0, s, kState).error().message, "linux.seccomp.listenerPath: is not set");
  s.listener_path = "/" + std::string(200, 'x');
  EXPECT_NE(send_listener(0, s, kState).error().message.find("too long"), std::string::npos);
  s.listener_path = dir / "nobody-listens.sock";
  auto r = send_listener(0, s, kState);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("nobody-listens.sock"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().code, ENOENT);
}

}  // namespace
}  // namespace berth::seccomp::test
