// Working inside a network namespace given by fd without ever moving the
// calling thread: sockets are created by a short-lived thread that joined the
// namespace (a socket stays bound to the namespace it was created in), and
// one-off work (nftables, sysctls) runs entirely on such a thread.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"

struct nl_sock;

namespace berth::net {

// A netns fd of -1 everywhere in berth::net means "the caller's own
// namespace".
inline constexpr int kCurrentNetns = -1;

// Runs fn on a new thread that has setns()'d into netns_fd, and waits for it.
// With kCurrentNetns, fn runs on the calling thread.
Result<void> run_in_netns(int netns_fd, const std::function<Result<void>()>& fn);

Result<UniqueFd> open_netns_of_pid(pid_t pid);  // /proc/PID/ns/net
Result<UniqueFd> open_current_netns();          // /proc/thread-self/ns/net

// A connected NETLINK_ROUTE socket (libnl) living in a given namespace. Like
// libnl's nl_sock, it is for one thread at a time.
class NlSocket {
 public:
  static Result<NlSocket> open(int netns_fd = kCurrentNetns);
  NlSocket(NlSocket&& o) noexcept;
  NlSocket& operator=(NlSocket&& o) noexcept;
  NlSocket(const NlSocket&) = delete;
  NlSocket& operator=(const NlSocket&) = delete;
  ~NlSocket();
  nl_sock* get() const { return sk_; }

 private:
  explicit NlSocket(nl_sock* sk) : sk_(sk) {}
  nl_sock* sk_ = nullptr;
};

// /proc/sys/<key> of the namespace, key like "net/ipv4/ip_forward".
Result<void> write_sysctl(int netns_fd, const std::string& key, std::string_view value);
Result<std::string> read_sysctl(int netns_fd, const std::string& key);

// Turns a libnl error code (negative NLE_*) into an Error with its errno.
Error nl_error(int nl_code, std::string_view what);

}  // namespace berth::net
