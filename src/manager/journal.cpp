#include "manager/journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "engine/rootfs.h"
#include "manager/running.h"
#include "manager/runtime.h"

namespace berth::manager {

namespace {

// journalctl in $PATH (the usual one when it is unset), or "".
std::string find_journalctl() {
  const char* env = ::getenv("PATH");
  std::istringstream dirs(env ? env
                              : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  for (std::string d; std::getline(dirs, d, ':');) {
    if (d.empty()) continue;
    std::string p = d + "/journalctl";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

// The root of NAME's tree: the running container's, or the tree on disk.
Result<UniqueFd> tree_root(const decl::Paths& paths, const decl::Container& c, bool running) {
  if (running) return std::move(TRY(open_running(paths, c.name)).root);
  if (c.ephemeral)
    return make_error("{} is ephemeral and not running: its journal went at its stop", c.name);
  // An image's container writes its journal into its own layer.
  std::string tree = c.share_host       ? paths.container_rootfs(c.name)
                     : !c.image.empty() ? paths.container_layer(c.name) + "/upper"
                                        : c.path;
  UniqueFd fd(::open(tree.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error("{}", tree);
  return fd;
}

bool has_entries(int dir_fd) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = fd < 0 ? nullptr : ::fdopendir(fd);
  if (!d) {
    if (fd >= 0) ::close(fd);
    return false;
  }
  bool any = false;
  while (auto* e = ::readdir(d))
    if (std::string n = e->d_name; n != "." && n != "..") any = true;
  ::closedir(d);
  return any;
}

}  // namespace

Result<void> exec_journal(const decl::Paths& paths, const std::string& name,
                          const decl::Container* decl, const JournalOptions& o) {
  std::string journalctl = find_journalctl();
  if (journalctl.empty())
    return make_error("journalctl is not installed on the host (the systemd package has it)");
  RunDir rd(paths, name);
  bool running = engine_pid(rd, name).has_value();
  auto snap = running ? load_snapshot(rd, name) : std::nullopt;
  const decl::Container* c = snap ? &*snap : decl;
  if (!c) return make_error("no such container declared");
  if (!c->boot)
    return make_error(
        "{} is not a boot container (boot = true): it has no journal; berth logs {} shows its "
        "output",
        name, name);
  auto root = TRY(tree_root(paths, *c, running));
  auto dir = engine::open_in_root(root.get(), "/var/log/journal", engine::Create::No);
  if (!dir && dir.error().code == ENOENT)
    return make_error("no journal of {} yet: its /var/log/journal is missing", name);
  if (!dir) return std::move(dir).error();
  struct stat st;
  if (::fstat(dir->get(), &st) < 0 || !S_ISDIR(st.st_mode))
    return make_error("no journal of {}: its /var/log/journal is not a directory", name);
  if (!has_entries(dir->get()))
    return make_error("no journal of {} yet: its /var/log/journal is empty", name);
  int fd = ::dup(dir->get());  // without O_CLOEXEC: journalctl opens it by /proc/self/fd
  if (fd < 0) return errno_error("dup");
  std::vector<std::string> args = {"journalctl", fmt::format("--directory=/proc/self/fd/{}", fd),
                                   "--no-pager"};
  if (o.follow) args.push_back("--follow");
  if (o.lines) args.push_back(fmt::format("--lines={}", *o.lines));
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  ::execv(journalctl.c_str(), argv.data());
  int err = errno;
  ::close(fd);
  return code_error(err, "exec {}", journalctl);
}

}  // namespace berth::manager
