#include "engine/idmap.h"

#include <fcntl.h>
#include <linux/mount.h>

#include "engine/mount_options.h"
#include "engine/rootfs.h"

namespace berth::engine {

Result<UniqueFd> idmapped_tree(const std::string& source, int userns_fd, const IdmapOptions& o,
                               Sys& sys) {
  int fd = sys.open_tree(AT_FDCWD, source.c_str(),
                         OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (o.recursive ? AT_RECURSIVE : 0));
  if (fd < 0) return errno_error("open_tree {}", source);
  UniqueFd tree(fd);
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_IDMAP | (o.readonly ? MOUNT_ATTR_RDONLY : 0);
  attr.userns_fd = static_cast<uint64_t>(userns_fd);
  if (sys.mount_setattr(tree.get(), "", AT_EMPTY_PATH | (o.recursive_idmap ? AT_RECURSIVE : 0),
                        &attr) < 0) {
    if (errno == EINVAL || errno == EPERM || errno == EOPNOTSUPP)
      return errno_error(
          "idmapped mount of {} (the filesystem or kernel may not support idmapped mounts)",
          source);
    return errno_error("idmap {}", source);
  }
  return tree;
}

Result<void> attach_tree(int tree, int dirfd, const std::string& where, Sys& sys) {
  unsigned flags = MOVE_MOUNT_F_EMPTY_PATH | (where.empty() ? MOVE_MOUNT_T_EMPTY_PATH : 0);
  if (sys.move_mount(tree, "", dirfd, where.c_str(), flags) < 0) return errno_error("move_mount");
  return ok();
}

Result<UniqueFd> make_idmapped_tree(const oci::Mount& m, const std::string& bundle, int userns_fd,
                                    Sys& sys) {
  MountFlags mf = parse_mount_options(m.options);
  std::string src = m.source;
  if (!src.empty() && src[0] != '/') src = bundle + "/" + src;
  IdmapOptions o;
  o.recursive = mf.recursive || mf.recursive_idmap;
  o.recursive_idmap = mf.recursive_idmap;
  return idmapped_tree(src, userns_fd, o, sys);
}

}  // namespace berth::engine
