// The container's /etc/resolv.conf (see resolv.h).
#include "manager/resolv.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>

#include <fmt/format.h>

#include "base/files.h"
#include "base/unique_fd.h"
#include "manager/slirp.h"
#include "net/dns.h"

namespace berth::manager {

namespace {

std::string under_root(const decl::Paths& paths, const char* rel) {
  std::string r = paths.root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  return (r == "/" ? "" : r) + rel;
}

bool is_loopback(const net::IpAddress& a) {
  if (a.family == net::Family::V4) return a.bytes[0] == 127;
  static const std::array<uint8_t, 16> lo = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return a.bytes == lo;
}

}  // namespace

std::vector<net::IpAddress> dns_forwarder_addresses(const decl::Container& c) {
  std::vector<net::IpAddress> out;
  if (c.resolv_conf != decl::ResolvConf::Auto || !c.private_network || !c.host_bridge.empty())
    return out;
  for (auto* a : {&c.host_address, &c.host_address6})
    if (*a)
      if (auto ip = net::parse_address((*a)->address); ip.ok()) out.push_back(*ip);
  return out;
}

namespace {

// ROOT/etc, resolved inside the tree (made when missing and make); an empty
// fd when there is none.
Result<UniqueFd> open_etc(const std::string& root, bool make) {
  UniqueFd rootfd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd) return errno_error("open {}", root);
  struct open_how how = {};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  UniqueFd etc(static_cast<int>(::syscall(SYS_openat2, rootfd.get(), "etc", &how, sizeof how)));
  if (!etc && errno == ENOENT && make) {
    if (::mkdirat(rootfd.get(), "etc", 0755) < 0 && errno != EEXIST)
      return errno_error("mkdir {}/etc", root);
    etc.reset(static_cast<int>(::syscall(SYS_openat2, rootfd.get(), "etc", &how, sizeof how)));
  }
  if (!etc && errno != ENOENT) return errno_error("open {}/etc", root);
  return etc;
}

constexpr std::string_view kExtraBegin = "# BEGIN berth extra_hosts";
constexpr std::string_view kExtraEnd = "# END berth extra_hosts";

}  // namespace

std::string host_resolv_conf(const decl::Paths& paths) {
  return under_root(paths, "/etc/resolv.conf");
}

std::string uplink_resolv_conf(const decl::Paths& paths) {
  return under_root(paths, "/run/systemd/resolve/resolv.conf");
}

ResolvSetup resolv_setup(const decl::Paths& paths, const decl::Container& c) {
  using M = decl::ResolvConf;
  using A = ResolvSetup::Action;
  ResolvSetup s;
  M mode = c.resolv_conf;
  if (mode == M::Off) return s;
  if (mode == M::Delete) {
    s.action = A::Delete;
    return s;
  }
  bool uplink = mode == M::CopyUplink || mode == M::ReplaceUplink || mode == M::BindUplink;
  std::string source = uplink ? uplink_resolv_conf(paths) : host_resolv_conf(paths);
  if (uplink && !path_exists(source)) {
    s.note = fmt::format("resolv.conf: no {} (no local stub's upstream list): the host's instead",
                         source);
    source = host_resolv_conf(paths);
  }
  if (mode == M::BindHost || mode == M::BindUplink) {
    if (!path_exists(source)) {
      s.note = fmt::format("resolv.conf: not bound, the host has no {}", source);
      return s;
    }
    s.action = A::Bind;
    s.bind_source = source;
    return s;
  }
  auto text = read_file(source);
  s.replace_symlink = mode == M::ReplaceHost || mode == M::ReplaceUplink;
  if (mode != M::Auto) {
    if (!text) {
      s.note = fmt::format("resolv.conf: left as it is, the host has no {}", source);
      return s;
    }
    s.action = A::Write;
    s.content = *text;
    return s;
  }
  // auto
  s.forwarder_listen = dns_forwarder_addresses(c);
  std::string host = text ? *text : std::string();
  if (!s.forwarder_listen.empty()) {
    s.action = A::Write;
    s.upstream_file = source;
    s.content = net::resolv_conf_with(
        host, s.forwarder_listen,
        "berth's DNS forwarder on the host side: NAME.containers, and the host's nameservers");
    return s;
  }
  if (c.private_network && ::geteuid() != 0) {  // a rootless berth's: slirp.h
    s.action = A::Write;
    s.content = net::resolv_conf_with(host, {*net::parse_address(kSlirpDns)},
                                      "slirp4netns's DNS forwarder: the host's nameservers");
    return s;
  }
  if (!text) {
    s.note = fmt::format("resolv.conf: left as it is, the host has no {}", source);
    return s;
  }
  s.action = A::Write;
  s.content = host;
  if (c.private_network) {
    auto servers = net::resolv_conf_nameservers(host);
    std::vector<net::IpAddress> reachable;
    for (auto& a : servers)
      if (!is_loopback(a)) reachable.push_back(a);
    if (reachable.size() != servers.size())
      s.content = net::resolv_conf_with(host, reachable,
                                        "berth: the host's loopback nameservers were left out: a "
                                        "private network cannot reach them");
  }
  return s;
}

Result<std::string> place_resolv_conf(const std::string& root, const ResolvSetup& s) {
  using A = ResolvSetup::Action;
  if (s.action != A::Write && s.action != A::Delete) return std::string();
  UniqueFd etc = TRY(open_etc(root, s.action == A::Write));
  if (!etc) return std::string();
  struct stat st;
  bool exists = ::fstatat(etc.get(), "resolv.conf", &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && S_ISDIR(st.st_mode))
    return fmt::format("resolv.conf: {}/etc/resolv.conf is a directory: left as it is", root);
  if (s.action == A::Delete) {
    if (exists && ::unlinkat(etc.get(), "resolv.conf", 0) < 0)
      return errno_error("remove {}/etc/resolv.conf", root);
    return std::string();
  }
  if (exists && S_ISLNK(st.st_mode) && !s.replace_symlink)
    return std::string(
        "resolv.conf: the tree's /etc/resolv.conf is a symlink: kept (resolv_conf = "
        "\"replace-host\" replaces it)");
  if (exists && S_ISREG(st.st_mode)) {
    UniqueFd cur(::openat(etc.get(), "resolv.conf", O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (cur)
      if (auto now = read_fd(cur.get()); now && *now == s.content) return std::string();
  }
  std::string tmp = fmt::format(".resolv.conf.berth-{}", ::getpid());
  (void)::unlinkat(etc.get(), tmp.c_str(), 0);
  UniqueFd f(
      ::openat(etc.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!f) return errno_error("write {}/etc/resolv.conf", root);
  auto w = write_all(f.get(), s.content);
  if (w && ::fchmod(f.get(), 0644) == 0 &&
      ::renameat(etc.get(), tmp.c_str(), etc.get(), "resolv.conf") == 0)
    return std::string();
  int saved = errno;
  (void)::unlinkat(etc.get(), tmp.c_str(), 0);
  errno = saved;
  return errno_error("write {}/etc/resolv.conf", root);
}

std::string hosts_with_extra(std::string_view content,
                             const std::map<std::string, std::string>& extra) {
  std::string out;
  bool inside = false;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t e = content.find('\n', pos);
    std::string_view line =
        content.substr(pos, e == std::string_view::npos ? std::string_view::npos : e - pos);
    pos = e == std::string_view::npos ? content.size() : e + 1;
    if (line == kExtraBegin) {
      inside = true;
    } else if (inside) {
      inside = line != kExtraEnd;
    } else {
      out.append(line);
      out += '\n';
    }
  }
  if (extra.empty()) return out;
  out += fmt::format("{}\n", kExtraBegin);
  for (auto& [name, addr] : extra) out += fmt::format("{}\t{}\n", addr, name);
  out += fmt::format("{}\n", kExtraEnd);
  return out;
}

Result<std::string> place_extra_hosts(const std::string& root,
                                      const std::map<std::string, std::string>& extra) {
  UniqueFd etc = TRY(open_etc(root, !extra.empty()));
  if (!etc) return std::string();
  struct stat st;
  bool exists = ::fstatat(etc.get(), "hosts", &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && !S_ISREG(st.st_mode))
    return std::string("extra_hosts: the tree's /etc/hosts is not a regular file: left as it is");
  std::string now;
  if (exists) {
    UniqueFd cur(::openat(etc.get(), "hosts", O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!cur) return errno_error("read {}/etc/hosts", root);
    now = TRY(read_fd(cur.get()));
  } else if (extra.empty()) {
    return std::string();
  }
  std::string want = hosts_with_extra(now, extra);
  if (exists && want == now) return std::string();
  UniqueFd f(
      ::openat(etc.get(), "hosts", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!f) return errno_error("write {}/etc/hosts", root);
  TRY_CTX(write_all(f.get(), want), "write {}/etc/hosts", root);
  return std::string();
}

}  // namespace berth::manager
