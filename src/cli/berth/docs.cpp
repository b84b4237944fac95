// berth completion bash|zsh, berth man: generated from this command line
// (cli/doc), so they offer exactly what berth accepts.
#include <cstdio>

#include "cli/berth/commands.h"
#include "cli/doc/clidoc.h"

namespace berth::cli {
namespace {

clidoc::Program program() {
  clidoc::Program p;
  p.name = "berth";
  p.summary = "declarative, lightweight system containers";
  p.names_command = "list --names";
  p.man_extra = R"(.SH FILES
.TP
.I /etc/berth/containers.toml
the declarations (also *.toml and *.json in /etc/berth/containers.d)
.TP
.I /var/lib/berth
state: created containers' declarations, the trees of ephemeral containers
.TP
.I /run/berth
runtime: each running container's monitor socket, status and engine state
.TP
.I /var/log/berth
each container's log (its console and berth's notes)
.PP
\fB\-\-root\fR \fIDIR\fR (or \fBBERTH_ROOT\fR) moves all of them under \fIDIR\fR.
Without either, an ordinary user's berth (rootless) keeps declarations in
\fI$XDG_CONFIG_HOME/berth\fR (\fI~/.config/berth\fR), state and logs in
\fI$XDG_DATA_HOME/berth\fR (\fI~/.local/share/berth\fR) and runtime state in
\fI$XDG_RUNTIME_DIR/berth\fR, which must be set.
.SH EXIT STATUS
0 on success; 1 when the command failed (one line on standard error says why); 2 for a usage
error; \fBrun\fR passes the command's own status through (125 when it could not be run).
.SH SEE ALSO
.BR berth\-oci (1),
.BR systemd\-nspawn (1),
.BR machinectl (1)
)";
  return p;
}

}  // namespace

void register_docs(CLI::App& app, Context& ctx) {
  auto shell = std::make_shared<std::string>();
  auto* comp =
      app.add_subcommand("completion",
                         "print the shell completion script for bash or zsh (generated from this "
                         "command line)");
  comp->add_option("shell", *shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  comp->callback([&app, &ctx, shell] {
    std::string out = *shell == "bash" ? clidoc::bash_completion(app, program())
                                       : clidoc::zsh_completion(app, program());
    std::fputs(out.c_str(), stdout);
    ctx.exit_code = 0;
  });
  auto* man = app.add_subcommand("man",
                                 "print berth's man page (roff; generated from this "
                                 "command line)");
  man->callback([&app, &ctx] {
    std::fputs(clidoc::man_page(app, program()).c_str(), stdout);
    ctx.exit_code = 0;
  });
}

}  // namespace berth::cli
