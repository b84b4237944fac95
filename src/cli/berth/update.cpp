// berth update NAME: make one running container match its changed
// declaration (as nixos-container update does), the way `apply` would.
#include <cstdio>

#include "cli/berth/commands.h"
#include "cli/berth/util.h"
#include "manager/created.h"
#include "manager/manager.h"

namespace berth::cli {

void register_update(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto config_file = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "update",
      "apply a container's changed declaration: resources live, a restart when anything else "
      "changed, nothing when unchanged; says which and why");
  cmd->add_option("name", *name, "container name")->required();
  cmd->add_option(
         "--config-file", *config_file,
         "first replace the settings of a container made by `berth create` with this file's "
         "(as `create --config-file`; its addresses stay unless the file sets them)")
      ->type_name("FILE");
  cmd->callback([&ctx, name, config_file] {
    if (!config_file->empty()) {
      if (auto r = manager::replace_created_settings(ctx.paths(), *name, *config_file); !r) {
        std::fprintf(stderr, "berth: update %s: %s\n", name->c_str(), r.error().message.c_str());
        ctx.exit_code = 1;
        return;
      }
    }
    auto d = load_or_report(ctx);
    if (!d) {
      ctx.exit_code = 1;
      return;
    }
    auto r = manager::update(ctx.paths(), *d, *name, "/proc/self/exe");
    if (!r)
      std::fprintf(stderr, "berth: update %s: %s\n", name->c_str(),
                   one_line(r.error().message).c_str());
    ctx.exit_code = r ? 0 : 1;
  });
}

}  // namespace berth::cli
