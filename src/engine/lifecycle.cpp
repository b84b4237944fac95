// The lifecycle operations on a created container: start (the exec fifo),
// kill, delete (destroy/remove), pause/resume, update, stats, pids.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "base/files.h"
#include "base/log.h"
#include "cgroup/cgroup.h"
#include "engine/container.h"
#include "engine/hooks.h"
#include "engine/rootfs.h"

namespace berth::engine {

Result<void> start(const Store& store, const std::string& id) {
  State s = TRY(store.load(id));
  Status st = current_status(store, s);
  if (st == Status::Stopped) return make_error("cannot start a container that has stopped");
  if (st != Status::Created) return make_error("cannot start an already running container");
  UniqueFd fifo(::open(store.fifo(id).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo) {
    if (errno == ENXIO) return make_error("cannot start a container that has stopped");
    return errno_error("open exec.fifo");
  }
  if (::write(fifo.get(), "0", 1) != 1) return errno_error("write exec.fifo");
  ::unlink(store.fifo(id).c_str());
  // The init holds the read end until its execve closes it (close-on-exec):
  // POLLERR on our end means the workload runs (or the init died), so the
  // startContainer hooks are done before the poststart ones begin.
  for (;;) {
    struct pollfd p = {fifo.get(), 0, 0};
    int n = ::poll(&p, 1, 10000);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) log::warn("container {} has not exec'd its process after 10 s", id);
    break;
  }
  fifo.reset();
  auto spec = oci::load_spec(store.config(id));
  if (spec && !spec->hooks.poststart.empty())
    run_hooks_warn(spec->hooks.poststart, state_json(s, Status::Running).dump(), "poststart");
  return ok();
}

Result<void> kill(const Store& store, const std::string& id, int sig, bool all) {
  State s = TRY(store.load(id));
  Status st = current_status(store, s);
  if (st == Status::Stopped) {
    if (all) return ok();
    return make_error("container not running");
  }
  if (all && !s.cgroup.is_null()) {
    auto cg = TRY(cgroup::Cgroup::from_json(s.cgroup));
    return cg.kill_all(sig);
  }
  if (::kill(s.pid, sig) < 0) {
    if (errno == ESRCH) return make_error("container not running");
    return errno_error("kill {}", s.pid);
  }
  return ok();
}

namespace {

// Waits (up to timeout_ms) for a process that is not our child to go away.
bool wait_gone(pid_t pid, uint64_t start_time, int timeout_ms) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    auto st = process_start_time(pid);
    if (!st || *st != start_time) return true;
    if (pidfd) {
      struct pollfd p = {pidfd.get(), POLLIN, 0};
      if (::poll(&p, 1, 10) > 0) {
        // Exited; it may stay a zombie until its parent reaps it.
        int st2;
        ::waitpid(pid, &st2, WNOHANG);
        return true;
      }
    } else {
      ::usleep(10000);
    }
  }
  return false;
}

}  // namespace

Result<void> destroy(const Store& store, const std::string& id) {
  State s = TRY(store.load(id));
  if (!s.cgroup.is_null()) {
    if (auto cg = cgroup::Cgroup::from_json(s.cgroup); cg) {
      (void)cg->thaw();
      (void)cg->kill_all(SIGKILL);
      if (auto r = cg->destroy(); !r) log::warn("remove cgroup: {}", r.error().message);
      // The default parent "/berth" is berth's own: remove it once empty.
      if (cg->relative().rfind("/berth/", 0) == 0) {
        for (auto& [mp, dir] : cg->paths()) {
          (void)mp;
          ::rmdir(std::filesystem::path(dir).parent_path().c_str());
        }
      }
    }
  }
  if (std::find(s.namespaces.begin(), s.namespaces.end(), "mount") == s.namespaces.end())
    detach_mounts_below(s.rootfs);
  auto spec = oci::load_spec(store.config(id));
  if (spec && !spec->hooks.poststop.empty())
    run_hooks_warn(spec->hooks.poststop, state_json(s, Status::Stopped).dump(), "poststop");
  return remove_tree(store.dir(id));
}

Result<void> remove(const Store& store, const std::string& id, bool force) {
  auto loaded = store.load(id);
  if (!loaded) {
    if (force && loaded.error().code == ENOENT) {
      if (validate_id(id)) (void)remove_tree(store.dir(id));
      return ok();
    }
    return std::move(loaded).error();
  }
  State s = std::move(*loaded);
  Status st = current_status(store, s);
  if (st == Status::Running || st == Status::Paused) {
    if (!force)
      return make_error("cannot delete container {} that is not stopped: {}", id, status_name(st));
  }
  if (st != Status::Stopped) {
    if (!s.cgroup.is_null()) {
      if (auto cg = cgroup::Cgroup::from_json(s.cgroup); cg) {
        (void)cg->kill_all(SIGKILL);
        (void)cg->thaw();
      }
    }
    ::kill(s.pid, SIGKILL);
    if (!wait_gone(s.pid, s.start_time, 5000))
      return make_error("container {} init (pid {}) did not die", id, s.pid);
  }
  return destroy(store, id);
}

Result<void> pause(const Store& store, const std::string& id) {
  State s = TRY(store.load(id));
  Status st = current_status(store, s);
  if (st != Status::Running && st != Status::Created) return make_error("container not running");
  if (s.cgroup.is_null()) return make_error("cannot pause a container without a cgroup");
  auto cg = TRY(cgroup::Cgroup::from_json(s.cgroup));
  return cg.freeze();
}

Result<void> resume(const Store& store, const std::string& id) {
  State s = TRY(store.load(id));
  if (current_status(store, s) != Status::Paused) return make_error("container not paused");
  auto cg = TRY(cgroup::Cgroup::from_json(s.cgroup));
  return cg.thaw();
}

Result<void> update(const Store& store, const std::string& id, const oci::Resources& r) {
  State s = TRY(store.load(id));
  if (current_status(store, s) == Status::Stopped) return make_error("container not running");
  if (s.cgroup.is_null()) return make_error("container {} has no cgroup to update", id);
  auto cg = TRY(cgroup::Cgroup::from_json(s.cgroup));
  TRY(cg.apply(r, true));
  // Keep the stored config in step, so `berth-oci state`/restarts see the new limits.
  auto spec = oci::load_spec(store.config(id));
  if (spec) {
    if (!spec->linux) spec->linux = oci::Linux{};
    auto merged = oci::to_json(spec->linux->resources.value_or(oci::Resources{}));
    merged.merge_patch(oci::to_json(r));
    if (auto m = oci::parse_resources(merged); m) spec->linux->resources = *m;
    TRY(write_file_atomic(store.config(id), oci::to_json(*spec).dump(), 0600, false));
  }
  return ok();
}

Result<nlohmann::json> stats(const Store& store, const std::string& id) {
  State s = TRY(store.load(id));
  if (current_status(store, s) == Status::Stopped) return make_error("container not running");
  if (s.cgroup.is_null()) return make_error("container {} has no cgroup", id);
  auto cg = TRY(cgroup::Cgroup::from_json(s.cgroup));
  return cg.stats();
}

Result<std::vector<pid_t>> pids(const Store& store, const std::string& id) {
  State s = TRY(store.load(id));
  if (current_status(store, s) == Status::Stopped) return std::vector<pid_t>{};
  if (s.cgroup.is_null()) return std::vector<pid_t>{s.pid};
  auto cg = TRY(cgroup::Cgroup::from_json(s.cgroup));
  return cg.pids();
}

}  // namespace berth::engine
