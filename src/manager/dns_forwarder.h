// berth's DNS forwarder, run by the monitor of a private-network container
// (resolv_conf = "auto", manager/resolv.h): UDP port 53 on the host side of
// the container's veth. It answers NAME.containers for every container in
// the hosts block (the names the host resolves them by) and forwards any
// other query to the nameservers of the host's resolv.conf, a loopback stub
// (127.0.0.53, a dnsmasq on 127.0.0.1) included, which the container itself
// cannot reach. SO_REUSEPORT lets containers that share a host address share
// the port. No TCP: an answer too big for UDP reaches the client truncated
// (TC), as the upstream gave it.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "net/ip.h"

namespace berth::manager {

class DnsForwarder {
 public:
  // Binds UDP `port` on each address in the calling thread's network
  // namespace. hosts_file: where the NAME.containers entries are read;
  // upstream_file: the resolv.conf whose nameservers get the rest.
  static Result<std::unique_ptr<DnsForwarder>> listen(const std::vector<net::IpAddress>& at,
                                                      std::string hosts_file,
                                                      std::string upstream_file,
                                                      uint16_t port = 53);

  // Appends what to poll; handle() reads their revents and answers.
  void add_pollfds(std::vector<struct pollfd>& pfds);
  void handle(const std::vector<struct pollfd>& pfds, double now);
  // When the next upstream times out (monotonic seconds), if any query waits.
  std::optional<double> next_deadline() const;
  // Moves timed-out queries to the next nameserver, or answers SERVFAIL.
  void expire(double now);

 private:
  struct Pending {
    UniqueFd sock;  // connected to the nameserver
    int listener = -1;
    struct sockaddr_storage client = {};
    socklen_t client_len = 0;
    std::vector<uint8_t> query;
    size_t server = 0;  // index into the nameservers of the time it was sent
    double deadline = 0;
  };

  void read_queries(int listener, double now);
  void answer(int listener, const struct sockaddr_storage& from, socklen_t len,
              std::vector<uint8_t> query, double now);
  bool send_upstream(Pending& p, double now);
  void servfail(const Pending& p);
  void read_reply(size_t i);
  const std::vector<net::IpAddress>& nameservers();

  std::vector<UniqueFd> listeners_;
  std::vector<net::IpAddress> own_;
  std::string hosts_file_, upstream_file_;
  std::vector<net::IpAddress> servers_;
  struct timespec servers_mtime_ = {};
  bool servers_read_ = false;
  std::vector<Pending> pending_;
  size_t first_ = 0;  // of its pollfds
};

}  // namespace berth::manager
