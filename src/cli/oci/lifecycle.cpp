// create, start, run, state, kill, delete, list, ps
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "base/files.h"
#include "base/log.h"
#include "cli/oci/cli.h"
#include "engine/container.h"

namespace berth::oci_cli {
namespace {

std::string absolute(const std::string& p) {
  return std::filesystem::absolute(p.empty() ? std::string(".") : p).lexically_normal().string();
}

struct CreateFlags {
  std::string id, bundle = ".", pid_file, console_socket;
  int preserve_fds = 0;
  bool no_pivot = false, no_new_keyring = false;
};

void add_create_flags(CLI::App* c, CreateFlags& f) {
  c->add_option("-b,--bundle", f.bundle, "path to the bundle (default: current directory)");
  c->add_option("--pid-file", f.pid_file, "write the init's pid to this file");
  c->add_option("--console-socket", f.console_socket,
                "AF_UNIX socket that receives the pty master");
  c->add_option("--preserve-fds", f.preserve_fds, "pass this many fds after stdio");
  c->add_flag("--no-pivot", f.no_pivot, "use MS_MOVE + chroot instead of pivot_root");
  c->add_flag("--no-new-keyring", f.no_new_keyring, "keep the caller's session keyring");
  c->add_option(
      "--pidfd-socket", [](const CLI::results_t&) { return true; },
      "accepted for runc compatibility");
  c->add_option("container-id", f.id, "container id")->required();
}

engine::CreateOptions create_options(const Globals& g, const CreateFlags& f) {
  engine::CreateOptions o;
  o.id = f.id;
  o.bundle = absolute(f.bundle);
  o.console_socket = f.console_socket.empty() ? "" : absolute(f.console_socket);
  o.pid_file = f.pid_file;
  o.preserve_fds = f.preserve_fds;
  o.no_pivot = f.no_pivot;
  o.no_new_keyring = f.no_new_keyring;
  o.use_cgroups = g.cgroup_manager != "disabled";
  return o;
}

void register_create(CLI::App& app, Registry& r) {
  auto* create =
      app.add_subcommand("create", "create a container (blocked before exec until start)");
  static CreateFlags cf;
  add_create_flags(create, cf);
  create->callback([&r] {
    *r.chosen = [&r]() -> Result<int> {
      TRY(engine::create_from_bundle(r.store(), create_options(*r.g, cf)));
      return 0;
    };
  });
}

void register_start(CLI::App& app, Registry& r) {
  auto* start = app.add_subcommand("start", "start a created container");
  static std::string start_id;
  start->add_option("container-id", start_id)->required();
  start->callback([&r] {
    *r.chosen = [&r]() -> Result<int> {
      TRY(engine::start(r.store(), start_id));
      return 0;
    };
  });
}

void register_run(CLI::App& app, Registry& r) {
  auto* run = app.add_subcommand("run", "create and start a container, and wait for it");
  static CreateFlags rf;
  static bool detach = false, keep = false;
  add_create_flags(run, rf);
  run->add_flag("-d,--detach", detach, "do not wait for the container");
  run->add_flag("--keep", keep, "keep the container's state after it exits");
  static bool no_subreaper = false;
  run->add_flag("--no-subreaper", no_subreaper, "accepted for runc compatibility");
  run->callback([&r] {
    *r.chosen = [&r]() -> Result<int> {
      auto store = r.store();
      auto opts = create_options(*r.g, rf);
      UniqueFd master;
      auto spec = TRY(oci::load_spec(opts.bundle + "/config.json"));
      if (spec.process && spec.process->terminal && opts.console_socket.empty()) {
        if (detach)
          return make_error(
              "cannot allocate tty if berth-oci will detach without setting console socket");
        opts.console_out = &master;
      }
      pid_t pid = TRY(engine::create(store, spec, opts));
      if (auto s = engine::start(store, rf.id); !s) {
        (void)engine::remove(store, rf.id, true);
        return std::move(s).error();
      }
      if (detach) return 0;
      int code = wait_forwarding(pid, master.get());
      if (!keep) {
        if (auto d = engine::destroy(store, rf.id); !d) log::warn("{}", d.error().message);
      }
      return code;
    };
  });
}

void register_state(CLI::App& app, Registry& r) {
  auto* state = app.add_subcommand("state", "print the state of a container as JSON");
  static std::string state_id;
  state->add_option("container-id", state_id)->required();
  state->callback([&r] {
    *r.chosen = [&r]() -> Result<int> {
      auto store = r.store();
      auto s = TRY(store.load(state_id));
      std::cout << engine::state_json(s, engine::current_status(store, s)).dump(2) << "\n";
      return 0;
    };
  });
}

void register_kill(CLI::App& app, Registry& r) {
  auto* kill = app.add_subcommand("kill", "send a signal to the container's init (default TERM)");
  static std::string kill_id, kill_sig = "TERM";
  static bool kill_all = false;
  kill->add_flag("-a,--all", kill_all, "signal every process in the container");
  kill->add_option("container-id", kill_id)->required();
  kill->add_option("signal", kill_sig);
  kill->callback([&r] {
    *r.chosen = [&r]() -> Result<int> {
      int sig = TRY(engine::parse_signal(kill_sig));
      TRY(engine::kill(r.store(), kill_id, sig, kill_all));
      return 0;
    };
  });
}

void register_delete(CLI::App& app, Registry& r) {
  auto* del = app.add_subcommand("delete", "delete a stopped (or, with --force, any) container");
  static std::string del_id;
  static bool del_force = false;
  del->add_flag("-f,--force", del_force, "kill the container first if it is running");
  del->add_option("container-id", del_id)->required();
  del->callback([&r] {
    *r.chosen = [&r]() -> Result<int> {
      TRY(engine::remove(r.store(), del_id, del_force));
      return 0;
    };
  });
}

void register_list(CLI::App& app, Registry& r) {
  auto* list = app.add_subcommand("list", "list containers");
  static std::string list_format = "table";
  static bool list_quiet = false;
  list->add_option("-f,--format", list_format)->check(CLI::IsMember({"table", "json"}));
  list->add_flag("-q,--quiet", list_quiet, "print only ids");
  list->callback([&r] {
    *r.chosen = [&r]() -> Result<int> {
      auto store = r.store();
      auto ids = TRY(store.ids());
      nlohmann::json all = nlohmann::json::array();
      std::string table = fmt::format("{:<24}{:<10}{:<10}{:<40}{:<32}{}\n", "ID", "PID", "STATUS",
                                      "BUNDLE", "CREATED", "OWNER");
      for (auto& id : ids) {
        auto s = store.load(id);
        if (!s) continue;
        auto st = engine::current_status(store, *s);
        auto j = engine::state_json(*s, st);
        if (list_quiet)
          table += id + "\n";
        else
          table += fmt::format("{:<24}{:<10}{:<10}{:<40}{:<32}{}\n", id, j["pid"].get<int>(),
                               engine::status_name(st), s->bundle, s->created,
                               s->owner.empty() ? "root" : s->owner);
        all.push_back(j);
      }
      if (list_format == "json")
        std::cout << all.dump() << "\n";
      else
        std::cout << (list_quiet ? table.substr(table.find('\n') + 1) : table);
      return 0;
    };
  });
}

void register_ps(CLI::App& app, Registry& r) {
  auto* ps = app.add_subcommand("ps", "list the processes in a container");
  static std::string ps_id, ps_format = "table";
  ps->add_option("-f,--format", ps_format)->check(CLI::IsMember({"table", "json"}));
  ps->add_option("container-id", ps_id)->required();
  ps->allow_extras();
  ps->callback([&r] {
    *r.chosen = [&r]() -> Result<int> {
      auto pids = TRY(engine::pids(r.store(), ps_id));
      if (ps_format == "json") {
        std::cout << nlohmann::json(pids).dump() << "\n";
        return 0;
      }
      std::cout << fmt::format("{:<10}{}\n", "PID", "CMD");
      for (pid_t p : pids) {
        auto cmd = read_file("/proc/" + std::to_string(p) + "/cmdline");
        std::string c = cmd ? *cmd : "";
        for (auto& ch : c)
          if (ch == '\0') ch = ' ';
        std::cout << fmt::format("{:<10}{}\n", p, c);
      }
      return 0;
    };
  });
}

}  // namespace

void register_lifecycle(CLI::App& app, Registry& r) {
  register_create(app, r);
  register_start(app, r);
  register_run(app, r);
  register_state(app, r);
  register_kill(app, r);
  register_delete(app, r);
  register_list(app, r);
  register_ps(app, r);
}

}  // namespace berth::oci_cli
