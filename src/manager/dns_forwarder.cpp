// berth's DNS forwarder (see dns_forwarder.h).
#include "manager/dns_forwarder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/files.h"
#include "net/dns.h"
#include "net/hosts.h"

namespace berth::manager {

namespace {

constexpr double kUpstreamTimeout = 1.5;  // seconds, then the next nameserver
constexpr size_t kMaxPending = 256;
constexpr size_t kMaxMessage = 4096;  // EDNS0 answers a client may ask for
constexpr uint32_t kTtl = 5;          // containers come and go

socklen_t to_sockaddr(const net::IpAddress& a, uint16_t port, struct sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (a.family == net::Family::V4) {
    auto* s4 = reinterpret_cast<struct sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    std::memcpy(&s4->sin_addr, a.bytes.data(), 4);
    return sizeof(struct sockaddr_in);
  }
  auto* s6 = reinterpret_cast<struct sockaddr_in6*>(&ss);
  s6->sin6_family = AF_INET6;
  s6->sin6_port = htons(port);
  std::memcpy(&s6->sin6_addr, a.bytes.data(), 16);
  return sizeof(struct sockaddr_in6);
}

}  // namespace

Result<std::unique_ptr<DnsForwarder>> DnsForwarder::listen(const std::vector<net::IpAddress>& at,
                                                           std::string hosts_file,
                                                           std::string upstream_file,
                                                           uint16_t port) {
  auto f = std::unique_ptr<DnsForwarder>(new DnsForwarder());
  f->hosts_file_ = std::move(hosts_file);
  f->upstream_file_ = std::move(upstream_file);
  f->own_ = at;
  for (auto& a : at) {
    UniqueFd s(::socket(a.af(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!s) return errno_error("DNS forwarder: socket");
    int one = 1;
    ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    // The v6 address may still be tentative (duplicate address detection).
    if (a.family == net::Family::V4)
      ::setsockopt(s.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
    else
      ::setsockopt(s.get(), IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one);
    struct sockaddr_storage ss;
    socklen_t len = to_sockaddr(a, port, ss);
    if (::bind(s.get(), reinterpret_cast<struct sockaddr*>(&ss), len) < 0)
      return errno_error("DNS forwarder: bind {} port {}", a.str(), port);
    f->listeners_.push_back(std::move(s));
  }
  return f;
}

void DnsForwarder::add_pollfds(std::vector<struct pollfd>& pfds) {
  first_ = pfds.size();
  for (auto& l : listeners_) pfds.push_back({l.get(), POLLIN, 0});
  for (auto& p : pending_) pfds.push_back({p.sock.get(), POLLIN, 0});
}

void DnsForwarder::handle(const std::vector<struct pollfd>& pfds, double now) {
  size_t nl = listeners_.size(), np = pending_.size();
  if (first_ + nl + np > pfds.size()) return;
  // Replies first (by index, from the back: read_reply removes entries).
  for (size_t i = np; i-- > 0;)
    if (pfds[first_ + nl + i].revents) read_reply(i);
  for (size_t i = 0; i < nl; ++i)
    if (pfds[first_ + i].revents) read_queries(listeners_[i].get(), now);
}

std::optional<double> DnsForwarder::next_deadline() const {
  std::optional<double> d;
  for (auto& p : pending_) d = d ? std::min(*d, p.deadline) : p.deadline;
  return d;
}

void DnsForwarder::expire(double now) {
  for (size_t i = pending_.size(); i-- > 0;) {
    auto& p = pending_[i];
    if (p.deadline > now) continue;
    ++p.server;
    if (send_upstream(p, now)) continue;
    servfail(p);
    pending_.erase(pending_.begin() + static_cast<ptrdiff_t>(i));
  }
}

const std::vector<net::IpAddress>& DnsForwarder::nameservers() {
  struct stat st;
  if (::stat(upstream_file_.c_str(), &st) != 0) {
    servers_.clear();
    servers_read_ = false;
    return servers_;
  }
  if (servers_read_ && st.st_mtim.tv_sec == servers_mtime_.tv_sec &&
      st.st_mtim.tv_nsec == servers_mtime_.tv_nsec)
    return servers_;
  servers_.clear();
  if (auto text = read_file(upstream_file_))
    for (auto& a : net::resolv_conf_nameservers(*text))
      // Never itself: a host whose resolv.conf names a container's host address.
      if (std::find(own_.begin(), own_.end(), a) == own_.end()) servers_.push_back(a);
  servers_mtime_ = st.st_mtim;
  servers_read_ = true;
  return servers_;
}

void DnsForwarder::read_queries(int listener, double now) {
  for (int n = 0; n < 64; ++n) {  // then the others get their turn
    std::vector<uint8_t> buf(kMaxMessage);
    struct sockaddr_storage from;
    socklen_t len = sizeof from;
    ssize_t got = ::recvfrom(listener, buf.data(), buf.size(), MSG_DONTWAIT,
                             reinterpret_cast<struct sockaddr*>(&from), &len);
    if (got < 0) return;
    buf.resize(static_cast<size_t>(got));
    answer(listener, from, len, std::move(buf), now);
  }
}

void DnsForwarder::answer(int listener, const struct sockaddr_storage& from, socklen_t len,
                          std::vector<uint8_t> query, double now) {
  if (query.size() < 12 || (query[2] & 0x80)) return;  // not a query
  auto reply = [&](const std::vector<uint8_t>& r) {
    (void)::sendto(listener, r.data(), r.size(), MSG_DONTWAIT,
                   reinterpret_cast<const struct sockaddr*>(&from), len);
  };
  auto q = net::parse_dns_query(query);
  if (q) {
    auto hosts = read_file(hosts_file_);
    auto local =
        net::dns_local_answer(*q, hosts ? net::hosts_block_entries(*hosts)
                                        : std::vector<std::pair<std::string, std::string>>{});
    if (local) return reply(net::dns_reply(query, *q, local->rcode, local->addresses, kTtl));
  }
  Pending p;
  p.listener = listener;
  p.client = from;
  p.client_len = len;
  p.query = std::move(query);
  if (pending_.size() < kMaxPending && send_upstream(p, now)) {
    pending_.push_back(std::move(p));
    return;
  }
  servfail(p);
}

bool DnsForwarder::send_upstream(Pending& p, double now) {
  const auto& servers = nameservers();
  for (; p.server < servers.size(); ++p.server) {
    const auto& a = servers[p.server];
    UniqueFd s(::socket(a.af(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    struct sockaddr_storage ss;
    socklen_t len = to_sockaddr(a, 53, ss);
    if (!s || ::connect(s.get(), reinterpret_cast<struct sockaddr*>(&ss), len) < 0) continue;
    if (::send(s.get(), p.query.data(), p.query.size(), MSG_DONTWAIT) < 0) continue;
    p.sock = std::move(s);
    p.deadline = now + kUpstreamTimeout;
    return true;
  }
  return false;
}

void DnsForwarder::servfail(const Pending& p) {
  auto q = net::parse_dns_query(p.query);
  if (!q) return;
  auto r = net::dns_reply(p.query, *q, net::kDnsServFail);
  (void)::sendto(p.listener, r.data(), r.size(), MSG_DONTWAIT,
                 reinterpret_cast<const struct sockaddr*>(&p.client), p.client_len);
}

void DnsForwarder::read_reply(size_t i) {
  auto& p = pending_[i];
  std::vector<uint8_t> buf(kMaxMessage);
  ssize_t got = ::recv(p.sock.get(), buf.data(), buf.size(), MSG_DONTWAIT);
  if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
  // A reply to this query (its ID), or an error from the nameserver's side
  // (ICMP port unreachable): the next one gets the query at once.
  if (got >= 12) {
    buf.resize(static_cast<size_t>(got));
    if (net::dns_id(buf) != net::dns_id(p.query)) return;  // not ours: keep waiting
    (void)::sendto(p.listener, buf.data(), buf.size(), MSG_DONTWAIT,
                   reinterpret_cast<const struct sockaddr*>(&p.client), p.client_len);
  } else {
    p.deadline = 0;  // expire() moves it on
    return;
  }
  pending_.erase(pending_.begin() + static_cast<ptrdiff_t>(i));
}

}  // namespace berth::manager
