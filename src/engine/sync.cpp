#include "engine/sync.h"

#include "base/fdpass.h"

#include <sys/socket.h>

#include <cstring>

namespace berth::engine {

Result<std::pair<Channel, Channel>> Channel::pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return errno_error("socketpair");
  return std::pair<Channel, Channel>{Channel(UniqueFd(sv[0])), Channel(UniqueFd(sv[1]))};
}

Result<void> Channel::send(Msg type, std::string_view payload, int fd) {
  std::string buf(sizeof(uint32_t), '\0');
  uint32_t t = static_cast<uint32_t>(type);
  std::memcpy(buf.data(), &t, sizeof t);
  buf.append(payload);
  ssize_t n = send_with_fd(fd_.get(), buf.data(), buf.size(), fd);
  if (n < 0) return errno_error("send to container init");
  return ok();
}

Result<Channel::Received> Channel::recv() {
  std::string buf(65536, '\0');
  struct iovec iov = {buf.data(), buf.size()};
  struct msghdr mh = {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  ssize_t n;
  do {
    n = ::recvmsg(fd_.get(), &mh, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("receive from container init");
  if (n == 0) return Error{EPIPE, "container init exited during setup"};
  if (static_cast<size_t>(n) < sizeof(uint32_t))
    return make_error("short message from container init");
  Received r;
  uint32_t t;
  std::memcpy(&t, buf.data(), sizeof t);
  r.type = static_cast<Msg>(t);
  r.payload = buf.substr(sizeof t, static_cast<size_t>(n) - sizeof t);
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      r.fd.reset(fd);
    }
  }
  return r;
}

Result<Channel::Received> Channel::expect(Msg type) {
  auto r = TRY(recv());
  if (r.type == Msg::ErrorMsg) return Error{0, r.payload};
  if (r.type != type)
    return make_error("unexpected message {} from container init (wanted {})",
                      static_cast<uint32_t>(r.type), static_cast<uint32_t>(type));
  return r;
}

}  // namespace berth::engine
