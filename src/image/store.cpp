// The store's layout, metadata.json, list and remove, and the temporary
// directories imports build in.
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "decl/util.h"
#include "image/internal.h"

namespace berth::image {

namespace {

constexpr const char* kFormats[] = {"tar", "tar.gz", "tar.xz", "tar.zst", "oci", "build"};
constexpr std::string_view kStagingPrefix = ".tmp-";

}  // namespace

namespace {
volatile sig_atomic_t g_cancelled = 0;
}  // namespace

void cancel() {
  g_cancelled = 1;
}
bool cancelled() {
  return g_cancelled != 0;
}

std::string images_dir(const decl::Paths& p) {
  return p.images();
}
std::string image_dir(const decl::Paths& p, const std::string& name) {
  return images_dir(p) + "/" + name;
}
std::string image_rootfs(const decl::Paths& p, const std::string& name) {
  return p.image_rootfs(name);
}

Result<void> check_name(const std::string& name) {
  if (!decl::valid_container_name(name))
    return make_error(
        "invalid image name \"{}\" (lower-case letters, digits and '-', at most {} characters, "
        "not starting or ending with '-')",
        name, decl::kMaxNameLength);
  return ok();
}

bool is_sha256_hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string to_json(const Metadata& m) {
  nlohmann::json j = {{"name", m.name},       {"origin", m.origin},        {"sha256", m.sha256},
                      {"size", m.size},       {"created", m.created},      {"format", m.format},
                      {"entries", m.entries}, {"tree_bytes", m.tree_bytes}};
  if (m.config)
    j["config"] = {{"env", m.config->env},
                   {"entrypoint", m.config->entrypoint},
                   {"cmd", m.config->cmd},
                   {"working_dir", m.config->working_dir},
                   {"user", m.config->user}};
  // Replaced rather than thrown: an origin or a config's text need not be UTF-8.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<Metadata> parse_metadata(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return make_error("metadata: not valid JSON");
  if (!j.is_object()) return make_error("metadata: not a JSON object");
  Metadata m;
  auto str = [&](const char* key, std::string& out) -> Result<void> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string())
      return make_error("metadata: {}: expected a string", key);
    out = it->get<std::string>();
    return ok();
  };
  auto num = [&](const char* key, uint64_t& out) -> Result<void> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_unsigned())
      return make_error("metadata: {}: expected a non-negative integer", key);
    out = it->get<uint64_t>();
    return ok();
  };
  TRY(str("name", m.name));
  TRY(str("origin", m.origin));
  TRY(str("sha256", m.sha256));
  TRY(str("created", m.created));
  TRY(str("format", m.format));
  TRY(num("size", m.size));
  TRY(num("entries", m.entries));
  TRY(num("tree_bytes", m.tree_bytes));
  if (!check_name(m.name)) return make_error("metadata: name: invalid image name");
  if (!is_sha256_hex(m.sha256)) return make_error("metadata: sha256: expected 64 hex digits");
  if (std::find(std::begin(kFormats), std::end(kFormats), m.format) == std::end(kFormats))
    return make_error("metadata: format: expected tar, tar.gz, tar.xz, tar.zst, oci or build");
  if (auto c = j.find("config"); c != j.end()) {
    if (!c->is_object()) return make_error("metadata: config: expected an object");
    OciConfig oc;
    auto strings = [&](const char* key, std::vector<std::string>& out) -> Result<void> {
      auto it = c->find(key);
      if (it == c->end()) return ok();
      if (!it->is_array()) return make_error("metadata: config.{}: expected strings", key);
      for (auto& v : *it) {
        if (!v.is_string()) return make_error("metadata: config.{}: expected strings", key);
        out.push_back(v.get<std::string>());
      }
      return ok();
    };
    auto text = [&](const char* key, std::string& out) -> Result<void> {
      auto it = c->find(key);
      if (it == c->end()) return ok();
      if (!it->is_string()) return make_error("metadata: config.{}: expected a string", key);
      out = it->get<std::string>();
      return ok();
    };
    TRY(strings("env", oc.env));
    TRY(strings("entrypoint", oc.entrypoint));
    TRY(strings("cmd", oc.cmd));
    TRY(text("working_dir", oc.working_dir));
    TRY(text("user", oc.user));
    m.config = std::move(oc);
  }
  return m;
}

Result<ExportInfo> parse_export_info(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return make_error("expected a JSON object");
  auto str = [&](const char* k) -> std::string {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (str("format") != kExportFormat) return make_error("format: expected \"{}\"", kExportFormat);
  ExportInfo i{str("name"), str("kind"), str("image"), str("sha256")};
  if (!decl::valid_container_name(i.name)) return make_error("name: expected a container name");
  if (i.kind != "image" && i.kind != "path" && i.kind != "share_host")
    return make_error("kind: expected image, path or share_host");
  if (i.kind == "image") {
    if (!decl::valid_container_name(i.image)) return make_error("image: expected an image name");
    if (!is_sha256_hex(i.sha256)) return make_error("sha256: expected 64 hex digits");
  }
  return i;
}

Result<Metadata> read_metadata(const decl::Paths& p, const std::string& name) {
  TRY(check_name(name));
  std::string file = image_dir(p, name) + "/metadata.json";
  auto text = read_file(file);
  if (!text) {
    if (text.error().code == ENOENT && !path_exists(image_dir(p, name)))
      return make_error("no image {} (berth image list shows the images)", name);
    return std::move(text).error();
  }
  return TRY_CTX(parse_metadata(*text), "{}", file);
}

Result<std::vector<Listed>> list(const decl::Paths& p) {
  std::vector<Listed> out;
  std::string dir = images_dir(p);
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return errno_error("open {}", dir);
  }
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.starts_with(".")) continue;  // ., .., temporaries and the lock
    Listed l{n, std::nullopt, {}};
    if (auto m = read_metadata(p, n))
      l.meta = std::move(*m);
    else
      l.error = m.error().message;
    out.push_back(std::move(l));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

Result<void> remove(const decl::Paths& p, const std::string& name,
                    const std::vector<std::string>& users) {
  TRY(check_name(name));
  std::string dir = image_dir(p, name);
  if (!path_exists(dir)) return make_error("no image {} (berth image list shows the images)", name);
  if (!users.empty()) {
    std::string names;
    for (auto& u : users) names += (names.empty() ? "" : ", ") + u;
    return make_error("image {} is used by {}", name, names);
  }
  // Gone from the store at once; a crash while its tree is removed leaves a
  // temporary the next import or remove cleans up.
  clean_dead_staging(images_dir(p));
  auto staging = TRY(Staging::make(images_dir(p), name));
  std::string away = staging.path() + "/removed";
  if (::rename(dir.c_str(), away.c_str()) < 0) return errno_error("rename {}", dir);
  return ok();  // ~Staging removes it
}

Result<Staging> Staging::make(const std::string& images, const std::string& name) {
  TRY(mkdir_p(images, 0755));
  // Made and locked under the store's lock, so that clean_dead_staging
  // never sees one between the two.
  auto store_lock = TRY(lock_exclusive(images, O_RDONLY | O_DIRECTORY));
  std::string tmpl = fmt::format("{}/{}{}-XXXXXX", images, kStagingPrefix, name);
  if (!::mkdtemp(tmpl.data())) return errno_error("make a directory in {}", images);
  Staging s;
  s.path_ = tmpl;
  s.lock_.reset(::open(tmpl.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!s.lock_ || ::flock(s.lock_.get(), LOCK_EX | LOCK_NB) < 0)
    return errno_error("lock {}", tmpl);
  // Searchable by others: a user-namespaced container reaches its image's tree.
  ::chmod(tmpl.c_str(), 0755);
  return s;
}

namespace {

// Whether a running container holds the tree at dir (or a removed image
// under it): its monitor share-locks the image's directory while it runs,
// and a replaced or removed image stays until it is gone.
// with_dir = false: only the removed one (the caller holds dir's lock).
bool held_by_a_container(const std::string& dir, bool with_dir = true) {
  for (auto& d : {with_dir ? dir : std::string(), dir + "/removed"}) {
    if (d.empty()) continue;
    UniqueFd fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK) return true;
  }
  return false;
}

}  // namespace

Staging::~Staging() {
  if (path_.empty()) return;
  lock_.reset();
  // The next import or remove takes it (clean_dead_staging).
  if (held_by_a_container(path_)) return;
  (void)remove_tree(path_);
}

void clean_dead_staging(const std::string& images) {
  auto store_lock = lock_exclusive(images, O_RDONLY | O_DIRECTORY);
  if (!store_lock) return;
  DIR* d = ::opendir(images.c_str());
  if (!d) return;
  std::vector<std::string> dead;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (!n.starts_with(kStagingPrefix)) continue;
    std::string path = images + "/" + n;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    // Its import holds the lock while it runs; a lock we get means it died
    // (or finished, leaving an image a container still ran on).
    if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0 && !held_by_a_container(path, false))
      dead.push_back(path);
  }
  ::closedir(d);
  for (auto& path : dead) (void)remove_tree(path);
}

void remove_replaced(const decl::Paths& p) {
  if (path_exists(images_dir(p))) clean_dead_staging(images_dir(p));
}

}  // namespace berth::image
