#include "decl/paths.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "base/files.h"

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

Result<Paths> user_paths(Getenv getenv) {
  // The XDG spec: only absolute values count.
  auto absolute = [&](const char* var) -> std::string {
    const char* v = getenv(var);
    return v && v[0] == '/' ? std::string(v) : std::string();
  };
  std::string runtime = absolute("XDG_RUNTIME_DIR");
  if (runtime.empty())
    return make_error(
        "XDG_RUNTIME_DIR is not set (or not absolute): a rootless berth keeps its runtime state "
        "in $XDG_RUNTIME_DIR/berth; set it (a 0700 directory of yours) or give --root DIR");
  std::string home = absolute("HOME");
  std::string config = absolute("XDG_CONFIG_HOME"), data = absolute("XDG_DATA_HOME");
  if (home.empty() && (config.empty() || data.empty()))
    return make_error(
        "HOME is not set (or not absolute): a rootless berth keeps its files in "
        "$XDG_CONFIG_HOME/berth and $XDG_DATA_HOME/berth, under HOME by default");
  if (config.empty()) config = home + "/.config";
  if (data.empty()) data = home + "/.local/share";
  Paths p = Paths::under("/");
  p.user = true;
  p.etc = config + "/berth";
  p.state = data + "/berth";
  p.log = p.state + "/log";
  p.run = runtime + "/berth";
  return p;
}

Result<Paths> resolve_paths(const std::string& cli_value) {
  const char* env = std::getenv("BERTH_ROOT");
  if (!cli_value.empty() || (env && *env) || ::geteuid() == 0)
    return Paths::under(resolve_root(cli_value));
  return user_paths([](const char* name) -> const char* { return std::getenv(name); });
}

Result<void> make_user_dirs(const Paths& p) {
  // (mkdir_p's mode is the umask's: the directory itself is made here.)
  for (auto* d : {&p.etc, &p.state, &p.run}) {
    if (path_exists(*d)) continue;
    TRY(mkdir_p(std::filesystem::path(*d).parent_path().string()));
    if (::mkdir(d->c_str(), 0700) < 0 && errno != EEXIST) return errno_error("mkdir {}", *d);
  }
  return ok();
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
