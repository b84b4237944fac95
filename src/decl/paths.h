// Where berth keeps things on the host, all moved together by one --root (so
// tests never touch the real /etc, /var or /run), or, for an ordinary user
// with no --root, under its own XDG directories (rootless, podman's layout).
// The CLI and the manager both derive every path from here.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace berth::decl {

struct Paths {
  std::string root = "/";  // "/" or the --root given
  std::string etc;         // ROOT/etc/berth
  std::string state;       // ROOT/var/lib/berth
  std::string run;         // ROOT/run/berth
  std::string log;         // ROOT/var/log/berth
  // A rootless berth's own layout (user_paths): the host's files (hosts,
  // resolv.conf) are still root's "/".
  bool user = false;

  // root "" or "/" gives the real host paths.
  static Paths under(const std::string& root);

  std::string declarations_file() const;                        // etc/containers.toml
  std::string declarations_dir() const;                         // etc/containers.d
  std::string summary_conf(const std::string& name) const;      // etc/NAME.conf
  std::string container_state(const std::string& name) const;   // state/containers/NAME
  std::string container_rootfs(const std::string& name) const;  // state/containers/NAME/rootfs
  // The writable layer of a container on an image: state/containers/NAME/layer,
  // holding upper/ and work/ of its overlay.
  std::string container_layer(const std::string& name) const;
  std::string images() const;                                // state/images
  std::string image_rootfs(const std::string& name) const;   // state/images/NAME/rootfs
  std::string container_run(const std::string& name) const;  // run/NAME
  std::string container_log(const std::string& name) const;  // log/NAME.log
};

// The root to use: the --root value if given (non-empty), else $BERTH_ROOT,
// else "/"; made absolute against the working directory.
std::string resolve_root(const std::string& cli_value);

// An ordinary user's layout, from env (HOME, XDG_CONFIG_HOME, XDG_DATA_HOME,
// XDG_RUNTIME_DIR; a relative XDG value is ignored, as the XDG spec says):
// etc $XDG_CONFIG_HOME/berth (~/.config/berth), state $XDG_DATA_HOME/berth
// (~/.local/share/berth), log state/log, run $XDG_RUNTIME_DIR/berth. No
// XDG_RUNTIME_DIR is an error: a runtime dir in /tmp would outlive the
// user's session and be guessable by others.
using Getenv = const char* (*)(const char*);
Result<Paths> user_paths(Getenv getenv);

// What berth uses: --root (or $BERTH_ROOT) when given or when the caller is
// root (euid 0), else user_paths of the environment.
Result<Paths> resolve_paths(const std::string& cli_value);

// Makes a rootless layout's own directories (etc, state, run) 0700, with
// missing parents, so that other users see nothing of it.
Result<void> make_user_dirs(const Paths& p);

// The declaration files that exist: etc/containers.toml, etc/containers.json,
// then containers.d/*.toml and *.json sorted by name.
std::vector<std::string> default_declaration_files(const Paths& p);

}  // namespace berth::decl
