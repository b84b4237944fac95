#include "manager/runtime.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "base/files.h"
#include "base/json.h"
#include "cgroup/cgroup.h"
#include "engine/state.h"
#include "net/ip.h"

namespace berth::manager {

double now_epoch() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void test_pause_at(const char* phase) {
  static const char* const want = ::getenv("BERTH_TEST_PAUSE_AT");
  if (want && std::strcmp(want, phase) == 0) ::raise(SIGSTOP);
}

namespace {

bool same_file(int fd, const std::string& path) {
  struct stat a, b;
  if (::fstat(fd, &a) < 0 || ::stat(path.c_str(), &b) < 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

Result<Lock> Lock::acquire(const RunDir& rd) {
  for (;;) {
    TRY(mkdir_p(rd.dir, 0700));
    UniqueFd fd(::open(rd.lock().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) {
      if (errno == ENOENT) continue;  // the dir was removed under us
      return errno_error("open {}", rd.lock());
    }
    while (::flock(fd.get(), LOCK_EX) < 0)
      if (errno != EINTR) return errno_error("lock {}", rd.lock());
    if (!same_file(fd.get(), rd.lock())) continue;  // removed by the previous holder
    Lock l;
    l.fd_ = std::move(fd);
    return l;
  }
}

std::optional<Lock> Lock::try_acquire(const RunDir& rd) {
  UniqueFd fd(::open(rd.lock().c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) return std::nullopt;
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) return std::nullopt;
  if (!same_file(fd.get(), rd.lock())) return std::nullopt;
  Lock l;
  l.fd_ = std::move(fd);
  return l;
}

void Lock::remove_if_idle(const RunDir& rd) {
  DIR* d = ::opendir(rd.dir.c_str());
  if (!d) return;
  bool other = false;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != ".." && n != "lock") other = true;
  }
  ::closedir(d);
  if (other) return;
  ::unlink(rd.lock().c_str());
  ::rmdir(rd.dir.c_str());
}

Result<void> write_status(const RunDir& rd, const MonitorStatus& s) {
  nlohmann::json j = {{"state", s.state},
                      {"monitor_pid", s.monitor_pid},
                      {"monitor_start", s.monitor_start},
                      {"pid", s.pid},
                      {"started_at", s.started_at},
                      {"restarts", s.restarts},
                      {"last_exit", s.last_exit},
                      {"init", s.init},
                      {"ready_on", s.ready_on},
                      {"user_ns", s.user_ns},
                      {"limits", s.limits}};
  // Runtime state under <run> is atomic but not fsynced: it does not outlive
  // a reboot, and the fsyncs cost milliseconds on every start and stop.
  return write_file_atomic(rd.status(), j.dump() + "\n", 0644, false);
}

std::optional<MonitorStatus> read_status(const RunDir& rd) {
  auto text = read_file(rd.status());
  if (!text) return std::nullopt;
  try {
    auto j = nlohmann::json::parse(*text);
    MonitorStatus s;
    s.state = j.value("state", "");
    s.monitor_pid = json_integer_field<pid_t>(j, "monitor_pid", 0);
    s.monitor_start = json_integer_field<uint64_t>(j, "monitor_start", 0);
    s.pid = json_integer_field<pid_t>(j, "pid", 0);
    s.started_at = j.value("started_at", 0.0);
    // Epoch seconds: a number far outside them is a corrupt file (and would
    // overflow where an uptime is turned into whole seconds).
    if (!(s.started_at >= 0 && s.started_at < 1e11))
      throw std::invalid_argument("started_at: out of range");
    s.restarts = json_integer_field<int>(j, "restarts", 0);
    s.last_exit = j.value("last_exit", "");
    s.init = j.value("init", "");
    s.ready_on = j.value("ready_on", "");
    s.user_ns = j.value("user_ns", "");
    s.limits = j.value("limits", "");
    return s;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool monitor_alive(const MonitorStatus& s) {
  if (s.monitor_pid <= 0) return false;
  auto st = engine::process_start_time(s.monitor_pid);
  return st && *st == s.monitor_start;
}

std::optional<pid_t> engine_pid(const RunDir& rd, const std::string& name) {
  auto store = rd.store();
  auto s = store.load(name);
  if (!s) return std::nullopt;
  auto st = engine::current_status(store, *s);
  if (st == engine::Status::Stopped) return std::nullopt;
  return s->pid;
}

namespace {
std::string ext_of(const std::string& file) {
  return file.size() > 5 && file.ends_with(".json") ? ".json" : ".toml";
}
}  // namespace

Result<void> save_snapshot(const RunDir& rd, const decl::Container& c) {
  auto text = TRY_CTX(read_file(c.file), "snapshot the declaration");
  ::unlink((rd.snapshot() + ".toml").c_str());
  ::unlink((rd.snapshot() + ".json").c_str());
  return write_file_atomic(rd.snapshot() + ext_of(c.file), text, 0600, false);
}

std::optional<decl::Container> load_snapshot(const RunDir& rd, const std::string& name,
                                             const decl::Settings& settings) {
  for (const char* ext : {".toml", ".json"}) {
    auto text = read_file(rd.snapshot() + ext);
    if (!text) continue;
    decl::Declarations d;
    std::vector<decl::Diagnostic> errors;
    decl::parse_text(*text, rd.snapshot() + ext, d, errors);
    auto it = d.containers.find(name);
    if (it == d.containers.end()) return std::nullopt;
    decl::apply_defaults(it->second, settings);
    return it->second;
  }
  return std::nullopt;
}

std::string hosts_file(const decl::Paths& paths) {
  std::string r = paths.root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  return (r == "/" ? "" : r) + "/etc/hosts";
}

namespace {
Result<std::optional<net::IpPrefix>> prefix_of(const std::optional<decl::Cidr>& c) {
  if (!c) return std::optional<net::IpPrefix>{};
  auto p = TRY(net::parse_prefix(c->str()));
  return std::optional<net::IpPrefix>{p};
}
}  // namespace

Result<net::ContainerNetwork> network_of(const decl::Container& c, const decl::Paths& paths,
                                         bool nat_all) {
  net::ContainerNetwork n;
  n.name = c.name;
  n.host_address = TRY(prefix_of(c.host_address));
  n.local_address = TRY(prefix_of(c.local_address));
  n.host_address6 = TRY(prefix_of(c.host_address6));
  n.local_address6 = TRY(prefix_of(c.local_address6));
  n.host_bridge = c.host_bridge;
  n.local_mac_address = c.local_mac_address;
  n.macvlans = c.macvlans;
  n.interfaces = c.interfaces;
  for (auto& [name, v] : c.extra_veths) {
    net::ExtraVeth e;
    e.name = name;
    e.host_bridge = v.host_bridge;
    e.host_address = TRY(prefix_of(v.host_address));
    e.local_address = TRY(prefix_of(v.local_address));
    e.host_address6 = TRY(prefix_of(v.host_address6));
    e.local_address6 = TRY(prefix_of(v.local_address6));
    for (auto& f : v.forward_ports)
      e.forward_ports.push_back({f.protocol, f.host_port, f.container_port});
    n.extra_veths.push_back(e);
  }
  for (auto& f : c.forward_ports)
    n.forward_ports.push_back({f.protocol, f.host_port, f.container_port});
  n.nat = c.nat || nat_all;
  if (c.local_address || c.local_address6) n.hosts_file = hosts_file(paths);
  return n;
}

Result<std::string> control_request(const RunDir& rd, const std::string& line, int timeout_ms) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::string path = rd.control();
  if (path.size() >= sizeof(addr.sun_path))
    return make_error("control socket path too long: {}", path);
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0)
    return errno_error("connect {}", path);
  TRY(write_all(fd.get(), line + "\n"));
  std::string reply;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (elapsed >= timeout_ms)
      return make_error("no reply from the monitor after {} ms", timeout_ms);
    struct pollfd p = {fd.get(), POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(timeout_ms - elapsed));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[512];
    ssize_t got = ::read(fd.get(), buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    reply.append(buf, static_cast<size_t>(got));
    if (reply.find('\n') != std::string::npos) break;
  }
  if (auto nl = reply.find('\n'); nl != std::string::npos) reply.resize(nl);
  if (reply.empty()) return make_error("the monitor closed the control socket");
  return reply;
}

void remove_empty_cgroup_parent() {
  auto layout = cgroup::detect();
  if (!layout) return;
  if (!layout->unified.empty()) ::rmdir((layout->unified + "/berth").c_str());
  for (auto& [mount, controllers] : layout->v1) ::rmdir((mount + "/berth").c_str());
}

}  // namespace berth::manager
