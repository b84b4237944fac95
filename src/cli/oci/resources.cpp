// update, pause, resume, events
#include <unistd.h>

#include <iostream>

#include "base/files.h"
#include "base/json.h"
#include "base/parse.h"
#include "cli/oci/cli.h"
#include "engine/container.h"

namespace berth::oci_cli {
namespace {

// "256m", "1G", "512k", "1024" -> bytes; "-1" stays -1 (unlimited).
Result<int64_t> parse_bytes(const std::string& flag, const std::string& s) {
  if (s == "-1") return -1;
  size_t used = 0;
  while (used < s.size() && (std::isdigit(static_cast<unsigned char>(s[used])) || s[used] == '.'))
    used++;
  auto v = parse_double(std::string_view(s).substr(0, used));
  if (!v) return make_error("{}: expected a size like 256m, got \"{}\"", flag, s);
  std::string unit = s.substr(used);
  for (auto& c : unit) c = static_cast<char>(tolower(c));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  double mult = 1;
  if (unit == "k")
    mult = 1024.0;
  else if (unit == "m")
    mult = 1024.0 * 1024;
  else if (unit == "g")
    mult = 1024.0 * 1024 * 1024;
  else if (unit == "t")
    mult = 1024.0 * 1024 * 1024 * 1024;
  else if (!unit.empty())
    return make_error("{}: unknown unit in \"{}\"", flag, s);
  double bytes = *v * mult;
  if (!(bytes < 9.2e18)) return make_error("{}: \"{}\" is too large", flag, s);
  return static_cast<int64_t>(bytes);
}

}  // namespace

void register_resources(CLI::App& app, Registry& r) {
  auto* up = app.add_subcommand("update", "change the resource limits of a running container");
  struct Flags {
    std::string id, resources, memory, memory_reservation, memory_swap, cpuset_cpus, cpuset_mems;
    std::optional<uint64_t> cpu_shares, cpu_period, blkio_weight;
    std::optional<int64_t> cpu_quota, pids_limit;
  };
  static Flags f;
  up->add_option("-r,--resources", f.resources, "LinuxResources JSON file, or - for stdin");
  up->add_option("--memory", f.memory, "memory limit (e.g. 256m, -1 for none)");
  up->add_option("--memory-reservation", f.memory_reservation, "memory soft limit");
  up->add_option("--memory-swap", f.memory_swap, "memory plus swap limit");
  up->add_option("--cpu-shares", f.cpu_shares, "relative CPU weight");
  up->add_option("--cpu-quota", f.cpu_quota, "CPU time per period (µs)");
  up->add_option("--cpu-period", f.cpu_period, "CFS period (µs)");
  up->add_option("--cpuset-cpus", f.cpuset_cpus, "CPUs allowed");
  up->add_option("--cpuset-mems", f.cpuset_mems, "memory nodes allowed");
  up->add_option("--pids-limit", f.pids_limit, "maximum number of processes");
  up->add_option("--blkio-weight", f.blkio_weight, "block IO weight (10-1000)");
  up->add_option(
      "--kernel-memory,--kernel-memory-tcp,--l3-cache-schema,--mem-bw-schema",
      [](const CLI::results_t&) { return true; }, "ignored");
  up->add_option("container-id", f.id)->required();
  up->callback([&r] {
    *r.chosen = [&r]() -> Result<int> {
      oci::Resources res;
      if (!f.resources.empty()) {
        std::string text;
        if (f.resources == "-")
          text = TRY(read_fd(0));
        else
          text = TRY(read_file(f.resources));
        nlohmann::json j;
        try {
          j = nlohmann::json::parse(text);
        } catch (const std::exception& e) {
          return make_error("--resources: invalid JSON: {}", e.what());
        }
        res = TRY(oci::parse_resources(j, "resources"));
      }
      auto mem = [&]() -> oci::Memory& {
        if (!res.memory) res.memory = oci::Memory{};
        return *res.memory;
      };
      auto cpu = [&]() -> oci::Cpu& {
        if (!res.cpu) res.cpu = oci::Cpu{};
        return *res.cpu;
      };
      if (!f.memory.empty()) mem().limit = TRY(parse_bytes("--memory", f.memory));
      if (!f.memory_reservation.empty())
        mem().reservation = TRY(parse_bytes("--memory-reservation", f.memory_reservation));
      if (!f.memory_swap.empty()) mem().swap = TRY(parse_bytes("--memory-swap", f.memory_swap));
      if (f.cpu_shares) cpu().shares = *f.cpu_shares;
      if (f.cpu_quota) cpu().quota = *f.cpu_quota;
      if (f.cpu_period) cpu().period = *f.cpu_period;
      if (!f.cpuset_cpus.empty()) cpu().cpus = f.cpuset_cpus;
      if (!f.cpuset_mems.empty()) cpu().mems = f.cpuset_mems;
      if (f.pids_limit) res.pids_limit = *f.pids_limit;
      if (f.blkio_weight) {
        if (*f.blkio_weight < 10 || *f.blkio_weight > 1000)
          return make_error("--blkio-weight: expected 10-1000, got {}", *f.blkio_weight);
        if (!res.block_io) res.block_io = oci::BlockIO{};
        res.block_io->weight = static_cast<uint16_t>(*f.blkio_weight);
      }
      TRY(engine::update(r.store(), f.id, res));
      return 0;
    };
  });

  auto* pause = app.add_subcommand("pause", "freeze every process in a container");
  static std::string pause_id;
  pause->add_option("container-id", pause_id)->required();
  pause->callback([&r] {
    *r.chosen = [&r]() -> Result<int> {
      TRY(engine::pause(r.store(), pause_id));
      return 0;
    };
  });
  auto* resume = app.add_subcommand("resume", "thaw a paused container");
  static std::string resume_id;
  resume->add_option("container-id", resume_id)->required();
  resume->callback([&r] {
    *r.chosen = [&r]() -> Result<int> {
      TRY(engine::resume(r.store(), resume_id));
      return 0;
    };
  });

  auto* events = app.add_subcommand("events", "print resource usage (and OOM events) as JSON");
  static std::string ev_id;
  static bool ev_stats = false;
  static int ev_interval = 5;
  events->add_flag("--stats", ev_stats, "print the stats once and exit");
  events->add_option("--interval", ev_interval, "seconds between stats");
  events->add_option("container-id", ev_id)->required();
  events->callback([&r] {
    *r.chosen = [&r]() -> Result<int> {
      auto store = r.store();
      uint64_t last_oom = 0;
      for (bool first = true;; first = false) {
        auto data = engine::stats(store, ev_id);
        if (!data) {
          if (first) return std::move(data).error();
          return 0;  // the container stopped
        }
        uint64_t oom = 0;
        if (auto m = data->find("memory"); m != data->end() && m->is_object())
          oom = json_integer_field<uint64_t>(*m, "oom_kill", 0);
        if (!ev_stats && oom > last_oom && !first)
          std::cout << nlohmann::json({{"type", "oom"}, {"id", ev_id}}).dump() << std::endl;
        last_oom = oom;
        std::cout << nlohmann::json({{"type", "stats"}, {"id", ev_id}, {"data", *data}}).dump()
                  << std::endl;
        if (ev_stats) return 0;
        sleep(static_cast<unsigned>(std::max(1, ev_interval)));
      }
    };
  });
}

}  // namespace berth::oci_cli
