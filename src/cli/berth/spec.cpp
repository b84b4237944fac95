// berth spec NAME: the OCI config.json the container runs with.
#include <cstdio>

#include "cli/berth/commands.h"
#include "cli/berth/util.h"
#include "manager/console.h"
#include "manager/launch_spec.h"
#include "manager/private_root.h"
#include "manager/rootless.h"
#include "oci/spec.h"

namespace berth::cli {

void register_spec(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "spec",
      "print the OCI config.json the container runs with (capabilities, namespaces, mounts, "
      "seccomp); changes nothing");
  cmd->add_option("name", *name, "container name")->required();
  cmd->callback([&ctx, name] {
    auto d = load_or_report(ctx);
    if (!d) {
      ctx.exit_code = 1;
      return;
    }
    const decl::Container* found = find_or_report(*d, "spec", *name);
    if (!found) {
      ctx.exit_code = 1;
      return;
    }
    auto paths = ctx.paths();
    const decl::Container& c = *found;
    warn_if_privileged(c);
    manager::LaunchInputs in;
    in.terminal = manager::wants_console(c);
    // The range it runs (or would run) with, without recording a pick.
    if (auto ids = manager::ids_for_spec(in, paths, c, *d); !ids) {
      std::fprintf(stderr, "berth: spec %s: %s\n", name->c_str(),
                   one_line(ids.error().message).c_str());
      ctx.exit_code = 1;
      return;
    }
    auto spec = manager::launch_spec(paths, c, in);
    if (!spec) {
      std::fprintf(stderr, "berth: spec %s: %s\n", name->c_str(),
                   one_line(spec.error().message).c_str());
      ctx.exit_code = 1;
      return;
    }
    std::printf("%s\n", oci::to_json(*spec).dump(2).c_str());
    ctx.exit_code = 0;
  });
}

}  // namespace berth::cli
