// Live changes of a running container (see live.h).
#include "manager/live.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/files.h"
#include "base/unique_fd.h"
#include "decl/spec.h"
#include "engine/container.h"
#include "manager/bind.h"
#include "manager/console.h"
#include "manager/launch_spec.h"
#include "manager/manager.h"
#include "manager/private_root.h"
#include "manager/resolv.h"
#include "manager/rootless.h"
#include "manager/runtime.h"
#include "manager/slirp.h"
#include "net/container_network.h"

namespace berth::manager {

namespace {

std::string port_text(const decl::PortForward& p) {
  return fmt::format("{} {}->{}", p.protocol, p.host_port,
                     p.container_port ? p.container_port : p.host_port);
}

// "+tcp 8081->81, -udp 53->53"
std::string forward_diff(const std::vector<decl::PortForward>& before,
                         const std::vector<decl::PortForward>& now) {
  std::vector<std::string> out;
  for (auto& p : now)
    if (std::find(before.begin(), before.end(), p) == before.end())
      out.push_back("+" + port_text(p));
  for (auto& p : before)
    if (std::find(now.begin(), now.end(), p) == now.end()) out.push_back("-" + port_text(p));
  return fmt::format("{}", fmt::join(out, ", "));
}

Result<void> update_resources(const decl::Paths& paths, const decl::Container& c) {
  decl::SpecContext ctx;
  ctx.paths = paths;
  // The range it runs with; resources do not depend on it.
  ctx.picked_uid_base = recorded_uid_base(paths, c.name).value_or(kPickMin);
  auto spec = TRY(decl::to_spec(c, ctx));
  oci::Resources res =
      spec.linux && spec.linux->resources ? *spec.linux->resources : oci::Resources{};
  return engine::update(RunDir(paths, c.name).store(), c.name, res);
}

// The network namespace of a running container's process (its monitor's:
// the host side; its init's: its own).
Result<UniqueFd> netns_of(const decl::Paths& paths, const std::string& name, bool init) {
  auto st = read_status(RunDir(paths, name));
  pid_t pid = !st ? 0 : init ? st->pid : st->monitor_pid;
  if (pid <= 0) return make_error("{} is not running", name);
  std::string ns = fmt::format("/proc/{}/ns/net", pid);
  UniqueFd fd(::open(ns.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open {}", ns);
  return fd;
}

// The forwards are in the host namespace the monitor built the network in.
Result<void> update_forwards(const decl::Paths& paths, const decl::Declarations& decls,
                             const decl::Container& c) {
  if (::geteuid() != 0)  // a rootless berth's are slirp4netns's (slirp.h)
    return slirp_set_forwards(slirp_socket(RunDir(paths, c.name).dir), c.forward_ports);
  auto host = TRY(netns_of(paths, c.name, false));
  return net::update_forwards(TRY(network_of(c, paths, decls.settings.nat)), host.get());
}

// Macvlans and moved interfaces, between the host namespace of the monitor
// and the container's.
Result<void> update_links(const decl::Paths& paths, const decl::Declarations& decls,
                          const decl::Container& before, const decl::Container& now) {
  auto host = TRY(netns_of(paths, now.name, false));
  auto ct = TRY(netns_of(paths, now.name, true));
  auto b = TRY(network_of(before, paths, decls.settings.nat));
  auto n = TRY(network_of(now, paths, decls.settings.nat));
  return net::update_links(b, n, host.get(), ct.get());
}

std::string list_diff(const std::vector<std::string>& before, const std::vector<std::string>& now) {
  std::vector<std::string> out;
  for (auto& x : before)
    if (std::find(now.begin(), now.end(), x) == now.end()) out.push_back("-" + x);
  for (auto& x : now)
    if (std::find(before.begin(), before.end(), x) == before.end()) out.push_back("+" + x);
  return fmt::format("{}", fmt::join(out, ", "));
}

// The mount points whose bind goes (removed or changed) and comes (added or
// changed).
struct BindDiff {
  std::vector<std::string> unbind, bind;
};
BindDiff bind_diff(const decl::Container& before, const decl::Container& now) {
  BindDiff d;
  for (auto& [mp, b] : before.bind_mounts)
    if (auto it = now.bind_mounts.find(mp); it == now.bind_mounts.end() || !(it->second == b))
      d.unbind.push_back(mp);
  for (auto& [mp, b] : now.bind_mounts)
    if (auto it = before.bind_mounts.find(mp); it == before.bind_mounts.end() || !(it->second == b))
      d.bind.push_back(mp);
  return d;
}

// Unbinds first (deepest first), then binds (shallowest first), so that a
// bind inside another lands in the new one.
Result<void> update_binds(const decl::Paths& paths, const decl::Container& before,
                          const decl::Container& now) {
  auto d = bind_diff(before, now);
  for (auto it = d.unbind.rbegin(); it != d.unbind.rend(); ++it)
    TRY_CTX(unbind(paths, now.name, *it, /*declared=*/true), "unbind {}", *it);
  for (auto& mp : d.bind) {
    auto& b = now.bind_mounts.at(mp);
    BindOptions o;
    o.read_only = b.read_only;
    o.idmap = b.idmap;
    o.mkdir = true;  // as at start: a missing mount point is made
    o.declared = true;
    TRY_CTX(manager::bind(paths, now.name, b.host_path, mp, o), "bind {}", mp);
  }
  return ok();
}

// The spec the container runs with now has the new binds and environment:
// what `plan` compares the declaration with. The environment also goes where
// new `run`s read it.
Result<void> record_spec(const decl::Paths& paths, const decl::Declarations& decls,
                         const decl::Container& now) {
  RunDir rd(paths, now.name);
  LaunchInputs in;
  in.terminal = wants_console(now);
  TRY(ids_for_spec(in, paths, now, decls));
  auto spec = TRY(launch_spec(paths, now, in));
  std::string env;
  if (spec.process)
    for (auto& e : spec.process->env) env += e + '\0';
  TRY(write_file_atomic(rd.environment(), env, 0600, false));
  auto text = read_file(rd.spec());
  if (!text) return ok();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return ok();
  auto fresh = oci::to_json(spec);
  j["mounts"] = fresh["mounts"];
  if (j.contains("process") && j["process"].is_object() && fresh.contains("process"))
    j["process"]["env"] = fresh["process"]["env"];
  return write_file_atomic(rd.spec(), j.dump(), 0600, false);
}

std::string map_diff(const std::map<std::string, std::string>& before,
                     const std::map<std::string, std::string>& now) {
  std::vector<std::string> out;
  for (auto& [k, v] : before)
    if (!now.count(k)) out.push_back("-" + k);
  for (auto& [k, v] : now)
    if (auto it = before.find(k); it == before.end())
      out.push_back("+" + k);
    else if (it->second != v)
      out.push_back("~" + k);
  return fmt::format("{}", fmt::join(out, ", "));
}

}  // namespace

decl::Container with_live_keys(decl::Container running, const decl::Container& now) {
  running.resources = now.resources;
  running.autostart = now.autostart;
  running.after = now.after;
  running.restart_if_changed = now.restart_if_changed;
  running.reload = now.reload;
  if (running.private_network && now.private_network) {
    running.forward_ports = now.forward_ports;
    running.interfaces = now.interfaces;
    running.macvlans = now.macvlans;
  }
  // In a user namespace the binds made at start are locked by the kernel
  // (built outside it): not even the host's root may unmount one, so only
  // new binds come live; a bind removed or changed takes a restart.
  if (running.private_users.mode == decl::PrivateUsers::Mode::No ||
      bind_diff(running, now).unbind.empty())
    running.bind_mounts = now.bind_mounts;
  running.environment = now.environment;
  running.extra_hosts = now.extra_hosts;
  return running;
}

std::vector<std::string> live_changes(const decl::Container& running, const decl::Container& now) {
  std::vector<std::string> out;
  if (running.resources != now.resources) out.push_back("resources: cgroup limits");
  if (running.forward_ports != now.forward_ports)
    out.push_back(fmt::format("forward_ports: {} ({})", ::geteuid() ? "slirp4netns" : "nftables",
                              forward_diff(running.forward_ports, now.forward_ports)));
  if (running.interfaces != now.interfaces)
    out.push_back(
        fmt::format("interfaces: moved ({})", list_diff(running.interfaces, now.interfaces)));
  if (running.macvlans != now.macvlans)
    out.push_back(fmt::format("macvlans: netlink ({})", list_diff(running.macvlans, now.macvlans)));
  if (auto d = bind_diff(running, now); !d.unbind.empty() || !d.bind.empty()) {
    std::vector<std::string> what;
    for (auto& mp : d.unbind) what.push_back("-" + mp);
    for (auto& mp : d.bind) what.push_back("+" + mp);
    out.push_back(fmt::format("bind_mounts: mount namespace ({})", fmt::join(what, ", ")));
  }
  if (running.extra_hosts != now.extra_hosts)
    out.push_back(fmt::format("extra_hosts: its /etc/hosts ({})",
                              map_diff(running.extra_hosts, now.extra_hosts)));
  if (running.environment != now.environment)
    out.push_back(
        fmt::format("environment: new runs ({})", map_diff(running.environment, now.environment)));
  if (!out.empty() && !now.reload.empty())
    out.push_back(fmt::format("then reload: {}", fmt::join(now.reload, " ")));
  return out;
}

Result<void> apply_live(const decl::Paths& paths, const decl::Declarations& decls,
                        const decl::Container& running, const decl::Container& now) {
  RunDir rd(paths, now.name);
  bool any = false;
  if (running.resources != now.resources) {
    TRY_CTX(update_resources(paths, now), "resources");
    any = true;
  }
  if (running.forward_ports != now.forward_ports) {
    TRY_CTX(update_forwards(paths, decls, now), "forward_ports");
    any = true;
  }
  if (running.interfaces != now.interfaces || running.macvlans != now.macvlans) {
    TRY_CTX(update_links(paths, decls, running, now), "interfaces and macvlans");
    any = true;
  }
  if (running.bind_mounts != now.bind_mounts) {
    TRY_CTX(update_binds(paths, running, now), "bind_mounts");
    any = true;
  }
  if (running.extra_hosts != now.extra_hosts) {
    auto st = read_status(rd);
    if (!st || st->pid <= 0) return make_error("{} is not running", now.name);
    auto note = TRY_CTX(place_extra_hosts(fmt::format("/proc/{}/root", st->pid), now.extra_hosts),
                        "extra_hosts");
    if (!note.empty()) return make_error("{}", note);
    any = true;
  }
  if (running.environment != now.environment) any = true;
  if (running.bind_mounts != now.bind_mounts || running.environment != now.environment)
    TRY(record_spec(paths, decls, now));
  // What runs is recorded before the reload: the change is made either way.
  TRY(save_snapshot(rd, now));
  if (any && !now.reload.empty()) {
    std::fflush(stdout);
    int rc = TRY_CTX(run_in(paths, now.name, now.reload), "reload");
    if (rc != 0)
      return make_error("reload: {} exited with status {}", fmt::join(now.reload, " "), rc);
  }
  return ok();
}

Result<oci::Process> run_base_process(const decl::Paths& paths, const std::string& name) {
  RunDir rd(paths, name);
  auto p = TRY(engine::exec_base_process(rd.store(), name));
  if (auto env = read_file(rd.environment())) {
    p.env.clear();
    size_t pos = 0;
    for (size_t e; (e = env->find('\0', pos)) != std::string::npos; pos = e + 1)
      p.env.push_back(env->substr(pos, e - pos));
  }
  return p;
}

}  // namespace berth::manager
