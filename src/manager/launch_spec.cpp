// The spec a container runs with (see launch_spec.h).
#include "manager/launch_spec.h"

#include <fcntl.h>
#include <sys/prctl.h>

#include <sstream>

#include <fmt/format.h>

#include "base/files.h"
#include "base/parse.h"
#include "decl/spec.h"
#include "engine/rootfs.h"
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

// A file of the image's /etc, read with its symlinks resolved inside the
// tree; "" when it is not there.
std::string image_etc_file(const std::string& rootfs, const char* path) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return "";
  auto at = engine::open_in_root(root.get(), path, engine::Create::No);
  if (!at) return "";
  UniqueFd fd(::open(fmt::format("/proc/self/fd/{}", at->get()).c_str(), O_RDONLY | O_CLOEXEC));
  auto text = fd ? read_fd(fd.get()) : Result<std::string>(make_error("unreadable"));
  return text ? *text : "";
}

// The entry of an /etc/passwd or /etc/group text whose name (field 1) or,
// by_id, id (field 3) is key: its id and, for passwd, its primary group.
std::optional<std::pair<uint32_t, uint32_t>> entry_of(const std::string& text,
                                                      const std::string& key, bool by_id) {
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l);) {
    std::vector<std::string> f;
    std::istringstream fields(l);
    for (std::string x; std::getline(fields, x, ':');) f.push_back(x);
    if (f.size() < 3 || (by_id ? f[2] : f[0]) != key) continue;
    auto id = parse_int<uint32_t>(f[2]);
    auto group = f.size() > 3 ? parse_int<uint32_t>(f[3]) : std::optional<uint32_t>();
    if (id) return std::make_pair(*id, group.value_or(*id));
  }
  return std::nullopt;
}

// An OCI config's User, "user[:group]", each a number or a name of the
// image's files (as Docker: a user's group is its primary one, else 0).
Result<std::pair<uint32_t, uint32_t>> image_user(const std::string& rootfs,
                                                 const std::string& user) {
  size_t colon = user.find(':');
  std::string u = user.substr(0, colon),
              g = colon == std::string::npos ? "" : user.substr(colon + 1);
  std::string passwd = image_etc_file(rootfs, "/etc/passwd");
  auto numeric = parse_int<uint32_t>(u);
  auto found = entry_of(passwd, u, numeric.has_value());
  if (!numeric && !found) return make_error("no user {} in its /etc/passwd", u);
  uint32_t uid = numeric ? *numeric : found->first;
  uint32_t gid = found ? found->second : 0;
  if (g.empty()) return std::make_pair(uid, gid);
  if (auto n = parse_int<uint32_t>(g)) return std::make_pair(uid, *n);
  auto group = entry_of(image_etc_file(rootfs, "/etc/group"), g, false);
  if (!group) return make_error("no group {} in its /etc/group", g);
  return std::make_pair(uid, group->first);
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
  ctx.rootless_maps = in.rootless_maps;
  ctx.terminal = in.terminal;
  ctx.netns_path = in.netns_path;
  ctx.notify_dir = RunDir(paths, c.name).notify_dir();
  ctx.grantable_capabilities = bounding_set();
  if (c.seccomp) ctx.default_seccomp = TRY(default_seccomp());
  return ctx;
}

Result<oci::Spec> launch_spec(const decl::Paths& paths, const decl::Container& c,
                              const LaunchInputs& in) {
  std::optional<image::Metadata> meta;
  if (!c.image.empty()) meta = TRY_CTX(image::read_metadata(paths, c.image), "image");
  // A command container on an OCI image: its config's command and
  // environment where the declaration gives none.
  const image::OciConfig* config = meta && meta->config && !c.boot ? &*meta->config : nullptr;
  decl::Container filled;
  if (config) {
    filled = c;
    if (filled.command.empty()) {
      filled.command = config->entrypoint;
      filled.command.insert(filled.command.end(), config->cmd.begin(), config->cmd.end());
    }
    for (auto& kv : config->env)
      if (auto eq = kv.find('='); eq != std::string::npos && eq > 0)
        filled.environment.emplace(kv.substr(0, eq), kv.substr(eq + 1));  // the declared win
  }
  const decl::Container& use = config ? filled : c;
  if (!use.boot && use.command.empty())
    return make_error(
        "containers.{}: no command, and image {} gives none (an OCI image's Entrypoint or Cmd)",
        c.name, c.image);
  auto spec = TRY(decl::to_spec(use, TRY(host_context(paths, use, in))));
  if (meta) {
    // Which import of the image: another one under the same name changes
    // the spec, so plan and apply restart the containers on it.
    spec.annotations[std::string(kImageAnnotation)] = c.image + "@sha256:" + meta->sha256;
    if (config && !config->working_dir.empty() && spec.process)
      spec.process->cwd = config->working_dir;
    if (config && !config->user.empty() && spec.process) {
      auto [uid, gid] = TRY_CTX(image_user(paths.image_rootfs(c.image), config->user),
                                "image {}: User {}", c.image, config->user);
      spec.process->user.uid = uid;
      spec.process->user.gid = gid;
    }
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
