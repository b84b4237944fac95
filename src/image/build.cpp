// `berth image build`: an image made from its declaration ([images.NAME])
// by mmdebstrap, as machinectl drives tar: the system from the host's apt
// mirror (or the recipe's), the declared files written and the declared
// commands run inside by mmdebstrap's customize hooks. Built in a staging
// directory beside the store's images and renamed into place once complete;
// mmdebstrap runs in a mount namespace of its own, so whatever it mounts in
// the tree goes with it, even when it is killed.
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "base/files.h"
#include "decl/decl.h"
#include "image/internal.h"

namespace berth::image {
namespace {

// Single-quoted for the shell of a hook (paths are checked to hold no quote).
std::string sq(const std::string& s) {
  return "'" + s + "'";
}

std::string parent_of(const std::string& path) {
  return path.substr(0, path.rfind('/'));
}

struct TreeSize {
  uint64_t entries = 0, bytes = 0;
};
thread_local TreeSize* walk_total = nullptr;

TreeSize tree_size(const std::string& root) {
  TreeSize t;
  walk_total = &t;
  ::nftw(
      root.c_str(),
      [](const char*, const struct stat* st, int, struct FTW*) {
        walk_total->entries++;
        if (S_ISREG(st->st_mode)) walk_total->bytes += static_cast<uint64_t>(st->st_size);
        return 0;
      },
      64, FTW_PHYS);
  walk_total = nullptr;
  return t;
}

// mmdebstrap's command line: the suite, the target, then the sources, and a
// customize hook for each declared file and the run script.
Result<std::vector<std::string>> mmdebstrap_args(const decl::ImageRecipe& r,
                                                 const std::string& staging,
                                                 const BuildOptions& o) {
  std::vector<std::string> sources;
  if (!r.mirror.empty())
    sources.push_back(fmt::format("deb {} {} main", r.mirror, r.suite));
  else
    sources = apt_sources_for(o.apt_dir, r.suite);
  if (sources.empty())
    return make_error(
        "no deb source for suite {} in {}/sources.list or {}/sources.list.d (declare "
        "images.{}.mirror)",
        r.suite, o.apt_dir, o.apt_dir, r.name);
  std::vector<std::string> a = {"mmdebstrap", "--mode=root", "--variant=" + r.variant,
                                "--format=directory"};
  if (!r.packages.empty()) {
    std::string list;
    for (auto& p : r.packages) list += (list.empty() ? "" : ",") + p;
    a.push_back("--include=" + list);
  }
  int n = 0;
  for (auto& [path, text] : r.files) {
    std::string local = fmt::format("{}/files/{}", staging, n++);
    TRY(write_file_atomic(local, text, 0644, false));
    a.push_back(fmt::format("--customize-hook=mkdir -p \"$1\"{}", sq(parent_of(path))));
    a.push_back(fmt::format("--customize-hook=upload {} {}", local, path));
  }
  if (!r.run.empty()) {
    std::string script = "set -ex\n";
    for (auto& cmd : r.run) script += cmd + "\n";
    TRY(write_file_atomic(staging + "/files/run.sh", script, 0644, false));
    a.push_back(
        fmt::format("--customize-hook=upload {}/files/run.sh /berth-build-run.sh", staging));
    a.push_back("--customize-hook=chroot \"$1\" /bin/sh /berth-build-run.sh");
    a.push_back("--customize-hook=rm -f \"$1\"/berth-build-run.sh");
  }
  a.push_back(r.suite);
  a.push_back(staging + "/rootfs");
  for (auto& s : sources) a.push_back(s);
  return a;
}

// Runs argv in its own process group and mount namespace, each line of its
// output to log; cancel() ends it (SIGTERM to the group, SIGKILL 10 s on).
Result<void> run_logged(const std::vector<std::string>& argv, const BuildOptions& o) {
  std::vector<char*> args;
  for (auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
  args.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd rd(fds[0]), wr(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    ::setpgid(0, 0);
    if (::unshare(CLONE_NEWNS) < 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
      ::_exit(126);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(wr.get(), 1);
    ::dup2(wr.get(), 2);
    ::execvp(args[0], args.data());
    ::_exit(errno == ENOENT ? 127 : 126);
  }
  wr.reset();
  std::string pending, tail;
  char buf[4096];
  bool killed = false;
  auto term_at = std::chrono::steady_clock::time_point::max();
  for (;;) {
    if (cancelled() && !killed) {
      killed = true;
      ::kill(-pid, SIGTERM);
      term_at = std::chrono::steady_clock::now();
    }
    if (killed && std::chrono::steady_clock::now() - term_at > std::chrono::seconds(10))
      ::kill(-pid, SIGKILL);
    struct pollfd p = {rd.get(), POLLIN, 0};
    int r = ::poll(&p, 1, 200);
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
      std::string line = pending.substr(0, nl);
      if (o.log) o.log(line);
      tail = line;
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // Whatever it started and left (it ends its own; a kill may not).
  ::kill(-pid, SIGKILL);
  if (killed || cancelled()) return make_error("interrupted");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return make_error("mmdebstrap not found (apt-get install mmdebstrap)");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
    return make_error("cannot run mmdebstrap in a mount namespace of its own");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return make_error("mmdebstrap failed ({}){}",
                      WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                                        : fmt::format("signal {}", WTERMSIG(status)),
                      tail.empty() ? "" : ": " + tail);
  return ok();
}

// Each container gets its own identity: the build's machine id, host name
// and resolver (mmdebstrap copies the host's) are not kept in the image.
void forget_identity(const std::string& rootfs) {
  int fd =
      ::open((rootfs + "/etc/machine-id").c_str(), O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) ::close(fd);
  ::unlink((rootfs + "/var/lib/dbus/machine-id").c_str());
  ::unlink((rootfs + "/etc/hostname").c_str());
  ::unlink((rootfs + "/etc/resolv.conf").c_str());
}

}  // namespace

Result<std::string> recipe_hash(const decl::ImageRecipe& r) {
  auto h = TRY(Sha256::make());
  std::string text = decl::recipe_text(r);
  h.update(text.data(), text.size());
  return h.hex();
}

Result<BuildState> build_state(const decl::Paths& p, const decl::ImageRecipe& r) {
  if (!path_exists(image_dir(p, r.name))) return BuildState::Missing;
  auto meta = read_metadata(p, r.name);
  if (!meta || meta->format != "build") return BuildState::Imported;
  return meta->sha256 == TRY(recipe_hash(r)) ? BuildState::UpToDate : BuildState::Stale;
}

Result<BuildReport> build(const decl::Paths& p, const decl::ImageRecipe& r, const BuildOptions& o) {
  TRY(check_name(r.name));
  BuildReport report;
  auto state = TRY(build_state(p, r));
  if (state == BuildState::UpToDate && !o.force) {
    report.meta = TRY(read_metadata(p, r.name));
    return report;
  }
  if (state == BuildState::Imported && !o.force)
    return make_error("image {} exists and was not built from [images.{}] (--force replaces it)",
                      r.name, r.name);
  std::string images = images_dir(p), dest = image_dir(p, r.name);
  TRY(mkdir_p(images, 0755));
  clean_dead_staging(images);
  auto staging = TRY(Staging::make(images, r.name));
  TRY(mkdir_p(staging.path() + "/files", 0700));
  auto argv = TRY(mmdebstrap_args(r, staging.path(), o));
  auto start = std::chrono::steady_clock::now();
  TRY(run_logged(argv, o));
  std::string rootfs = staging.path() + "/rootfs";
  forget_identity(rootfs);
  TRY(remove_tree(staging.path() + "/files"));
  auto size = tree_size(rootfs);
  std::string text = decl::recipe_text(r);
  report.meta = {r.name,
                 fmt::format("built from [images.{}] in {}", r.name, r.file),
                 TRY(recipe_hash(r)),
                 text.size(),
                 now_utc(),
                 "build",
                 size.entries,
                 size.bytes};
  TRY(write_file_atomic(staging.path() + "/metadata.json", to_json(report.meta), 0644));
  report.replaced = TRY(commit(staging, dest, state != BuildState::Missing));
  report.built = true;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace berth::image
