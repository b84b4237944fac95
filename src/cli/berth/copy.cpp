// berth copy-to NAME HOST_PATH [PATH], copy-from NAME PATH [HOST_PATH] (as
// machinectl's): a file or a directory tree into or out of a running
// container. manager/copy.h does the copying.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/berth/commands.h"
#include "cli/berth/util.h"
#include "manager/copy.h"

namespace berth::cli {

namespace {

struct Opts {
  std::string name, from, to;
};

int report(const char* verb, const std::string& name, const Result<manager::CopyReport>& r) {
  if (!r) {
    std::fprintf(stderr, "berth: %s %s: %s\n", verb, name.c_str(),
                 one_line(r.error().message).c_str());
    return 1;
  }
  for (auto& s : r->skipped)
    std::fprintf(stderr, "berth: %s %s: skipped %s\n", verb, name.c_str(), s.c_str());
  return 0;
}

// The path on the other side when none is given: the same one, absolute.
std::string same_path(const std::string& p) {
  return std::filesystem::absolute(p).lexically_normal().string();
}

std::shared_ptr<Opts> add_paths(CLI::App* cmd, const char* from, const char* from_help,
                                const char* to, const char* to_help) {
  auto o = std::make_shared<Opts>();
  cmd->add_option("name", o->name, "container name")->required();
  cmd->add_option(from, o->from, from_help)->required();
  cmd->add_option(to, o->to, to_help);
  return o;
}

}  // namespace

void register_copy_to(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "copy-to",
      "copy a file or a directory tree from the host into a running container (owned by its "
      "root; symlinks as symlinks; mode and times kept)");
  auto o = add_paths(cmd, "host_path", "the file or directory on the host", "path",
                     "its name in the container (default: HOST_PATH)");
  cmd->callback([&ctx, o] {
    std::string to = o->to.empty() ? same_path(o->from) : o->to;
    ctx.exit_code = report("copy-to", o->name, manager::copy_to(ctx.paths(), o->name, o->from, to));
  });
}

void register_copy_from(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "copy-from",
      "copy a file or a directory tree out of a running container (owned by the caller; "
      "symlinks as symlinks; mode and times kept)");
  auto o = add_paths(cmd, "path", "the file or directory in the container", "host_path",
                     "its name on the host (default: PATH)");
  cmd->callback([&ctx, o] {
    std::string to = o->to.empty() ? o->from : o->to;
    ctx.exit_code =
        report("copy-from", o->name, manager::copy_from(ctx.paths(), o->name, o->from, to));
  });
}

}  // namespace berth::cli
