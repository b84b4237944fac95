// Where berth keeps things on the host, all moved together by one --root (so
// tests never touch the real /etc, /var or /run). The CLI and the manager
// both derive every path from here.
#pragma once

#include <string>
#include <vector>

namespace berth::decl {

struct Paths {
  std::string root = "/";  // "/" or the --root given
  std::string etc;         // ROOT/etc/berth
  std::string state;       // ROOT/var/lib/berth
  std::string run;         // ROOT/run/berth
  std::string log;         // ROOT/var/log/berth

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

// The declaration files that exist: etc/containers.toml, etc/containers.json,
// then containers.d/*.toml and *.json sorted by name.
std::vector<std::string> default_declaration_files(const Paths& p);

}  // namespace berth::decl
