// Live changes of a running container (see live.h).
#include "manager/live.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "base/unique_fd.h"
#include "decl/spec.h"
#include "engine/container.h"
#include "manager/manager.h"
#include "manager/private_root.h"
#include "manager/runtime.h"
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

// The forwards are in the host namespace the monitor built the network in.
Result<void> update_forwards(const decl::Paths& paths, const decl::Declarations& decls,
                             const decl::Container& c) {
  auto st = read_status(RunDir(paths, c.name));
  if (!st || st->monitor_pid <= 0) return make_error("{} has no monitor", c.name);
  std::string ns = fmt::format("/proc/{}/ns/net", st->monitor_pid);
  UniqueFd fd(::open(ns.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open {}", ns);
  auto n = TRY(network_of(c, paths, decls.settings.nat));
  return net::update_forwards(n, fd.get());
}

}  // namespace

decl::Container with_live_keys(decl::Container running, const decl::Container& now) {
  running.resources = now.resources;
  running.autostart = now.autostart;
  running.after = now.after;
  running.restart_if_changed = now.restart_if_changed;
  running.reload = now.reload;
  if (running.private_network && now.private_network) running.forward_ports = now.forward_ports;
  return running;
}

std::vector<std::string> live_changes(const decl::Container& running, const decl::Container& now) {
  std::vector<std::string> out;
  if (running.resources != now.resources) out.push_back("resources: cgroup limits");
  if (running.forward_ports != now.forward_ports)
    out.push_back(fmt::format("forward_ports: nftables ({})",
                              forward_diff(running.forward_ports, now.forward_ports)));
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

}  // namespace berth::manager
