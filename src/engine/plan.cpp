#include "engine/plan.h"

#include <sys/stat.h>

#include <climits>
#include <cstdlib>

#include "engine/namespaces.h"

namespace berth::engine {

Result<void> validate_for_create(const oci::Spec& spec, const CreateOptions& opts) {
  if (!spec.process) return make_error("process: is required to create a container");
  const oci::Process& p = *spec.process;
  if (p.args.empty()) return make_error("process.args: must not be empty");
  if (p.cwd.empty() || p.cwd[0] != '/')
    return make_error("process.cwd: must be an absolute path, got \"{}\"", p.cwd);
  if (spec.linux) {
    for (auto& ns : spec.linux->namespaces)
      if (!ns_info(ns.type)) return make_error("linux.namespaces: unknown type \"{}\"", ns.type);
    bool user = spec.linux->find_namespace("user") != nullptr;
    if (!user && (!spec.linux->uid_mappings.empty() || !spec.linux->gid_mappings.empty()))
      return make_error("linux.uidMappings: requires a user namespace");
    if (!spec.linux->time_offsets.empty() && !spec.linux->find_namespace("time"))
      return make_error("linux.timeOffsets: requires a time namespace");
  }
  if (p.terminal && opts.console_socket.empty() && !opts.console_out)
    return make_error(
        "cannot allocate tty if berth-oci will detach without setting console socket");
  if (!p.terminal && !opts.console_socket.empty())
    return make_error(
        "cannot use console socket if the container has no terminal (process.terminal is false)");
  return ok();
}

Result<std::string> resolve_rootfs(const oci::Spec& spec, const std::string& bundle) {
  std::string p = spec.root.path;
  if (p.empty()) return make_error("root.path: is required");
  if (p[0] != '/') p = bundle + "/" + p;
  char buf[PATH_MAX];
  if (!::realpath(p.c_str(), buf)) return errno_error("root.path {}", p);
  struct stat st;
  if (::stat(buf, &st) < 0 || !S_ISDIR(st.st_mode))
    return make_error("root.path {} is not a directory", buf);
  return std::string(buf);
}

}  // namespace berth::engine
