// The spec a container runs with (see launch_spec.h).
#include "manager/launch_spec.h"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "base/files.h"
#include "decl/spec.h"
#include "manager/runtime.h"
#include "seccomp/seccomp.h"

namespace berth::manager {

namespace {

constexpr const char* kNotifyInContainer = "/run/host/notify";

// A container cannot get capabilities the monitor lacks (e.g. a host that
// withholds CAP_SYS_RESOURCE); drop those rather than fail.
void drop_unavailable_caps(oci::Spec& spec) {
  if (!spec.process || !spec.process->capabilities) return;
  auto keep = [](std::vector<std::string>& v) {
    std::erase_if(v, [](const std::string& name) {
      cap_value_t cap;
      std::string lower = name;
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (cap_from_name(lower.c_str(), &cap) < 0) return false;
      return ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1;
    });
  };
  auto& c = *spec.process->capabilities;
  keep(c.bounding);
  keep(c.effective);
  keep(c.inheritable);
  keep(c.permitted);
  keep(c.ambient);
}

}  // namespace

Result<oci::Spec> launch_spec(const decl::Paths& paths, const decl::Container& c,
                              const LaunchInputs& in) {
  decl::SpecContext ctx;
  ctx.paths = paths;
  ctx.picked_uid_base = in.uid_base;
  ctx.terminal = in.terminal;
  ctx.netns_path = in.netns_path;
  auto spec = TRY(decl::to_spec(c, ctx));
  // The notify socket's dir, on a /run tmpfs so that nothing is created in
  // the container's tree.
  bool has_run = std::any_of(spec.mounts.begin(), spec.mounts.end(),
                             [](const oci::Mount& m) { return m.destination == "/run"; });
  if (!has_run && path_exists(spec.root.path + "/run"))
    spec.mounts.push_back({"/run", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=755"}, {}, {}});
  if (has_run || path_exists(spec.root.path + "/run")) {
    spec.mounts.push_back(
        {kNotifyInContainer, "bind", RunDir(paths, c.name).notify_dir(), {"rbind", "rw"}, {}, {}});
    spec.process->env.push_back(fmt::format("NOTIFY_SOCKET={}/notify.sock", kNotifyInContainer));
  }
  drop_unavailable_caps(spec);
  if (c.seccomp && spec.linux && !spec.linux->seccomp)
    spec.linux->seccomp =
        TRY_CTX(oci::parse_seccomp(seccomp::default_profile()), "the default seccomp profile");
  return spec;
}

}  // namespace berth::manager
