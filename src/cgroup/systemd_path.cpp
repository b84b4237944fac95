// systemd's "slice:prefix:name" cgroupsPath on cgroupfs. runc and crun take
// that form only with their systemd driver; with cgroupfs they make a
// directory literally named "system.slice:docker:abc" (crun below the
// hierarchy root, runc below its own cgroup). berth has no systemd driver,
// and a systemd-style path here means the caller (containerd with
// SystemdCgroup = true, kubelet with the systemd driver) expects systemd's
// layout, so it is placed where systemd would put that unit:
// /system.slice/docker-abc.scope, "a-b.slice" expanded to /a.slice/a-b.slice.
#include "cgroup/cgroup.h"

#include <vector>

namespace berth::cgroup {
namespace {

constexpr std::string_view kSlice = ".slice";

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::string> split_colons(const std::string& s) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == ':')
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

// Characters systemd accepts in a unit name (unit_name_is_valid).
bool valid_unit_chars(const std::string& s) {
  for (unsigned char c : s)
    if (!(std::isalnum(c) || c == ':' || c == '-' || c == '_' || c == '.' || c == '\\' || c == '@'))
      return false;
  return true;
}

}  // namespace

bool is_systemd_cgroups_path(const std::string& p) {
  if (p.empty() || p[0] == '/') return false;
  auto parts = split_colons(p);
  return parts.size() == 3 && (parts[0].empty() || ends_with(parts[0], kSlice));
}

Result<std::string> expand_slice(const std::string& slice) {
  if (!ends_with(slice, kSlice) || slice.size() == kSlice.size())
    return make_error("slice {:?}: must be NAME.slice", slice);
  if (slice.find('/') != std::string::npos || !valid_unit_chars(slice))
    return make_error("slice {:?}: not a valid unit name", slice);
  std::string stem = slice.substr(0, slice.size() - kSlice.size());
  if (stem == "-") return std::string("/");  // the root slice
  // Each dash starts a child: "a-b-c" is a.slice/a-b.slice/a-b-c.slice, so
  // empty parts (a leading, trailing or double dash) name nothing.
  if (stem.front() == '-' || stem.back() == '-' || stem.find("--") != std::string::npos)
    return make_error("slice {:?}: a dash may not lead, trail or repeat", slice);
  std::string path, prefix;
  size_t start = 0;
  for (;;) {
    size_t dash = stem.find('-', start);
    prefix = stem.substr(0, dash);
    path += "/" + prefix + std::string(kSlice);
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  return path;
}

Result<std::string> systemd_cgroups_path_to_cgroupfs(const std::string& p) {
  auto parts = split_colons(p);
  if (parts.size() != 3)
    return make_error("cgroupsPath {:?}: expected systemd's \"slice:prefix:name\"", p);
  std::string slice = parts[0].empty() ? "system.slice" : parts[0];  // runc's default
  const std::string& prefix = parts[1];
  const std::string& name = parts[2];
  auto base = expand_slice(slice);
  if (!base) return std::move(base).error().wrap(fmt::format("cgroupsPath {:?}", p));
  if (name.empty()) return make_error("cgroupsPath {:?}: the name part is empty", p);
  for (auto* part : {&prefix, &name})
    if (part->find('/') != std::string::npos || !valid_unit_chars(*part) || *part == "." ||
        *part == "..")
      return make_error("cgroupsPath {:?}: {:?} is not valid in a unit name", p, *part);
  // A name that is itself a slice is made as that slice, as runc does;
  // anything else becomes a scope, "prefix-name.scope".
  std::string unit = ends_with(name, kSlice) ? name
                     : prefix.empty()        ? name + ".scope"
                                             : prefix + "-" + name + ".scope";
  return (*base == "/" ? "" : *base) + "/" + unit;
}

}  // namespace berth::cgroup
