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

#include "base/fdpass.h"

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
    ssize_t n = send_with_fd(sock.get(), data.data() + sent, data.size() - sent,
                             fd_sent ? -1 : listener_fd);
    if (n < 0) return errno_error("seccomp listener: send to {}", path);
    fd_sent = true;
    sent += static_cast<size_t>(n);
  }
  return ok();
}

}  // namespace berth::seccomp
