// The spec a container runs with (see launch_spec.h).
#include "manager/launch_spec.h"

#include <sys/prctl.h>

#include "decl/spec.h"
#include "image/image.h"
#include "manager/resolv.h"
#include "manager/runtime.h"
#include "seccomp/seccomp.h"

namespace berth::manager {

namespace {

// This process's bounding set: what a container it starts can be given.
// Read once: berth never drops from its own.
uint64_t bounding_set() {
  static const uint64_t set = [] {
    uint64_t bits = 0;
    for (int cap = 0; cap < 64; cap++) {
      int r = ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
      if (r < 0) break;  // past the kernel's last capability
      if (r == 1) bits |= uint64_t{1} << cap;
    }
    return bits;
  }();
  return set;
}

// Parsed once per process (plan compiles every running container's spec)
// until release_launch_caches().
std::optional<Result<oci::Seccomp>>& parsed_default_seccomp() {
  static std::optional<Result<oci::Seccomp>> parsed;
  return parsed;
}

Result<oci::Seccomp> default_seccomp() {
  auto& parsed = parsed_default_seccomp();
  if (!parsed) parsed = oci::parse_seccomp(seccomp::default_profile());
  if (!*parsed) return parsed->error().wrap("the default seccomp profile");
  return **parsed;
}

}  // namespace

void release_launch_caches() {
  parsed_default_seccomp().reset();
}

Result<decl::SpecContext> host_context(const decl::Paths& paths, const decl::Container& c,
                                       const LaunchInputs& in) {
  decl::SpecContext ctx;
  ctx.paths = paths;
  ctx.picked_uid_base = in.uid_base;
  ctx.terminal = in.terminal;
  ctx.netns_path = in.netns_path;
  ctx.notify_dir = RunDir(paths, c.name).notify_dir();
  ctx.grantable_capabilities = bounding_set();
  if (c.seccomp) ctx.default_seccomp = TRY(default_seccomp());
  return ctx;
}

Result<oci::Spec> launch_spec(const decl::Paths& paths, const decl::Container& c,
                              const LaunchInputs& in) {
  auto spec = TRY(decl::to_spec(c, TRY(host_context(paths, c, in))));
  // Which import of the image: another one under the same name changes the
  // spec, so plan and apply restart the containers on it.
  if (!c.image.empty()) {
    auto meta = TRY_CTX(image::read_metadata(paths, c.image), "image");
    spec.annotations[std::string(kImageAnnotation)] = c.image + "@sha256:" + meta.sha256;
  }
  // resolv_conf = "bind-host"/"bind-uplink": the host's file, read-only.
  using RC = decl::ResolvConf;
  if (c.resolv_conf != RC::BindHost && c.resolv_conf != RC::BindUplink) return spec;
  if (auto rs = resolv_setup(paths, c); rs.action == ResolvSetup::Action::Bind)
    spec.mounts.push_back({"/etc/resolv.conf",
                           "bind",
                           rs.bind_source,
                           {"bind", "ro", "nosuid", "nodev", "noexec"},
                           {},
                           {}});
  return spec;
}

}  // namespace berth::manager
