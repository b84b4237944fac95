#include "decl/paths.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

namespace berth::decl {

Paths Paths::under(const std::string& root) {
  Paths p;
  size_t len = root.size();
  while (len > 1 && root[len - 1] == '/') --len;
  std::string r = len == 0 ? std::string("/") : root.substr(0, len);
  p.root = r;
  std::string_view base = r == "/" ? std::string_view() : std::string_view(r);
  // fmt rather than operator+: g++ 12 warns (-Wrestrict) on the latter here.
  p.etc = fmt::format("{}/etc/berth", base);
  p.state = fmt::format("{}/var/lib/berth", base);
  p.run = fmt::format("{}/run/berth", base);
  p.log = fmt::format("{}/var/log/berth", base);
  return p;
}

std::string Paths::declarations_file() const {
  return etc + "/containers.toml";
}
std::string Paths::declarations_dir() const {
  return etc + "/containers.d";
}
std::string Paths::summary_conf(const std::string& name) const {
  return etc + "/" + name + ".conf";
}
std::string Paths::container_state(const std::string& name) const {
  return state + "/containers/" + name;
}
std::string Paths::container_rootfs(const std::string& name) const {
  return container_state(name) + "/rootfs";
}
std::string Paths::container_layer(const std::string& name) const {
  return container_state(name) + "/layer";
}
std::string Paths::images() const {
  return state + "/images";
}
std::string Paths::image_rootfs(const std::string& name) const {
  return images() + "/" + name + "/rootfs";
}
std::string Paths::container_run(const std::string& name) const {
  return run + "/" + name;
}
std::string Paths::container_log(const std::string& name) const {
  return log + "/" + name + ".log";
}

std::string resolve_root(const std::string& cli_value) {
  std::string root = cli_value;
  if (const char* env = std::getenv("BERTH_ROOT"); root.empty() && env && *env) root = env;
  if (root.empty()) return "/";
  // Absolute: the monitor that start forks works from "/", so a relative
  // root would name another place there.
  std::error_code ec;
  auto abs = std::filesystem::absolute(root, ec);
  return ec ? root : abs.lexically_normal().string();
}

std::vector<std::string> default_declaration_files(const Paths& p) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::error_code ec;
  for (const char* f : {"/containers.toml", "/containers.json"}) {
    std::string path = p.etc + f;
    if (fs::is_regular_file(path, ec)) out.push_back(path);
  }
  std::vector<std::string> extra;
  for (fs::directory_iterator it(p.declarations_dir(), ec), end; !ec && it != end;
       it.increment(ec)) {
    auto ext = it->path().extension().string();
    if ((ext == ".toml" || ext == ".json") && it->is_regular_file(ec))
      extra.push_back(it->path().string());
  }
  std::sort(extra.begin(), extra.end());
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

}  // namespace berth::decl
