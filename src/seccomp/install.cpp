// Loading the program in the container's init, and handing the notify
// listener to the seccomp agent.
#include <linux/seccomp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"
#include "seccomp/seccomp.h"

namespace berth::seccomp {

int install(const Program& prog) {
  struct sock_fprog fprog {};
  fprog.len = static_cast<unsigned short>(prog.filter.size());
  fprog.filter = const_cast<struct sock_filter*>(prog.filter.data());
  unsigned long flags = prog.flags;
  if (prog.uses_notify)
    flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  else
    flags &= ~static_cast<unsigned long>(1UL << 5);  // WAIT_KILLABLE_RECV needs a listener
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
  if (rc < 0) return -errno;
  if (prog.uses_notify) return static_cast<int>(rc);
  // Only TSYNC without TSYNC_ESRCH returns a positive value: the id of the
  // thread that could not be synchronized.
  return rc == 0 ? 0 : -ESRCH;
}

Result<nlohmann::json> container_process_state(const oci::Seccomp& profile,
                                               const std::string& state_json) {
  nlohmann::json state;
  try {
    state = nlohmann::json::parse(state_json);
  } catch (const nlohmann::json::exception& e) {
    return make_error("container state: invalid JSON: {}", e.what());
  }
  if (!state.is_object()) return make_error("container state: expected an object");
  auto pid = state.find("pid");
  if (pid == state.end() || !pid->is_number_integer())
    return make_error("container state: pid: expected an integer");
  nlohmann::json out = {
      {"ociVersion", oci::kOciVersion},
      {"fds", {"seccompFd"}},
      {"pid", *pid},
      {"state", state},
  };
  if (!profile.listener_metadata.empty()) out["metadata"] = profile.listener_metadata;
  return out;
}

Result<void> send_listener(int listener_fd, const oci::Seccomp& profile,
                           const std::string& state_json) {
  const std::string& path = profile.listener_path;
  if (path.empty()) return make_error("linux.seccomp.listenerPath: is not set");
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return make_error("linux.seccomp.listenerPath: {} is too long for a unix socket", path);
  std::memcpy(addr.sun_path, path.data(), path.size());

  nlohmann::json payload = TRY(container_process_state(profile, state_json));
  std::string data = payload.dump();

  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return errno_error("seccomp listener: socket");
  int rc;
  do {
    rc = ::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return errno_error("seccomp listener: connect to {}", path);

  // The fd goes with the first sendmsg only, as the runtime-spec requires.
  size_t sent = 0;
  bool fd_sent = false;
  while (sent < data.size()) {
    struct iovec iov {};
    iov.iov_base = data.data() + sent;
    iov.iov_len = data.size() - sent;
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (!fd_sent) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
      cm->cmsg_level = SOL_SOCKET;
      cm->cmsg_type = SCM_RIGHTS;
      cm->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(cm), &listener_fd, sizeof(int));
    }
    ssize_t n = ::sendmsg(sock.get(), &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("seccomp listener: send to {}", path);
    }
    fd_sent = true;
    sent += static_cast<size_t>(n);
  }
  return ok();
}

}  // namespace berth::seccomp
