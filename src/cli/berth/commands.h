// The `berth` subcommands; main.cpp registers each of them.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/berth/context.h"

namespace berth::cli {

void register_check(CLI::App& app, Context& ctx);
// The manager's verbs (lifecycle.cpp, status.cpp, run.cpp, apply.cpp, create.cpp).
void register_start(CLI::App& app, Context& ctx);
void register_stop(CLI::App& app, Context& ctx);
void register_restart(CLI::App& app, Context& ctx);
void register_reboot(CLI::App& app, Context& ctx);
void register_terminate(CLI::App& app, Context& ctx);
void register_monitor(CLI::App& app, Context& ctx);
void register_status(CLI::App& app, Context& ctx);
void register_list(CLI::App& app, Context& ctx);
void register_show_ip(CLI::App& app, Context& ctx);
void register_run(CLI::App& app, Context& ctx);
void register_logs(CLI::App& app, Context& ctx);
void register_apply(CLI::App& app, Context& ctx);
void register_plan(CLI::App& app, Context& ctx);
void register_boot(CLI::App& app, Context& ctx);
void register_create(CLI::App& app, Context& ctx);
void register_destroy(CLI::App& app, Context& ctx);
void register_reset_state(CLI::App& app, Context& ctx);
void register_generate(CLI::App& app, Context& ctx);
void register_update(CLI::App& app, Context& ctx);  // update.cpp
void register_spec(CLI::App& app, Context& ctx);    // spec.cpp
// machinectl's kill, enable, disable (control.cpp), copy-to, copy-from (copy.cpp),
// bind, unbind (bind.cpp).
void register_kill(CLI::App& app, Context& ctx);
void register_enable(CLI::App& app, Context& ctx);
void register_disable(CLI::App& app, Context& ctx);
void register_copy_to(CLI::App& app, Context& ctx);
void register_copy_from(CLI::App& app, Context& ctx);
void register_bind(CLI::App& app, Context& ctx);
void register_unbind(CLI::App& app, Context& ctx);
// Consoles and interactive sessions (login.cpp).
void register_login(CLI::App& app, Context& ctx);
void register_root_login(CLI::App& app, Context& ctx);
void register_shell(CLI::App& app, Context& ctx);
void register_show_host_key(CLI::App& app, Context& ctx);
// snapshot, snapshots, restore, snapshot-remove, clone, export, import (snapshot.cpp).
void register_snapshots(CLI::App& app, Context& ctx);
// The image store: image import|list|remove|export (image.cpp).
void register_image(CLI::App& app, Context& ctx);
// Shell completion and the man page (docs.cpp); registered last: they
// describe every command registered before them.
void register_docs(CLI::App& app, Context& ctx);

}  // namespace berth::cli
