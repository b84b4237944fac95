// A rootless container's private network, as rootless podman's default:
// slirp4netns joins the container's user and network namespaces and gives
// it eth0, 10.0.2.100/24 with the gateway 10.0.2.2 and a DNS forwarder on
// 10.0.2.3, carrying its traffic through sockets of the caller's own (so
// nothing on the host changes); forward_ports are slirp4netns's host
// forwards, listening in the caller's network namespace. It runs beside the
// monitor for as long as the init does, and exits when the monitor closes
// its exit pipe (or dies).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "decl/decl.h"

namespace berth::manager {

inline constexpr const char* kSlirpLocal = "10.0.2.100";
inline constexpr const char* kSlirpGateway = "10.0.2.2";
inline constexpr const char* kSlirpDns = "10.0.2.3";

class Slirp {
 public:
  // Runs slirp4netns for a created container's (not yet started) user and
  // network namespaces (engine::CreateOptions userns_out, netns_out), with
  // its API socket at api_socket and what it prints in log_file, waits until
  // eth0 is up, then adds the forwards. On failure nothing is left running;
  // the error says why (its own words included).
  static Result<std::unique_ptr<Slirp>> start(int userns, int netns, const std::string& api_socket,
                                              const std::string& log_file,
                                              const std::vector<decl::PortForward>& forwards);
  // Tells it to exit and waits for it (SIGKILL after a second).
  ~Slirp();

  pid_t pid() const { return pid_; }
  // The monitor reaped it (it died): nothing to wait for.
  void reaped() { pid_ = -1; }

 private:
  Slirp(pid_t pid, UniqueFd exit_w, std::string api_socket)
      : pid_(pid), exit_w_(std::move(exit_w)), api_socket_(std::move(api_socket)) {}
  pid_t pid_;
  UniqueFd exit_w_;  // closing it ends slirp4netns (--exit-fd)
  std::string api_socket_;
};

// Where a container's slirp4netns listens for its API, in its run directory.
inline std::string slirp_socket(const std::string& run_dir) {
  return run_dir + "/slirp4netns.sock";
}

// Makes the forwards of the slirp4netns listening at api_socket these (all
// it had removed first): at start, and as a live update from `apply`.
Result<void> slirp_set_forwards(const std::string& api_socket,
                                const std::vector<decl::PortForward>& forwards);

}  // namespace berth::manager
