// `berth image import-oci`: an OCI image layout (a directory, or the tar of
// one that `podman save --format oci-archive` and skopeo write) into the
// store: the manifest of the tag asked for, its layers applied in order
// (whiteouts and opaque directories as the image spec says), its config's
// Env, Entrypoint, Cmd, WorkingDir and User kept for command containers.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "image/internal.h"

namespace berth::image {

namespace {

constexpr const char* kRefName = "org.opencontainers.image.ref.name";
constexpr size_t kMaxJson = 4 << 20;

// PATH[:TAG]: a tag is what follows the last ':' when no '/' follows it and
// the whole is not itself a path that exists.
std::pair<std::string, std::string> split_source(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || s.find('/', colon) != std::string::npos || path_exists(s))
    return {s, ""};
  return {s.substr(0, colon), s.substr(colon + 1)};
}

// The file of a blob; only sha256 digests, which also keeps the path in blobs/.
Result<std::string> blob_path(const std::string& layout, const std::string& digest) {
  if (!digest.starts_with("sha256:") || !is_sha256_hex(digest.substr(7)))
    return make_error("digest \"{}\": expected sha256: and 64 hex digits", digest);
  return layout + "/blobs/sha256/" + digest.substr(7);
}

Result<nlohmann::json> parse_object(const std::string& text, const std::string& what) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return make_error("{}: expected a JSON object", what);
  return j;
}

// Files of the layout are opened without following a symlink: one in an
// archive could name any file of the host.
Result<UniqueFd> open_plain(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) < 0) return errno_error("{}", path);
  if (!S_ISREG(st.st_mode)) return make_error("{}: not a regular file", path);
  return fd;
}

Result<std::string> read_small(const std::string& path) {
  auto fd = TRY(open_plain(path));
  struct stat st;
  if (::fstat(fd.get(), &st) < 0 || static_cast<size_t>(st.st_size) > kMaxJson)
    return make_error("{}: expected a JSON file of at most 4 MiB", path);
  return read_fd(fd.get());
}

// A JSON blob, checked against its digest.
Result<nlohmann::json> json_blob(const std::string& layout, const std::string& digest) {
  std::string path = TRY(blob_path(layout, digest));
  std::string text = TRY(read_small(path));
  auto h = TRY(Sha256::make());
  h.update(text.data(), text.size());
  if (h.hex() != digest.substr(7))
    return make_error("blob {}: its content does not match its digest", digest);
  return parse_object(text, "blob " + digest);
}

std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool is_index(const std::string& media_type) {
  return media_type == "application/vnd.oci.image.index.v1+json" ||
         media_type == "application/vnd.docker.distribution.manifest.list.v2+json";
}

// The manifest's digest in an index: the one tagged `tag` (its ref name, or
// what follows its last ':'), or the only one; a nested index is followed to
// its linux/amd64 manifest.
Result<std::string> pick_manifest(const std::string& layout, const nlohmann::json& index,
                                  const std::string& tag, int depth = 0) {
  auto m = index.find("manifests");
  if (m == index.end() || !m->is_array() || m->empty())
    return make_error("index: expected a non-empty array of manifests");
  std::vector<const nlohmann::json*> chosen;
  std::string refs;
  for (auto& d : *m) {
    if (!d.is_object()) return make_error("index: a manifest that is not an object");
    std::string ref;
    if (auto a = d.find("annotations"); a != d.end() && a->is_object()) ref = str(*a, kRefName);
    if (depth > 0) {  // a platform's manifest
      auto p = d.find("platform");
      bool ours = p == d.end() || (p->is_object() && str(*p, "os") == "linux" &&
                                   str(*p, "architecture") == "amd64");
      if (ours) chosen.push_back(&d);
      continue;
    }
    refs += (refs.empty() ? "" : ", ") + (ref.empty() ? std::string("(untagged)") : ref);
    std::string short_ref =
        ref.substr(ref.rfind(':') == std::string::npos ? 0 : ref.rfind(':') + 1);
    if (tag.empty() || ref == tag || short_ref == tag) chosen.push_back(&d);
  }
  if (chosen.empty())
    return tag.empty() ? make_error("index: no manifest for linux/amd64")
                       : make_error("no manifest tagged {} (the layout has: {})", tag, refs);
  if (chosen.size() > 1 && depth == 0)
    return make_error("{} manifests (name one with PATH:TAG): {}", chosen.size(), refs);
  const auto& d = *chosen.front();
  std::string digest = str(d, "digest");
  if (is_index(str(d, "mediaType"))) {
    if (depth > 0) return make_error("index: nested more than once");
    return pick_manifest(layout, TRY(json_blob(layout, digest)), "", depth + 1);
  }
  return digest;
}

Result<std::vector<std::string>> strings(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) return make_error("config: {}: expected an array of strings", key);
  for (auto& v : *it) {
    if (!v.is_string()) return make_error("config: {}: expected an array of strings", key);
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<OciConfig> config_of(const nlohmann::json& blob) {
  OciConfig c;
  auto it = blob.find("config");
  if (it == blob.end() || it->is_null()) return c;
  if (!it->is_object()) return make_error("config: config: expected an object");
  c.env = TRY(strings(*it, "Env"));
  c.entrypoint = TRY(strings(*it, "Entrypoint"));
  c.cmd = TRY(strings(*it, "Cmd"));
  c.working_dir = str(*it, "WorkingDir");
  c.user = str(*it, "User");
  return c;
}

}  // namespace

Result<ImportReport> import_oci(const decl::Paths& p, const std::string& name,
                                const std::string& source, const ImportOptions& o) {
  TRY(check_name(name));
  std::string images = images_dir(p), dest = image_dir(p, name);
  if (path_exists(dest) && !o.force)
    return make_error("an image of that name exists (--force replaces it)");
  auto [path, tag] = split_source(source);
  struct stat st;
  if (::stat(path.c_str(), &st) < 0) return errno_error("{}", path);
  TRY(mkdir_p(images, 0755));
  clean_dead_staging(images);
  auto staging = TRY(Staging::make(images, name));
  std::string layout = path;
  if (!S_ISDIR(st.st_mode)) {
    // An oci-archive: the layout it holds, extracted as safely as an image.
    layout = staging.path() + "/layout";
    if (::mkdir(layout.c_str(), 0700) < 0) return errno_error("mkdir {}", layout);
    UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    UniqueFd root(::open(layout.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!in || !root) return errno_error("open {}", path);
    ExtractOptions eo{.limits = o.limits,
                      .progress = o.progress,
                      .input_size = static_cast<uint64_t>(st.st_size)};
    TRY_CTX(extract(in.get(), root.get(), eo), "{}", path);
  }
  auto index = TRY(parse_object(TRY(read_small(layout + "/index.json")), "index.json"));
  std::string digest = TRY(pick_manifest(layout, index, tag));
  auto manifest = TRY(json_blob(layout, digest));
  auto layers = manifest.find("layers");
  auto config = manifest.find("config");
  if (layers == manifest.end() || !layers->is_array() || config == manifest.end() ||
      !config->is_object())
    return make_error("manifest {}: expected config and layers", digest);

  ImportReport r;
  r.meta.config = TRY(config_of(TRY(json_blob(layout, str(*config, "digest")))));
  std::string rootfs = staging.path() + "/rootfs";
  if (::mkdir(rootfs.c_str(), 0755) < 0) return errno_error("mkdir {}", rootfs);
  UniqueFd root(::open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return errno_error("open {}", rootfs);
  for (auto& layer : *layers) {
    if (!layer.is_object()) return make_error("manifest {}: a layer that is not an object", digest);
    std::string ld = str(layer, "digest"), type = str(layer, "mediaType");
    if (type.find("nondistributable") != std::string::npos ||
        type.find("foreign") != std::string::npos)
      return make_error("layer {}: {} layers are not in the layout", ld, type);
    auto in = TRY_CTX(open_plain(TRY(blob_path(layout, ld))), "layer {}", ld);
    if (::fstat(in.get(), &st) < 0) return errno_error("layer {}", ld);
    // The limits hold for all layers together.
    Limits left{o.limits.max_entries - std::min(o.limits.max_entries, r.meta.entries),
                o.limits.max_bytes - std::min(o.limits.max_bytes, r.meta.tree_bytes)};
    ExtractOptions eo{.keep_setid = o.keep_setid,
                      .oci_layer = true,
                      .limits = left,
                      .progress = o.progress,
                      .input_size = static_cast<uint64_t>(st.st_size)};
    auto x = TRY_CTX(extract(in.get(), root.get(), eo), "layer {}", ld);
    if (x.sha256 != ld.substr(7))
      return make_error("layer {}: its content does not match its digest", ld);
    r.meta.entries += x.entries;
    r.meta.tree_bytes += x.tree_bytes;
    r.meta.size += x.read_bytes;
    for (auto& s : x.skipped) r.skipped.push_back(std::move(s));
  }
  if (layout != path) TRY(remove_tree(layout));
  r.meta.name = name;
  r.meta.origin =
      std::filesystem::absolute(path).lexically_normal().string() + (tag.empty() ? "" : ":" + tag);
  r.meta.sha256 = digest.substr(7);  // the manifest's: which image this is
  r.meta.created = now_utc();
  r.meta.format = "oci";
  TRY(write_file_atomic(staging.path() + "/metadata.json", to_json(r.meta), 0644));
  r.replaced = TRY(commit(staging, dest, o.force));
  return r;
}

}  // namespace berth::image
