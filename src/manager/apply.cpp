// Making the host match the declarations: plan (what and why), apply (start,
// stop, restart, or update resources live), boot (autostart in `after`
// order), and the systemd unit template.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "base/files.h"
#include "decl/spec.h"
#include "engine/container.h"
#include "image/image.h"
#include "manager/console.h"
#include "manager/launch_spec.h"
#include "manager/live.h"
#include "manager/manager.h"
#include "manager/parallel.h"
#include "manager/private_root.h"
#include "manager/rootless.h"
#include "manager/runtime.h"

namespace berth::manager {

std::string Action::text() const {
  if (kind == Kind::Build) return fmt::format("build image {}: {}", name, reason);
  const char* verb = kind == Kind::Start     ? "start"
                     : kind == Kind::Stop    ? "stop"
                     : kind == Kind::Restart ? "restart"
                     : kind == Kind::Keep    ? "keep"
                                             : "update";
  return fmt::format("{} {}: {}", verb, name, reason);
}

namespace {

// The keys whose values differ, for the "why" of a restart.
std::string changed_keys(const decl::Container& a, const decl::Container& b) {
  std::vector<std::string> keys;
  auto check = [&](bool differ, const char* k) {
    if (differ) keys.push_back(k);
  };
  check(a.path != b.path, "path");
  check(a.share_host != b.share_host, "share_host");
  check(a.image != b.image, "image");
  check(a.command != b.command, "command");
  check(a.boot != b.boot, "boot");
  check(a.stub_init != b.stub_init, "stub_init");
  check(a.environment != b.environment, "environment");
  check(a.hostname != b.hostname, "hostname");
  check(a.ephemeral != b.ephemeral, "ephemeral");
  check(a.timeout_start != b.timeout_start, "timeout_start");
  check(a.timeout_stop != b.timeout_stop, "timeout_stop");
  check(a.restart != b.restart, "restart");
  check(a.ready != b.ready, "ready");
  check(a.halt_signal != b.halt_signal, "halt_signal");
  check(a.reboot_signal != b.reboot_signal, "reboot_signal");
  check(a.bind_mounts != b.bind_mounts, "bind_mounts");
  check(a.tmpfs != b.tmpfs, "tmpfs");
  check(a.additional_capabilities != b.additional_capabilities, "additional_capabilities");
  check(a.allowed_devices != b.allowed_devices, "allowed_devices");
  check(a.enable_tun != b.enable_tun, "enable_tun");
  check(a.seccomp != b.seccomp, "seccomp");
  check(a.private_users != b.private_users, "private_users");
  check(a.private_network != b.private_network, "private_network");
  check(a.host_address != b.host_address || a.local_address != b.local_address ||
            a.host_address6 != b.host_address6 || a.local_address6 != b.local_address6,
        "addresses");
  check(a.host_bridge != b.host_bridge, "host_bridge");
  check(a.macvlans != b.macvlans, "macvlans");
  check(a.interfaces != b.interfaces, "interfaces");
  check(a.extra_veths != b.extra_veths, "extra_veths");
  check(a.network_namespace != b.network_namespace, "network_namespace");
  check(a.forward_ports != b.forward_ports, "forward_ports");
  check(a.local_mac_address != b.local_mac_address, "local_mac_address");
  check(a.nat != b.nat, "nat");
  check(a.resolv_conf != b.resolv_conf, "resolv_conf");
  check(a.resources != b.resources, "resources");
  std::string s;
  for (auto& k : keys) s += (s.empty() ? "" : ", ") + k;
  return s.empty() ? "settings" : s;
}

// A spec as JSON for comparison: without linux.resources (updated live, and
// the declaration says whether they changed) and without the path of a
// network namespace the monitor made (/proc/PID/fd/N of that monitor).
nlohmann::json comparable(nlohmann::json j) {
  if (!j.contains("linux") || !j["linux"].is_object()) return j;
  auto& l = j["linux"];
  l.erase("resources");
  if (l.contains("namespaces") && l["namespaces"].is_array())
    for (auto& ns : l["namespaces"])
      if (ns.is_object() && ns.value("path", "").starts_with("/proc/"))
        ns["path"] = "(made by the monitor)";
  return j;
}

// Where the spec a running container was started with differs from the one
// its declaration compiles to now ("process.env", "mounts", ...), or nothing
// when it was started by a berth that kept no spec.
std::vector<std::string> spec_changes(const decl::Paths& paths, const decl::Container& c,
                                      const decl::Declarations& decls) {
  auto text = read_file(RunDir(paths, c.name).spec());
  if (!text) return {};
  auto running = nlohmann::json::parse(*text, nullptr, false);
  if (running.is_discarded()) return {"a spec file berth cannot read"};
  LaunchInputs in;
  in.terminal = wants_console(c);
  if (auto ids = ids_for_spec(in, paths, c, decls); !ids)
    return {"a uid range that cannot be picked (" + ids.error().message + ")"};
  // normalized by comparable(); a rootless berth's is made with the init (slirp.h)
  if (c.private_network && !in.rootless_maps) in.netns_path = "/proc/self/fd/0";
  auto now = launch_spec(paths, c, in);
  if (!now) return {"a declaration that no longer compiles (" + now.error().message + ")"};
  std::vector<std::string> where;
  for (auto& op : nlohmann::json::diff(comparable(running), comparable(oci::to_json(*now)))) {
    // "/process/env/3" -> "process.env"; "/mounts/12", "/mounts/-" -> "mounts".
    std::string path = op.value("path", ""), key;
    for (size_t pos = 1, parts = 0; pos <= path.size() && parts < 2; parts++) {
      size_t end = path.find('/', pos);
      std::string part = path.substr(pos, end == std::string::npos ? end : end - pos);
      if (part.empty() || part == "-" || std::isdigit(static_cast<unsigned char>(part[0]))) break;
      key += (key.empty() ? "" : ".") + part;
      if (end == std::string::npos) break;
      pos = end + 1;
    }
    if (key.empty()) key = "the spec";
    if (key == "annotations." + std::string(kImageAnnotation))
      key = fmt::format("image {} replaced in the store", c.image);
    if (std::find(where.begin(), where.end(), key) == where.end()) where.push_back(key);
  }
  return where;
}

}  // namespace

// What a running container needs to match c: nothing, a live update, or a
// restart. The declaration it was started from (for what the monitor does:
// network, restart policy, timeouts), then the complete spec it runs (what
// the engine does) are compared with today's.
static std::optional<Action> plan_restart_or_update(const decl::Paths& paths,
                                                    const decl::Container& c,
                                                    const decl::Declarations& decls) {
  const std::string& n = c.name;
  // Resolved with today's settings: a [settings] change shows in the spec, not here.
  auto snap = load_snapshot(RunDir(paths, n), n, decls.settings);
  if (!snap) return std::nullopt;
  if (!decl::same_declaration(with_live_keys(*snap, c), c))
    return Action{Action::Kind::Restart, n, "declaration changed (" + changed_keys(*snap, c) + ")"};
  // The same declaration can compile to another spec (a [settings] change,
  // the host's part, a newer berth).
  // Its binds and environment as it runs them: they change live (live.h).
  decl::Container as_running = c;
  as_running.bind_mounts = snap->bind_mounts;
  as_running.environment = snap->environment;
  if (auto spec = spec_changes(paths, as_running, decls); !spec.empty())
    return Action{Action::Kind::Restart, n,
                  fmt::format("its spec changed ({})", fmt::join(spec, ", "))};
  if (auto live = live_changes(*snap, c); !live.empty())
    return Action{Action::Kind::Update, n,
                  fmt::format("live, no restart: {}", fmt::join(live, "; "))};
  return std::nullopt;
}

// a, unless it is a restart that restart_if_changed = false declines: then
// the container runs on as it is, and the plan says what it did not apply.
static Action unless_declined(const decl::Container& c, Action a) {
  if (a.kind != Action::Kind::Restart || c.restart_if_changed) return a;
  return Action{Action::Kind::Keep, c.name,
                fmt::format("not restarted (restart_if_changed = false), so not applied: {}; "
                            "`berth restart {}` applies it",
                            a.reason, c.name)};
}

// As plan_restart_or_update, with a declined restart kept (unless_declined).
static std::optional<Action> plan_running(const decl::Paths& paths, const decl::Container& c,
                                          const decl::Declarations& decls) {
  auto a = plan_restart_or_update(paths, c, decls);
  if (!a) return a;
  return unless_declined(c, std::move(*a));
}

std::vector<Action> plan(const decl::Paths& paths, const decl::Declarations& decls) {
  std::vector<Action> out;
  // Declared images first: missing, or built from another recipe (an
  // imported image of that name is left alone: `image build --force`).
  std::set<std::string> rebuilt;
  for (auto& [n, r] : decls.images) {
    auto state = image::build_state(paths, r);
    if (!state)
      out.push_back(
          {Action::Kind::Build, n, "its metadata cannot be read (" + state.error().message + ")"});
    else if (*state == image::BuildState::Missing)
      out.push_back({Action::Kind::Build, n, "not built yet"});
    else if (*state == image::BuildState::Stale)
      out.push_back({Action::Kind::Build, n, "its recipe changed"}), rebuilt.insert(n);
  }
  std::set<std::string> running;
  for (auto& n : runtime_names(paths))
    if (is_running(paths, n)) running.insert(n);
  for (auto& n : running)
    if (!decls.containers.count(n)) out.push_back({Action::Kind::Stop, n, "no longer declared"});
  for (auto& [n, c] : decls.containers) {
    if (!running.count(n)) {
      if (c.autostart) out.push_back({Action::Kind::Start, n, "autostart, not running"});
      continue;
    }
    if (!c.image.empty() && rebuilt.count(c.image)) {
      out.push_back(unless_declined(
          c, {Action::Kind::Restart, n, fmt::format("image {} is rebuilt", c.image)}));
      continue;
    }
    if (auto a = plan_running(paths, c, decls)) out.push_back(*a);
  }
  return out;
}

Result<void> update(const decl::Paths& paths, const decl::Declarations& decls,
                    const std::string& name, const std::string& self_exe) {
  auto it = decls.containers.find(name);
  if (it == decls.containers.end()) {
    if (is_running(paths, name))
      return make_error(
          "{} runs but is no longer declared; `berth stop {}` or `berth apply` stops it", name,
          name);
    return make_error("no such container declared");
  }
  if (!is_running(paths, name)) {
    std::printf("nothing to do: %s is not running (its next start uses the new declaration)\n",
                name.c_str());
    return ok();
  }
  auto a = plan_running(paths, it->second, decls);
  if (!a) {
    std::printf("nothing to do: %s runs its current declaration\n", name.c_str());
    return ok();
  }
  return apply(paths, decls, {*a}, self_exe);
}

namespace {

// One action of apply.
Result<void> apply_one(const decl::Paths& paths, const decl::Declarations& decls, const Action& a,
                       const std::string& self_exe) {
  switch (a.kind) {
    case Action::Kind::Stop:
      return stop(paths, a.name, false);
    case Action::Kind::Keep:
    case Action::Kind::Build:  // done before the other phases (build_images)
      return ok();
    case Action::Kind::Start: {
      auto r = start(paths, decls.containers.at(a.name), self_exe);
      if (!r) return std::move(r).error();
      return ok();
    }
    case Action::Kind::Restart: {
      TRY(stop(paths, a.name, false));
      auto s = start(paths, decls.containers.at(a.name), self_exe);
      if (!s) return std::move(s).error();
      return ok();
    }
    case Action::Kind::Update: {
      auto& c = decls.containers.at(a.name);
      auto snap = load_snapshot(RunDir(paths, a.name), a.name, decls.settings);
      if (!snap) return make_error("{} is not running", a.name);
      return apply_live(paths, decls, *snap, c);
    }
  }
  return ok();
}

// The Build actions, one at a time (mmdebstrap uses every core): each line
// it prints goes to stdout after the image's name. The images that failed.
std::set<std::string> build_images(
    const decl::Paths& paths, const decl::Declarations& decls, const std::vector<Action>& actions,
    const std::function<void(const Action&, const Result<void>&)>& report) {
  std::set<std::string> failed;
  for (auto& a : actions) {
    if (a.kind != Action::Kind::Build) continue;
    image::BuildOptions o;
    o.log = [&](const std::string& line) {
      std::printf("image %s: %s\n", a.name.c_str(), line.c_str());
      std::fflush(stdout);
    };
    auto r = image::build(paths, decls.images.at(a.name), o);
    if (!r) {
      report(a, std::move(r).error());
      failed.insert(a.name);
      continue;
    }
    std::printf("built image %s in %.0f s (%.1f MiB of files)\n", a.name.c_str(), r->seconds,
                static_cast<double>(r->meta.tree_bytes) / (1 << 20));
    std::fflush(stdout);
  }
  return failed;
}

}  // namespace

Result<void> apply(const decl::Paths& paths, const decl::Declarations& decls,
                   const std::vector<Action>& actions, const std::string& self_exe, int jobs) {
  // The plan first (stdout is what `plan` prints), then the work: the stops
  // of containers no longer declared in parallel (their addresses and ports
  // may be what the new ones take), then starts, restarts and updates in
  // parallel, each after the containers it comes after. Failures go to
  // stderr as they happen.
  for (auto& a : actions) std::printf("%s\n", a.text().c_str());
  std::fflush(stdout);
  Result<void> first = ok();
  auto report = [&](const Action& a, const Result<void>& r) {
    if (r) return;
    std::fprintf(stderr, "berth: %s: %s\n", a.text().c_str(), r.error().message.c_str());
    if (first) first = r;
  };
  auto unbuilt = build_images(paths, decls, actions, report);
  auto run_phase = [&](bool stops) {
    std::vector<Job> list;
    std::vector<const Action*> of;
    for (auto& a : actions) {
      if (a.kind == Action::Kind::Build || (a.kind == Action::Kind::Stop) != stops) continue;
      if (auto it = decls.containers.find(a.name);
          !stops && it != decls.containers.end() && unbuilt.count(it->second.image)) {
        report(a, make_error("image {} was not built", it->second.image));
        continue;
      }
      Job j;
      j.name = a.name;
      if (auto it = decls.containers.find(a.name); it != decls.containers.end())
        j.after = it->second.after;
      j.run = [&, &a = a]() -> Result<void> { return apply_one(paths, decls, a, self_exe); };
      list.push_back(std::move(j));
      of.push_back(&a);
    }
    run_jobs(list, jobs, [&](size_t i, const Result<void>& r) { report(*of[i], r); });
  };
  run_phase(true);
  run_phase(false);
  // The old trees of rebuilt images, now that their users run the new ones.
  if (std::any_of(actions.begin(), actions.end(),
                  [](const Action& a) { return a.kind == Action::Kind::Build; }))
    image::remove_replaced(paths);
  return first;
}

Result<void> boot(const decl::Paths& paths, const decl::Declarations& decls,
                  const std::string& self_exe, int jobs) {
  std::vector<Job> list;
  for (auto& [n, c] : decls.containers) {
    if (!c.autostart) continue;
    list.push_back(Job{n, c.after, [&, &c = c]() -> Result<void> {
                         auto s = start(paths, c, self_exe);
                         if (!s) return std::move(s).error();
                         return ok();
                       }});
  }
  Result<void> first = ok();
  run_jobs(list, jobs, [&](size_t i, const Result<void>& r) {
    if (r) {
      std::printf("started %s\n", list[i].name.c_str());
    } else {
      std::fprintf(stderr, "berth: start %s: %s\n", list[i].name.c_str(),
                   r.error().message.c_str());
      if (first) first = r;
    }
    std::fflush(stdout);
  });
  return first;
}

std::string systemd_unit_text(const std::string& berth_exe, const std::string& root) {
  std::string root_opt = root.empty() || root == "/" ? "" : " --root " + root;
  return fmt::format(
      "# Written by `berth generate systemd`: one instance per declared container,\n"
      "# e.g. `systemctl enable --now berth-container@web`.\n"
      "[Unit]\n"
      "Description=berth container %i\n"
      "After=network.target\n"
      "\n"
      "[Service]\n"
      "Type=notify\n"
      "NotifyAccess=main\n"
      "# As `berth start` runs a monitor: without glibc's per-thread malloc cache,\n"
      "# whose freed chunks would pin dirty pages for the container's lifetime.\n"
      "Environment=GLIBC_TUNABLES=glibc.malloc.tcache_count=0\n"
      "ExecStart={0}{1} monitor %i --foreground\n"
      "ExecStop={0}{1} stop %i\n"
      "KillMode=mixed\n"
      "Delegate=yes\n"
      "TimeoutStartSec=infinity\n"
      "TimeoutStopSec=2min\n"
      "Restart=no\n"
      "\n"
      "[Install]\n"
      "WantedBy=multi-user.target\n",
      berth_exe, root_opt);
}

Result<std::string> write_systemd_unit(const std::string& root, const std::string& dir) {
  std::string where = dir;
  if (where.empty()) {
    std::string r = root;
    while (r.size() > 1 && r.back() == '/') r.pop_back();
    where = (r == "/" ? "" : r) + "/etc/systemd/system";
  }
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  std::string self = n > 0 ? std::string(exe, static_cast<size_t>(n)) : "/usr/bin/berth";
  std::string file = where + "/berth-container@.service";
  TRY(mkdir_p(where, 0755));
  TRY(write_file_atomic(file, systemd_unit_text(self, root)));
  return file;
}

}  // namespace berth::manager
