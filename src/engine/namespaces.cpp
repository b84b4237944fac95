#include "engine/namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/files.h"
#include "base/unique_fd.h"

namespace berth::engine {
namespace {

constexpr NsInfo kNamespaces[] = {
    {"user", "user", CLONE_NEWUSER},       {"mount", "mnt", CLONE_NEWNS},
    {"uts", "uts", CLONE_NEWUTS},          {"ipc", "ipc", CLONE_NEWIPC},
    {"network", "net", CLONE_NEWNET},      {"pid", "pid", CLONE_NEWPID},
    {"cgroup", "cgroup", CLONE_NEWCGROUP}, {"time", "time", CLONE_NEWTIME},
};

}  // namespace

std::span<const NsInfo> all_namespaces() {
  return kNamespaces;
}

const NsInfo* ns_info(const std::string& type) {
  for (auto& n : kNamespaces)
    if (type == n.type) return &n;
  return nullptr;
}

bool NamespacePlan::own_mount() const {
  return (clone_flags & CLONE_NEWNS) != 0 || std::any_of(joins.begin(), joins.end(), [](auto& j) {
           return j.first->flag == CLONE_NEWNS;
         });
}

Result<NamespacePlan> plan_namespaces(const oci::Spec& spec) {
  NamespacePlan plan;
  if (!spec.linux) return plan;
  const oci::Linux& l = *spec.linux;
  for (auto& ns : l.namespaces) {
    const NsInfo* info = ns_info(ns.type);
    if (!info) return make_error("linux.namespaces: unknown type \"{}\"", ns.type);
    plan.types.push_back(ns.type);
    if (ns.path.empty()) {
      if (info->flag == CLONE_NEWCGROUP)
        plan.new_cgroup = true;
      else if (info->flag == CLONE_NEWTIME)
        plan.new_time = true;
      else
        plan.clone_flags |= info->flag;
      if (info->flag == CLONE_NEWUSER) plan.new_user = true;
    } else if (info->flag == CLONE_NEWPID) {
      plan.join_pid = info;
      plan.join_pid_path = ns.path;
    } else {
      struct stat st;
      if (::stat(ns.path.c_str(), &st) < 0)
        return errno_error("linux.namespaces: {} namespace path {}", ns.type, ns.path);
      plan.joins.emplace_back(info, ns.path);
    }
  }
  std::stable_sort(plan.joins.begin(), plan.joins.end(), [](auto& a, auto& b) {
    return a.first->flag == CLONE_NEWUSER && b.first->flag != CLONE_NEWUSER;
  });
  if (plan.new_user && plan.join_pid)
    return make_error(
        "linux.namespaces: joining a pid namespace together with a new user namespace is not "
        "supported");
  for (auto& [ns, path] : plan.joins)
    if (ns->flag == CLONE_NEWUSER && (plan.clone_flags & ~CLONE_NEWUSER))
      return make_error(
          "linux.namespaces: joining a user namespace by path while creating other namespaces is "
          "not supported");
  if (plan.new_user && (l.uid_mappings.empty() || l.gid_mappings.empty()))
    return make_error("linux.uidMappings: a new user namespace needs uidMappings and gidMappings");
  return plan;
}

int setns_path(const std::string& path, int flag) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return -1;
  int r = ::setns(fd.get(), flag);
  int e = errno;
  fd.reset();
  errno = e;
  return r;
}

Result<void> write_id_map(pid_t pid, const char* file, const std::vector<oci::IdMapping>& maps) {
  std::string text;
  for (auto& m : maps) text += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
  return write_existing(fmt::format("/proc/{}/{}", pid, file), text);
}

bool maps_only(const std::vector<oci::IdMapping>& maps, uint32_t own) {
  return maps.size() == 1 && maps[0].size == 1 && maps[0].host_id == own;
}

Result<void> write_id_map_with_helper(pid_t pid, const char* helper,
                                      const std::vector<oci::IdMapping>& maps) {
  std::vector<std::string> args = {helper, std::to_string(pid)};
  for (auto& m : maps)
    for (uint32_t v : {m.container_id, m.host_id, m.size}) args.push_back(std::to_string(v));
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd out_r(p[0]), out_w(p[1]);
  posix_spawn_file_actions_t fa;
  ::posix_spawn_file_actions_init(&fa);
  ::posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  ::posix_spawn_file_actions_adddup2(&fa, out_w.get(), 2);
  pid_t child = -1;
  int e = ::posix_spawnp(&child, helper, &fa, nullptr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&fa);
  out_w.reset();
  if (e == ENOENT)
    return make_error(
        "{} not found on PATH: a rootless container's subordinate ids are mapped "
        "by it (Debian's uidmap package)",
        helper);
  if (e != 0) return code_error(e, "run {}", helper);
  std::string said;
  char buf[512];
  for (ssize_t n; (n = ::read(out_r.get(), buf, sizeof(buf))) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    said.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0)
    if (errno != EINTR) return errno_error("wait for {}", helper);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok();
  while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
  for (auto& c : said)
    if (c == '\n') c = ' ';
  return make_error("{} failed ({}): {}", fmt::join(args, " "),
                    WIFEXITED(status) ? fmt::format("exit {}", WEXITSTATUS(status)) : "killed",
                    said.empty() ? "(it said nothing)" : said);
}

Result<void> setup_time_namespace(const oci::Linux& l) {
  if (::unshare(CLONE_NEWTIME) < 0) return errno_error("unshare time namespace");
  std::string text;
  for (auto& [clock, off] : l.time_offsets) {
    if (clock != "monotonic" && clock != "boottime")
      return make_error("linux.timeOffsets: unknown clock \"{}\"", clock);
    text += fmt::format("{} {} {}\n", clock, off.secs, off.nanosecs);
  }
  if (!text.empty()) TRY(write_existing("/proc/self/timens_offsets", text));
  if (setns_path("/proc/self/ns/time_for_children", CLONE_NEWTIME) < 0)
    return errno_error("enter the new time namespace");
  return ok();
}

}  // namespace berth::engine
