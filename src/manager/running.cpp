#include "manager/running.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "base/files.h"
#include "engine/state.h"
#include "manager/runtime.h"

namespace berth::manager {

namespace {

// The host id that id 0 of the init's user namespace is (/proc/PID/uid_map:
// "0 0 4294967295" without a user namespace of its own).
Result<uint32_t> host_id_of_root(pid_t pid, const char* map) {
  auto text = TRY(read_file(fmt::format("/proc/{}/{}", pid, map)));
  std::istringstream in(text);
  for (uint64_t inside, outside, count; in >> inside >> outside >> count;)
    if (inside == 0 && count > 0) return static_cast<uint32_t>(outside);
  return make_error("its root user has no id on the host ({} of pid {})", map, pid);
}

}  // namespace

Result<Running> open_running(const decl::Paths& paths, const std::string& name) {
  RunDir rd(paths, name);
  auto store = rd.store();
  auto s = store.load(name);
  if (!s || engine::current_status(store, *s) == engine::Status::Stopped)
    return make_error("{} is not running", name);
  Running c;
  c.pid = s->pid;
  c.start_time = s->start_time;
  c.root.reset(
      ::open(fmt::format("/proc/{}/root", s->pid).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!c.root) return errno_error("open the root of {} (pid {})", name, s->pid);
  c.uid = TRY(host_id_of_root(s->pid, "uid_map"));
  c.gid = TRY(host_id_of_root(s->pid, "gid_map"));
  // Still the init the engine started: the root opened is its.
  if (engine::process_start_time(s->pid) != s->start_time)
    return make_error("{} is not running", name);
  return c;
}

void set_effective_to_permitted() {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &hdr, data) < 0) return;
  for (auto& d : data) d.effective = d.permitted;
  (void)::syscall(SYS_capset, &hdr, data);
}

Result<std::string> in_child(const std::function<Result<std::string>()>& fn) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd r(p[0]), w(p[1]);
  pid_t child = ::fork();
  if (child < 0) return errno_error("fork");
  if (child == 0) {
    r.reset();
    auto done = fn();
    std::string m = done ? "" : done.error().message;
    std::replace(m.begin(), m.end(), '\n', ' ');
    (void)write_all(w.get(), done ? "ok\n" + *done : "error " + m + "\n");
    ::_exit(0);
  }
  w.reset();
  auto text = read_fd(r.get());
  int ws = 0;
  while (::waitpid(child, &ws, 0) < 0 && errno == EINTR) {
  }
  if (!text) return std::move(text).error();
  if (text->starts_with("ok\n")) return text->substr(3);
  if (text->starts_with("error ") && text->ends_with("\n"))
    return make_error("{}", text->substr(6, text->size() - 7));
  return make_error("the child process ended without a word (status {:#x})", ws);
}

Result<void> in_child(const std::function<Result<void>()>& fn) {
  TRY(in_child([&]() -> Result<std::string> {
    TRY(fn());
    return std::string();
  }));
  return ok();
}

}  // namespace berth::manager
