#include "net/netns.h"

#include <fcntl.h>
#include <sched.h>

#include <cerrno>
#include <system_error>
#include <thread>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "base/files.h"

namespace berth::net {

Result<void> run_in_netns(int netns_fd, const std::function<Result<void>()>& fn) {
  if (netns_fd < 0) return fn();
  Result<void> result = make_error("netns worker did not run");
  // A thread of its own: setns() changes only that thread, which then ends,
  // so the caller's namespace is never touched even if fn fails midway.
  try {
    std::thread worker([&] {
      if (::setns(netns_fd, CLONE_NEWNET) < 0) {
        result = errno_error("setns to network namespace");
        return;
      }
      result = fn();
    });
    worker.join();
  } catch (const std::system_error& e) {
    return code_error(e.code().value(), "start netns worker thread");
  }
  return result;
}

Result<UniqueFd> open_netns_of_pid(pid_t pid) {
  std::string path = fmt::format("/proc/{}/ns/net", pid);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open {}", path);
  return fd;
}

Result<UniqueFd> open_current_netns() {
  UniqueFd fd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open /proc/thread-self/ns/net");
  return fd;
}

Error nl_error(int nl_code, std::string_view what) {
  int code = nl_code < 0 ? -nl_code : nl_code;
  int e = 0;
  switch (code) {
    case NLE_EXIST:
      e = EEXIST;
      break;
    case NLE_OBJ_NOTFOUND:
      e = ENOENT;
      break;
    case NLE_NODEV:
      e = ENODEV;
      break;
    case NLE_PERM:
      e = EPERM;
      break;
    case NLE_BUSY:
      e = EBUSY;
      break;
    case NLE_INVAL:
      e = EINVAL;
      break;
    case NLE_RANGE:
      e = ERANGE;
      break;
    case NLE_NOMEM:
      e = ENOMEM;
      break;
    case NLE_OPNOTSUPP:
      e = EOPNOTSUPP;
      break;
    case NLE_AF_NOSUPPORT:
      e = EAFNOSUPPORT;
      break;
    case NLE_NOADDR:
      e = EADDRNOTAVAIL;
      break;
    default:
      e = 0;
  }
  return Error{e, fmt::format("{}: {}", what, nl_geterror(code))};
}

Result<NlSocket> NlSocket::open(int netns_fd) {
  nl_sock* sk = nl_socket_alloc();
  if (!sk) return make_error("nl_socket_alloc failed");
  NlSocket s(sk);
  auto r = run_in_netns(netns_fd, [&]() -> Result<void> {
    int err = nl_connect(sk, NETLINK_ROUTE);
    if (err < 0) return nl_error(err, "connect rtnetlink socket");
    return ok();
  });
  if (!r) return std::move(r).error();
  return s;
}

NlSocket::NlSocket(NlSocket&& o) noexcept : sk_(std::exchange(o.sk_, nullptr)) {}
NlSocket& NlSocket::operator=(NlSocket&& o) noexcept {
  if (this != &o) {
    if (sk_) nl_socket_free(sk_);
    sk_ = std::exchange(o.sk_, nullptr);
  }
  return *this;
}
NlSocket::~NlSocket() {
  if (sk_) nl_socket_free(sk_);  // also closes the socket
}

Result<void> write_sysctl(int netns_fd, const std::string& key, std::string_view value) {
  // /proc/sys/net resolves against the namespace of the thread that opens it.
  return run_in_netns(netns_fd, [&]() -> Result<void> {
    TRY_CTX(write_existing("/proc/sys/" + key, value), "sysctl {}", key);
    return ok();
  });
}

Result<std::string> read_sysctl(int netns_fd, const std::string& key) {
  std::string out;
  auto r = run_in_netns(netns_fd, [&]() -> Result<void> {
    out = TRY_CTX(read_file("/proc/sys/" + key), "sysctl {}", key);
    return ok();
  });
  if (!r) return std::move(r).error();
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace berth::net
