// berth status NAME, berth list, berth show-ip NAME.
#include <cstdio>
#include <set>

#include <fmt/format.h>

#include "cli/berth/commands.h"
#include "cli/berth/util.h"
#include "manager/manager.h"

namespace berth::cli {

void register_status(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string name;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "status",
      "whether the container is up, down or gone, with pid, uptime, addresses, memory, restarts");
  cmd->add_option("name", o->name, "container name")->required();
  cmd->add_flag("--json", o->json, "print JSON");
  cmd->callback([&ctx, o] {
    auto r = ctx.load();
    const decl::Container* d = nullptr;
    if (r.ok()) {
      auto it = r.decls.containers.find(o->name);
      if (it != r.decls.containers.end()) d = &it->second;
    }
    auto s = manager::status(ctx.paths(), o->name, d);
    if (o->json)
      std::printf("%s\n", s.to_json().dump(2).c_str());
    else
      std::printf("%s\n", s.text().c_str());
    // As systemctl is-active: 0 when up.
    ctx.exit_code = s.state == "up" ? 0 : 3;
  });
}

void register_list(CLI::App& app, Context& ctx) {
  auto json = std::make_shared<bool>(false);
  auto only_names = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "list", "the declared containers (and any still running), with state and addresses");
  cmd->add_flag("--json", *json, "print JSON");
  cmd->add_flag("--names", *only_names, "print only the names, one a line (for scripts)");
  cmd->callback([&ctx, json, only_names] {
    auto paths = ctx.paths();
    auto d = load_or_report(ctx);
    if (!d) {
      ctx.exit_code = 1;
      return;
    }
    std::set<std::string> names;
    for (auto& [n, c] : d->containers) names.insert(n);
    for (auto& n : manager::runtime_names(paths))
      if (manager::is_running(paths, n)) names.insert(n);
    if (*only_names) {
      for (auto& n : names) std::printf("%s\n", n.c_str());
      ctx.exit_code = 0;
      return;
    }
    nlohmann::json arr = nlohmann::json::array();
    std::string text;
    for (auto& n : names) {
      auto it = d->containers.find(n);
      auto s = manager::status(paths, n, it == d->containers.end() ? nullptr : &it->second);
      auto j = s.to_json();
      if (it != d->containers.end()) j["autostart"] = it->second.autostart;
      arr.push_back(j);
      std::string addrs;
      for (auto& a : s.addresses) addrs += (addrs.empty() ? "" : ", ") + a;
      text +=
          fmt::format("{:<20} {:<24} {}\n", n, s.state + (s.monitor_died ? " (monitor died)" : ""),
                      addrs.empty() ? "-" : addrs);
    }
    if (*json)
      std::printf("%s\n", arr.dump(2).c_str());
    else
      std::fputs(text.c_str(), stdout);
    ctx.exit_code = 0;
  });
}

void register_show_ip(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("show-ip", "print the container's local address(es)");
  cmd->add_option("name", *name, "container name")->required();
  cmd->callback([&ctx, name] {
    auto d = load_or_report(ctx);
    if (!d) {
      ctx.exit_code = 1;
      return;
    }
    const decl::Container* found = find_or_report(*d, "show-ip", *name);
    if (!found) {
      ctx.exit_code = 1;
      return;
    }
    auto& c = *found;
    if (!c.local_address && !c.local_address6) {
      std::fprintf(stderr, "berth: show-ip %s: no local address declared\n", name->c_str());
      ctx.exit_code = 1;
      return;
    }
    if (c.local_address) std::printf("%s\n", c.local_address->address.c_str());
    if (c.local_address6) std::printf("%s\n", c.local_address6->address.c_str());
    ctx.exit_code = 0;
  });
}

}  // namespace berth::cli
