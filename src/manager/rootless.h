// A rootless berth (an ordinary user's, no --root): the ids of its
// containers' user namespaces and whether the host delegates it a cgroup.
// Root inside is the caller itself and 1.. its subordinate ids from
// /etc/subuid and /etc/subgid, as podman maps a rootless container; every
// container of the user shares that range (see README "Rootless berth").
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "decl/spec.h"
#include "manager/launch_spec.h"

namespace berth::manager {

struct SubidRange {
  uint32_t start = 0;
  uint32_t count = 0;
  bool operator==(const SubidRange&) const = default;
};

// The ranges of a subuid(5)/subgid(5) text whose owner (the first field) is
// user or its id in decimal, in file order, as shadow's newuidmap reads
// them; malformed and empty lines are skipped.
std::vector<SubidRange> parse_subids(std::string_view text, const std::string& user, uint32_t id);

// The maps: 0 -> own, then 1.. -> the ranges one after another (at most
// what the kernel takes: 340 lines in all).
std::vector<oci::IdMapping> maps_of(uint32_t own, const std::vector<SubidRange>& ranges);

// The caller's maps from subuid_file and subgid_file (/etc/subuid and
// /etc/subgid); no range of its there is an error naming the file and user.
Result<decl::SpecContext::UserMaps> rootless_maps(const std::string& subuid_file = "/etc/subuid",
                                                  const std::string& subgid_file = "/etc/subgid");

// "" when the caller may make the cgroup `relative` (/berth/NAME) in every
// hierarchy the engine would make it in (the nearest existing directory of
// each is writable by it), else why not: "no delegated cgroup for uid N".
std::string cgroup_not_delegated(const std::string& relative);

// What the monitor of a rootless berth's container runs it with.
struct RootlessRun {
  decl::SpecContext::UserMaps maps;
  // "" when the cgroup is delegated, else what status says of its limits:
  // "not applied (no delegated cgroup for uid N)"; it runs in the caller's
  // cgroups.
  std::string limits_note;
};
// "0 -> 1001, 1-65536 -> 100000-165535", as status shows a rootless
// container's maps.
std::string describe_maps(const std::vector<oci::IdMapping>& maps);
// nullopt for root (euid 0).
Result<std::optional<RootlessRun>> rootless_run(const decl::Container& c);

// The ids c's spec is compiled with (plan, spec, live updates), without
// recording a pick: a rootless berth's maps, else its uid base.
Result<void> ids_for_spec(LaunchInputs& in, const decl::Paths& paths, const decl::Container& c,
                          const decl::Declarations& decls);

// The line `start` prints when c declares limits that will not hold (a
// rootless berth without a delegated cgroup); "" otherwise.
std::string limits_warning(const decl::Container& c);

}  // namespace berth::manager
