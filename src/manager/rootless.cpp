// A rootless berth's ids and cgroups (see rootless.h).
#include "manager/rootless.h"

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/files.h"
#include "base/parse.h"
#include "cgroup/cgroup.h"
#include "manager/private_root.h"

namespace berth::manager {

namespace {

// user_namespaces(7): an id map holds at most 340 lines.
constexpr size_t kMaxMapLines = 340;

std::string user_name(uid_t uid) {
  struct passwd* pw = ::getpwuid(uid);
  return pw ? pw->pw_name : std::to_string(uid);
}

Result<std::vector<oci::IdMapping>> maps_from(const std::string& file, const std::string& user,
                                              uint32_t own, uint32_t id) {
  auto text = read_file(file);
  std::vector<SubidRange> ranges;
  if (text) ranges = parse_subids(*text, user, id);
  if (ranges.empty())
    return make_error(
        "no subordinate ids for user {} (uid {}) in {}: a rootless berth maps its containers' "
        "ids there (as root: usermod --add-subuids FIRST-LAST --add-subgids FIRST-LAST {})",
        user, ::geteuid(), file, user);
  return maps_of(own, ranges);
}

}  // namespace

std::vector<SubidRange> parse_subids(std::string_view text, const std::string& user, uint32_t id) {
  std::vector<SubidRange> out;
  std::string id_text = std::to_string(id);
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    size_t a = line.find(':');
    size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    std::string_view owner = line.substr(0, a);
    if (owner != user && owner != id_text) continue;
    auto start = parse_int<uint32_t>(line.substr(a + 1, b - a - 1));
    auto count = parse_int<uint32_t>(line.substr(b + 1));
    if (!start || !count || *count == 0 || uint64_t{*start} + *count > uint64_t{1} << 32) continue;
    out.push_back({*start, *count});
  }
  return out;
}

std::vector<oci::IdMapping> maps_of(uint32_t own, const std::vector<SubidRange>& ranges) {
  std::vector<oci::IdMapping> out = {{0, own, 1}};
  uint64_t next = 1;
  for (auto& r : ranges) {
    if (out.size() == kMaxMapLines || next + r.count > UINT32_MAX) break;
    out.push_back({static_cast<uint32_t>(next), r.start, r.count});
    next += r.count;
  }
  return out;
}

Result<decl::SpecContext::UserMaps> rootless_maps(const std::string& subuid_file,
                                                  const std::string& subgid_file) {
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  std::string user = user_name(uid);
  decl::SpecContext::UserMaps m;
  m.uids = TRY(maps_from(subuid_file, user, uid, uid));
  m.gids = TRY(maps_from(subgid_file, user, gid, uid));
  return m;
}

std::string cgroup_not_delegated(const std::string& relative) {
  std::string why = fmt::format("no delegated cgroup for uid {}", ::geteuid());
  auto layout = cgroup::detect();
  if (!layout) return why;
  std::vector<std::string> mounts;
  if (!layout->unified.empty()) mounts.push_back(layout->unified);
  for (auto& [mount, controllers] : layout->v1) mounts.push_back(mount);
  for (auto& mount : mounts) {
    std::filesystem::path p = mount + relative;
    while (!path_exists(p.string()) && p.has_parent_path() && p != p.parent_path())
      p = p.parent_path();
    if (::faccessat(AT_FDCWD, p.c_str(), W_OK | X_OK, AT_EACCESS) != 0) return why;
  }
  return "";
}

std::string describe_maps(const std::vector<oci::IdMapping>& maps) {
  std::vector<std::string> parts;
  auto span = [](uint64_t a, uint64_t n) {
    return n == 1 ? std::to_string(a) : fmt::format("{}-{}", a, a + n - 1);
  };
  for (auto& m : maps)
    parts.push_back(fmt::format("{} -> {}", span(m.container_id, m.size), span(m.host_id, m.size)));
  return fmt::format("{}", fmt::join(parts, ", "));
}

Result<std::optional<RootlessRun>> rootless_run(const decl::Container& c) {
  if (::geteuid() == 0) return std::optional<RootlessRun>();
  RootlessRun r;
  r.maps = TRY(rootless_maps());
  if (auto why = cgroup_not_delegated(decl::cgroup_path_of(c)); !why.empty())
    r.limits_note = "not applied (" + why + ")";
  return std::optional<RootlessRun>(std::move(r));
}

Result<void> ids_for_spec(LaunchInputs& in, const decl::Paths& paths, const decl::Container& c,
                          const decl::Declarations& decls) {
  if (::geteuid() != 0)
    in.rootless_maps = TRY(rootless_maps());
  else
    in.uid_base = TRY(uid_base_of(paths, c, decls, /*record=*/false));
  return ok();
}

std::string limits_warning(const decl::Container& c) {
  if (::geteuid() == 0) return "";
  std::vector<std::string> keys;
  if (c.resources.memory) keys.push_back("memory");
  if (c.resources.cpu) keys.push_back("cpu");
  if (c.resources.pids) keys.push_back("pids");
  if (c.resources.io_weight) keys.push_back("io_weight");
  if (keys.empty()) return "";
  std::string why = cgroup_not_delegated(decl::cgroup_path_of(c));
  if (why.empty()) return "";
  return fmt::format(
      "warning: containers.{}: resources ({}) not applied: {}; it runs without "
      "limits",
      c.name, fmt::join(keys, ", "), why);
}

}  // namespace berth::manager
