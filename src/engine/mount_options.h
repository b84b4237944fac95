// Mount option strings (as in config.json and fstab) turned into mount(2)
// flags, propagation flags, mount_setattr attributes and the data string.
#pragma once

#include <string>
#include <vector>

namespace berth::engine {

struct MountFlags {
  unsigned long flags = 0;        // MS_* for the mount itself
  unsigned long propagation = 0;  // MS_SHARED/MS_PRIVATE/... (| MS_REC)
  unsigned long clear = 0;        // flags an option turned off (e.g. "rw", "suid")
  bool bind = false, recursive = false;
  bool idmap = false, recursive_idmap = false;
  bool nosymfollow = false;
  std::string data;  // everything else, comma-joined
};

MountFlags parse_mount_options(const std::vector<std::string>& options);
// The option names berth knows (for `features`).
std::vector<std::string> known_mount_options();
// A path as an overlayfs layer option value: overlayfs splits options on ','
// and lowerdir on ':', and a backslash escapes them.
std::string overlay_escape(const std::string& path);

}  // namespace berth::engine
