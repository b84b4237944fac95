// Snapshots of a container's writable part (see snapshot.h).
#include "manager/snapshot.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/files.h"
#include "base/unique_fd.h"
#include "decl/util.h"
#include "image/image.h"
#include "manager/manager.h"
#include "manager/private_root.h"

namespace berth::manager {

namespace {

std::string utc(const char* format) {
  time_t now = ::time(nullptr);
  struct tm tm;
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

Result<void> check_stopped(const decl::Paths& paths, const std::string& name) {
  if (is_running(paths, name)) return make_error("it is running; stop it first");
  return ok();
}

Result<void> check_snapshot_name(const std::string& snap) {
  if (!decl::valid_container_name(snap))
    return make_error("bad snapshot name \"{}\": expected lower-case letters, digits and '-'",
                      snap);
  return ok();
}

std::string info_file(const std::string& dir) {
  return dir + "/info.json";
}

Result<SnapshotInfo> read_info(const std::string& dir, const std::string& snap) {
  auto text = TRY(read_file(info_file(dir)));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return make_error("{}: not a JSON object", info_file(dir));
  SnapshotInfo i;
  i.name = snap;
  // Read field by field, type checked: value() would throw on a wrong type.
  auto str = [&](const char* k, std::string& out) {
    if (auto it = j.find(k); it != j.end() && it->is_string()) out = it->get<std::string>();
  };
  auto num = [&](const char* k, uint64_t& out) {
    if (auto it = j.find(k); it != j.end() && it->is_number_unsigned()) out = it->get<uint64_t>();
  };
  str("created", i.created);
  str("image", i.image);
  num("files", i.files);
  num("bytes", i.bytes);
  return i;
}

// Puts the tree at from in place of the one at to (which may not exist),
// through a rename: `to` is never half written.
Result<void> replace_tree(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_EXCHANGE) == 0)
    return remove_tree(from);  // now the old one
  if (errno != ENOENT) return errno_error("put {} in place of {}", from, to);
  if (::rename(from.c_str(), to.c_str()) < 0) return errno_error("rename {} to {}", from, to);
  return ok();
}

}  // namespace

std::string snapshots_dir(const decl::Paths& paths, const std::string& name) {
  return paths.state + "/snapshots/" + name;
}

Result<std::string> writable_tree(const decl::Paths& paths, const decl::Container& c) {
  if (!c.image.empty()) return TRY(ensure_layer(paths, c)) + "/upper";
  if (c.share_host) {
    std::string root = paths.container_rootfs(c.name);
    if (!path_exists(root)) return make_error("it has never run: it has nothing of its own yet");
    return root;
  }
  return c.path;
}

Result<SnapshotInfo> snapshot(const decl::Paths& paths, const decl::Container& c,
                              const std::string& snap_name) {
  std::string snap = snap_name.empty() ? utc("%Y%m%d-%H%M%S") : snap_name;
  TRY(check_snapshot_name(snap));
  TRY(check_stopped(paths, c.name));
  std::string tree = TRY(writable_tree(paths, c));
  std::string dir = snapshots_dir(paths, c.name), dest = dir + "/" + snap;
  if (path_exists(dest)) return make_error("{} already has a snapshot {}", c.name, snap);
  TRY(mkdir_p(dir, 0700));
  // Made whole in a temporary dir, then renamed: a crash leaves no half snapshot.
  std::string tmp = dir + "/.tmp-" + snap;
  (void)remove_tree(tmp);
  if (::mkdir(tmp.c_str(), 0700) < 0) return errno_error("mkdir {}", tmp);
  auto copied = image::copy_tree(tree, tmp + "/tree");
  if (!copied) {
    (void)remove_tree(tmp);
    return std::move(copied).error();
  }
  SnapshotInfo info{snap, utc("%Y-%m-%dT%H:%M:%SZ"), copied->files, copied->bytes, ""};
  if (!c.image.empty())
    if (auto m = image::read_metadata(paths, c.image))
      info.image = c.image + "@sha256:" + m->sha256;
  nlohmann::json j = {{"created", info.created},
                      {"files", info.files},
                      {"bytes", info.bytes},
                      {"reflinked", copied->reflinked}};
  if (!info.image.empty()) j["image"] = info.image;
  auto wrote = write_file_atomic(info_file(tmp), j.dump(2) + "\n", 0600);
  if (wrote && ::rename(tmp.c_str(), dest.c_str()) < 0) wrote = errno_error("rename {}", tmp);
  if (!wrote) {
    (void)remove_tree(tmp);
    return std::move(wrote).error();
  }
  return info;
}

Result<std::vector<SnapshotInfo>> snapshots(const decl::Paths& paths, const std::string& name) {
  std::vector<SnapshotInfo> out;
  std::string dir = snapshots_dir(paths, name);
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return out;
    return errno_error("open {}", dir);
  }
  for (auto& n : TRY_CTX(dir_names(fd.get()), "{}", dir)) {
    if (n.starts_with(".")) continue;  // temporaries
    auto info = read_info(dir + "/" + n, n);
    out.push_back(info ? *info : SnapshotInfo{n, "", 0, 0, ""});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
    return std::tie(a.created, a.name) < std::tie(b.created, b.name);
  });
  return out;
}

Result<void> restore(const decl::Paths& paths, const decl::Container& c, const std::string& snap) {
  TRY(check_snapshot_name(snap));
  TRY(check_stopped(paths, c.name));
  std::string src = snapshots_dir(paths, c.name) + "/" + snap;
  if (!path_exists(src + "/tree")) return make_error("{} has no snapshot {}", c.name, snap);
  std::string tree = TRY(writable_tree(paths, c));
  // Copied beside it (the same filesystem, for the rename), then swapped in.
  std::string tmp = tree + ".berth-restore";
  (void)remove_tree(tmp);
  TRY(image::copy_tree(src + "/tree", tmp));
  if (auto r = replace_tree(tmp, tree); !r) {
    (void)remove_tree(tmp);
    return r;
  }
  return ok();
}

Result<void> remove_snapshot(const decl::Paths& paths, const std::string& name,
                             const std::string& snap) {
  TRY(check_snapshot_name(snap));
  std::string dir = snapshots_dir(paths, name) + "/" + snap;
  if (!path_exists(dir)) return make_error("{} has no snapshot {}", name, snap);
  // Renamed away first: gone at once, and a crash leaves a temporary.
  std::string away = snapshots_dir(paths, name) + "/.removing-" + snap;
  (void)remove_tree(away);
  if (::rename(dir.c_str(), away.c_str()) < 0) return errno_error("rename {}", dir);
  return remove_tree(away);
}

}  // namespace berth::manager
