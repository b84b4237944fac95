// clone, export and import of containers (see move.h).
#include "manager/move.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/files.h"
#include "decl/render.h"
#include "decl/util.h"
#include "image/image.h"
#include "manager/declarations_internal.h"
#include "manager/manager.h"

namespace berth::manager {

using namespace detail;
using decl::KeyValues;
using decl::toml_string;

namespace {

// A new machine-id (32 hex digits) at TREE/etc/machine-id when the source
// had a non-empty one (in its own part, else in its image), as systemd
// expects of a copy of a system (machinectl clone does the same).
Result<bool> renew_machine_id(const decl::Paths& paths, const decl::Container& src,
                              const std::string& src_tree, const std::string& tree) {
  auto had = read_file(src_tree + "/etc/machine-id");
  if (!had && !src.image.empty())
    had = read_file(paths.image_rootfs(src.image) + "/etc/machine-id");
  if (!had || had->find_first_not_of(" \n") == std::string::npos) return false;
  unsigned char raw[16];
  if (::getrandom(raw, sizeof raw, 0) != static_cast<ssize_t>(sizeof raw))
    return errno_error("getrandom");
  std::string id;
  for (unsigned char b : raw) id += fmt::format("{:02x}", b);
  std::string etc = tree + "/etc";
  if (!path_exists(etc)) {
    // In a layer over an image: its etc as the image has it.
    struct stat st;
    std::string like = paths.image_rootfs(src.image) + "/etc";
    if (::stat(like.c_str(), &st) < 0) return errno_error("stat {}", like);
    if (::mkdir(etc.c_str(), st.st_mode & 07777) < 0 ||
        ::chown(etc.c_str(), st.st_uid, st.st_gid) < 0)
      return errno_error("mkdir {}", etc);
  }
  TRY(write_file_atomic(etc + "/machine-id", id + "\n", 0444));
  return true;
}

// Copies SRC's writable part for dst, whose declaration kv is; returns what
// to remove if the declaration cannot be written.
Result<std::string> clone_data(const decl::Paths& paths, const decl::Container& src,
                               const std::string& dst, KeyValues& kv,
                               std::vector<std::string>& notes) {
  std::string state = paths.container_state(dst);
  if (path_exists(state)) return make_error("{} exists (reset-state {} clears it)", state, dst);
  std::string from, to;
  if (!src.image.empty()) {
    from = paths.container_layer(src.name) + "/upper";
    to = paths.container_layer(dst) + "/upper";
  } else if (src.share_host) {
    from = paths.container_rootfs(src.name);
    to = paths.container_rootfs(dst);
  } else {
    from = src.path;
    to = state + "/tree";
    decl::set_key(kv, "path", toml_string(to));
  }
  if (!path_exists(from)) {
    notes.push_back(fmt::format("{} has never run: nothing of its own to copy", src.name));
    return state;
  }
  TRY(mkdir_p(to.substr(0, to.rfind('/')), 0755));
  auto copied = image::copy_tree(from, to);
  if (copied && !src.image.empty() &&
      ::mkdir((paths.container_layer(dst) + "/work").c_str(), 0755) < 0)
    copied = errno_error("mkdir {}/work", paths.container_layer(dst));
  if (!copied) {
    (void)remove_tree(state);
    return std::move(copied).error();
  }
  if (auto renewed = renew_machine_id(paths, src, from, to); !renewed) {
    (void)remove_tree(state);
    return std::move(renewed).error();
  }
  return state;
}

}  // namespace

Result<Cloned> clone(const decl::Paths& paths, const std::string& src, const std::string& dst) {
  auto lock = TRY(lock_declarations(paths));
  auto loaded = load_declarations(paths, false);
  if (!loaded.ok()) return make_error("the declarations are invalid:\n{}", loaded.error_text());
  const auto& decls = loaded.decls;
  auto it = decls.containers.find(src);
  if (it == decls.containers.end()) return make_error("no container \"{}\" is declared", src);
  const decl::Container& from = it->second;
  if (is_running(paths, src)) return make_error("{} is running; stop it first", src);
  if (!decl::valid_container_name(dst)) return make_error("bad name \"{}\"", dst);
  TRY(free_name(paths, decls, dst, false));
  Cloned out;
  auto kv = TRY(decl::declared_settings(from.file, src));
  if (decl::has_key(kv, "forward_ports")) {
    decl::erase_key(kv, "forward_ports");
    out.notes.push_back("forward_ports not cloned: their host ports are " + src + "'s");
  }
  bool allocated =
      from.private_network && from.host_bridge.empty() &&
      (from.host_address || from.local_address || from.host_address6 || from.local_address6);
  if (allocated) {
    for (const char* k : {"host_address", "local_address", "host_address6", "local_address6"})
      decl::erase_key(kv, k);
    TRY(allocate_addresses(decls, kv));
  }
  std::string file = paths.declarations_dir() + "/" + dst + ".toml";
  decl::Container mine = TRY(parse_one(dst, kv, file));
  TRY(check_collisions(mine, decls.containers));
  std::string state = TRY(clone_data(paths, from, dst, kv, out.notes));
  mine = TRY(parse_one(dst, kv, file));
  if (auto w = write_checked(paths, file, decl::render_container(dst, kv, "clone"), std::nullopt);
      !w) {
    (void)remove_tree(state);
    return std::move(w).error();
  }
  out.created = Created{dst, std::move(mine)};
  return out;
}

namespace {

const char* kind_of(const decl::Container& c) {
  return !c.image.empty() ? "image" : c.share_host ? "share_host" : "path";
}

// A directory STATE/.import-XXXXXX, removed with what is left in it.
class ImportDir {
 public:
  // Called under the declarations' lock, which every import holds while it
  // runs: any other .import-* is what a killed one left, and goes.
  static Result<ImportDir> make(const decl::Paths& paths) {
    TRY(mkdir_p(paths.state, 0755));
    if (UniqueFd state(::open(paths.state.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); state)
      if (auto names = dir_names(state.get()))
        for (auto& n : *names)
          if (n.starts_with(".import-")) (void)remove_tree(paths.state + "/" + n);
    std::string tmpl = paths.state + "/.import-XXXXXX";
    if (!::mkdtemp(tmpl.data())) return errno_error("make a directory in {}", paths.state);
    ImportDir d;
    d.path_ = tmpl;
    return d;
  }
  ImportDir(ImportDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ~ImportDir() {
    if (!path_.empty()) (void)remove_tree(path_);
  }
  const std::string& path() const { return path_; }

 private:
  ImportDir() = default;
  std::string path_;
};

Result<image::ExportInfo> read_export_info(const std::string& dir) {
  auto text = TRY_CTX(read_file(dir + "/berth-export.json"), "not a berth export");
  return TRY_CTX(image::parse_export_info(text), "berth-export.json");
}

// The image the imported container runs on here: one with its SHA-256
// already in the store, else the archive's tree added (renamed IMAGE-<12
// hex> when the name is taken by another). Sets *added when it added one.
Result<std::string> place_image(const decl::Paths& paths, const image::ExportInfo& info,
                                const std::string& tree, const std::string& origin, bool* added) {
  for (const std::string& name : {info.image, info.image + "-" + info.sha256.substr(0, 12)}) {
    if (auto m = image::read_metadata(paths, name)) {
      if (m->sha256 == info.sha256) return name;
      continue;  // another image of that name
    }
    if (path_exists(paths.images() + "/" + name)) continue;
    if (!path_exists(tree)) return make_error("the archive has no image/ tree");
    image::Metadata meta;
    meta.name = name;
    meta.origin = origin;
    meta.sha256 = info.sha256;
    meta.format = "tar";
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(tree, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_symlink(ec) && it->is_regular_file(ec))
        if (auto size = it->file_size(ec); !ec) meta.tree_bytes += size;
      meta.entries++;
    }
    TRY(image::adopt(paths, tree, meta));
    *added = true;
    return name;
  }
  return make_error("images {} and {}-{} are other images here", info.image, info.image,
                    info.sha256.substr(0, 12));
}

}  // namespace

Result<uint64_t> export_container(const decl::Paths& paths, const std::string& name,
                                  const std::string& file) {
  auto loaded = load_declarations(paths, false);
  auto it = loaded.decls.containers.find(name);
  if (it == loaded.decls.containers.end())
    return make_error("no container \"{}\" is declared", name);
  const decl::Container& c = it->second;
  if (is_running(paths, name)) return make_error("it is running; stop it first");
  auto kv = TRY(decl::declared_settings(c.file, name));
  nlohmann::json info = {{"format", image::kExportFormat}, {"name", name}, {"kind", kind_of(c)}};
  std::vector<image::BundlePart> parts;
  if (!c.image.empty()) {
    auto meta = TRY(image::read_metadata(paths, c.image));
    info["image"] = c.image;
    info["sha256"] = meta.sha256;
    parts.push_back({"image", paths.image_rootfs(c.image)});
    if (std::string upper = paths.container_layer(name) + "/upper"; path_exists(upper))
      parts.push_back({"layer", upper});
  } else if (c.share_host) {
    if (std::string root = paths.container_rootfs(name); path_exists(root))
      parts.push_back({"state", root});
  } else {
    parts.push_back({"tree", c.path});
  }
  std::vector<image::BundleFile> files = {{"berth-export.json", info.dump(2) + "\n"},
                                          {"declaration.toml", decl::render_container(name, kv)}};
  return image::write_bundle(file, files, parts);
}

Result<Imported> import_container(const decl::Paths& paths, const ImportRequest& req) {
  auto lock = TRY(lock_declarations(paths));
  auto loaded = load_declarations(paths, false);
  if (!loaded.ok()) return make_error("the declarations are invalid:\n{}", loaded.error_text());
  auto dir = TRY(ImportDir::make(paths));
  TRY(image::read_bundle(req.file, dir.path(), req.keep_setid, image::Limits{}));
  auto info = TRY(read_export_info(dir.path()));
  auto kv = TRY_CTX(decl::container_settings(dir.path() + "/declaration.toml", info.name),
                    "declaration.toml");
  Imported out;
  out.name = req.name.empty() ? info.name : req.name;
  if (!decl::valid_container_name(out.name)) return make_error("bad name \"{}\"", out.name);
  TRY(free_name(paths, loaded.decls, out.name, false));
  std::string state = paths.container_state(out.name);
  if (path_exists(state))
    return make_error("{} exists (`berth reset-state {}` clears it)", state, out.name);
  std::string origin = req.file == "-" ? std::string("berth import -") : "berth import " + req.file;
  if (info.kind == "image") {
    out.image = TRY(place_image(paths, info, dir.path() + "/image", origin, &out.image_added));
    if (out.image != info.image)
      out.notes.push_back(
          fmt::format("its image is {} here ({} is another image)", out.image, info.image));
    decl::set_key(kv, "image", toml_string(out.image));
  }
  auto undo = [&] {
    (void)remove_tree(state);
    if (out.image_added) (void)image::remove(paths, out.image, {});
  };
  auto place = [&]() -> Result<void> {
    TRY(mkdir_p(state, 0755));
    std::string from = dir.path() + "/" +
                       (info.kind == "image"  ? "layer"
                        : info.kind == "path" ? "tree"
                                              : "state");
    if (!path_exists(from)) return ok();  // it had never run
    if (info.kind == "image") {
      TRY(mkdir_p(state + "/layer", 0755));
      if (::rename(from.c_str(), (state + "/layer/upper").c_str()) < 0)
        return errno_error("rename {}", from);
      if (::mkdir((state + "/layer/work").c_str(), 0755) < 0)
        return errno_error("mkdir {}/layer/work", state);
    } else {
      std::string to = info.kind == "path" ? state + "/tree" : paths.container_rootfs(out.name);
      if (::rename(from.c_str(), to.c_str()) < 0) return errno_error("rename {}", from);
      if (info.kind == "path") decl::set_key(kv, "path", toml_string(to));
    }
    return ok();
  };
  std::string file = paths.declarations_dir() + "/" + out.name + ".toml";
  auto done = [&]() -> Result<void> {
    TRY(place());
    auto mine = TRY(parse_one(out.name, kv, file));
    TRY(check_collisions(mine, loaded.decls.containers));
    return write_checked(paths, file, decl::render_container(out.name, kv, "import"), std::nullopt);
  }();
  if (!done) {
    undo();
    return std::move(done).error();
  }
  return out;
}

}  // namespace berth::manager
