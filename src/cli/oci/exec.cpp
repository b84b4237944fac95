// exec: a new process inside a running container
#include <filesystem>
#include <iostream>
#include <set>

#include "base/files.h"
#include "base/parse.h"
#include "cli/oci/cli.h"
#include "engine/container.h"
#include "engine/process.h"

namespace berth::oci_cli {

void protect_exec_command(std::vector<std::string>& args) {
  static const std::set<std::string> global_with_value = {
      "--root", "--log", "--log-format", "--log-level", "--cgroup-manager", "--rootless"};
  static const std::set<std::string> exec_with_value = {"-p",
                                                        "--process",
                                                        "--console-socket",
                                                        "--pid-file",
                                                        "--cwd",
                                                        "-e",
                                                        "--env",
                                                        "-u",
                                                        "--user",
                                                        "-c",
                                                        "--cap",
                                                        "-g",
                                                        "--additional-gids",
                                                        "--preserve-fds",
                                                        "--process-label",
                                                        "--apparmor",
                                                        "--cgroup",
                                                        "--pidfd-socket"};
  size_t i = 0;
  for (; i < args.size(); i++) {
    if (args[i] == "exec") break;
    if (global_with_value.count(args[i]))
      i++;
    else if (args[i].empty() || args[i][0] != '-')
      return;  // another command
  }
  for (i++; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--") return;
    if (!a.empty() && a[0] == '-') {
      if (exec_with_value.count(a)) i++;
      continue;
    }
    // a is the container id: from here on everything is positional.
    args.insert(args.begin() + static_cast<long>(i), "--");
    return;
  }
}

void register_exec(CLI::App& app, Registry& r) {
  auto* c = app.add_subcommand("exec", "run a process in a running container");
  struct Flags {
    std::string process_file, console_socket, pid_file, cwd, user, process_label, apparmor, cgroup;
    std::vector<std::string> env, caps, additional_gids;
    bool tty = false, detach = false, no_new_privs = false, ignore_paused = false;
    int preserve_fds = 0;
  };
  static Flags f;
  c->add_option("-p,--process", f.process_file, "process.json (runtime-spec Process) to run");
  c->add_flag("-t,--tty", f.tty, "allocate a pty");
  c->add_option("--console-socket", f.console_socket,
                "AF_UNIX socket that receives the pty master");
  c->add_flag("-d,--detach", f.detach, "do not wait for the process");
  c->add_option("--pid-file", f.pid_file, "write the process's pid to this file");
  c->add_option("--cwd", f.cwd, "working directory inside the container");
  c->add_option("-e,--env", f.env, "KEY=VALUE to add to the environment");
  c->add_option("-u,--user", f.user, "UID[:GID]");
  c->add_option("-c,--cap", f.caps, "an extra capability");
  c->add_option("-g,--additional-gids", f.additional_gids, "an extra group");
  c->add_flag("--no-new-privs", f.no_new_privs, "set no_new_privs");
  c->add_option("--preserve-fds", f.preserve_fds, "pass this many fds after stdio");
  c->add_option("--process-label", f.process_label, "accepted; no SELinux on berth's hosts");
  c->add_option("--apparmor", f.apparmor, "accepted; no AppArmor on berth's hosts");
  c->add_option("--cgroup", f.cgroup, "accepted for runc compatibility");
  c->add_flag("--ignore-paused", f.ignore_paused, "accepted for runc compatibility");
  c->add_option(
      "--pidfd-socket", [](const CLI::results_t&) { return true; },
      "accepted for runc compatibility");
  static std::string id_arg;
  static std::vector<std::string> command;
  c->add_option("container-id", id_arg, "the container")->required();
  c->add_option("command", command, "the command and its arguments (unless --process)");
  c->callback([&r] {
    std::vector<std::string> rest = command;
    rest.insert(rest.begin(), id_arg);
    *r.chosen = [&r, rest]() -> Result<int> {
      if (rest.empty()) return make_error("exec: a container id is required");
      std::string id = rest[0];
      std::vector<std::string> args(rest.begin() + 1, rest.end());
      auto store = r.store();
      oci::Process p;
      if (!f.process_file.empty()) {
        auto text = TRY(read_file(f.process_file));
        nlohmann::json j;
        try {
          j = nlohmann::json::parse(text);
        } catch (const std::exception& e) {
          return make_error("{}: invalid JSON: {}", f.process_file, e.what());
        }
        p = TRY(oci::parse_process(j));
      } else {
        if (args.empty())
          return make_error("exec: arguments are required unless --process is given");
        p = TRY(engine::exec_base_process(store, id));
        p.args = args;
      }
      if (f.tty) p.terminal = true;
      if (!f.cwd.empty()) p.cwd = f.cwd;
      for (auto& e : f.env) {
        auto key = e.substr(0, e.find('='));
        std::erase_if(p.env, [&](const std::string& x) { return x.substr(0, x.find('=')) == key; });
        p.env.push_back(e);
      }
      if (!f.user.empty()) {
        auto colon = f.user.find(':');
        auto uid = parse_int<uint32_t>(std::string_view(f.user).substr(0, colon));
        auto gid = colon == std::string::npos
                       ? std::optional<uint32_t>(0)
                       : parse_int<uint32_t>(std::string_view(f.user).substr(colon + 1));
        if (!uid || !gid)
          return make_error("exec: --user must be UID[:GID] with numbers, got \"{}\"", f.user);
        p.user.uid = *uid;
        p.user.gid = *gid;
      }
      for (auto& g : f.additional_gids) {
        auto gid = parse_int<uint32_t>(g);
        if (!gid) return make_error("exec: --additional-gids must be numbers, got \"{}\"", g);
        p.user.additional_gids.push_back(*gid);
      }
      if (!f.caps.empty()) {
        if (!p.capabilities) p.capabilities = oci::Capabilities{};
        for (auto& cap : f.caps) {
          TRY(engine::capability_from_name(cap));
          for (auto* set :
               {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted})
            if (std::find(set->begin(), set->end(), cap) == set->end()) set->push_back(cap);
        }
      }
      if (f.no_new_privs) p.no_new_privileges = true;
      engine::ExecOptions o;
      o.process = p;
      o.console_socket =
          f.console_socket.empty() ? "" : std::filesystem::absolute(f.console_socket).string();
      o.pid_file = f.pid_file;
      o.detach = f.detach;
      o.preserve_fds = f.preserve_fds;
      UniqueFd master;
      if (p.terminal && o.console_socket.empty()) {
        if (f.detach)
          return make_error(
              "cannot allocate tty if berth-oci will detach without setting console socket");
        o.console_out = &master;
      }
      pid_t pid = TRY(engine::exec(store, id, o));
      if (f.detach) return 0;
      return wait_forwarding(pid, master.get());
    };
  });
}

}  // namespace berth::oci_cli
