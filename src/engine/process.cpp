#include "engine/process.h"

#include <grp.h>

#include <linux/sched.h>
#include <sched.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <algorithm>

#include "base/log.h"
#include "base/table.h"

namespace berth::engine {
namespace {
// struct sched_attr from <linux/sched/types.h>, which clashes with glibc's <sched.h>.
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};
}  // namespace

Result<int> capability_from_name(const std::string& name) {
  cap_value_t v;
  std::string lower = name;
  for (auto& c : lower) c = static_cast<char>(tolower(c));
  if (cap_from_name(lower.c_str(), &v) < 0) return make_error("unknown capability \"{}\"", name);
  return static_cast<int>(v);
}

namespace {

int last_cap() {
  static int last = [] {
    for (int c = 63; c >= 0; c--)
      if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0) return c;
    return CAP_LAST_CAP;
  }();
  return last;
}

Result<std::vector<cap_value_t>> cap_list(const std::vector<std::string>& names) {
  std::vector<cap_value_t> out;
  for (auto& n : names) {
    auto v = capability_from_name(n);
    // Unknown to libcap, or newer than this kernel: ignored with a warning,
    // as runc does.
    if (!v)
      log::warn("process.capabilities: ignoring unknown capability \"{}\"", n);
    else if (*v <= last_cap())
      out.push_back(*v);
  }
  return out;
}

constexpr Named<int> kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

}  // namespace

Result<void> set_rlimits(const std::vector<oci::Rlimit>& rlimits) {
  for (auto& r : rlimits) {
    const int* resource = lookup(kRlimits, r.type);
    if (!resource) return make_error("process.rlimits: unknown type \"{}\"", r.type);
    struct rlimit rl = {r.soft, r.hard};
    if (::setrlimit(*resource, &rl) < 0)
      return errno_error("process.rlimits: set {} to soft {} hard {}", r.type, r.soft, r.hard);
  }
  return ok();
}

Result<void> drop_bounding(const oci::Capabilities& caps, Sys& sys) {
  auto keep = TRY(cap_list(caps.bounding));
  for (int c = 0; c <= last_cap(); c++) {
    if (std::find(keep.begin(), keep.end(), c) != keep.end()) continue;
    if (sys.prctl(PR_CAPBSET_DROP, static_cast<unsigned long>(c)) < 0 && errno != EINVAL)
      return errno_error("drop capability {} from the bounding set", c);
  }
  return ok();
}

Result<void> switch_user(const oci::User& user, Sys& sys) {
  if (sys.prctl(PR_SET_KEEPCAPS, 1) < 0) return errno_error("PR_SET_KEEPCAPS");
  std::vector<gid_t> groups(user.additional_gids.begin(), user.additional_gids.end());
  // setgroups is refused in a user namespace whose setgroups file says deny.
  if (sys.setgroups(groups.size(), groups.data()) < 0 && !(errno == EPERM && groups.empty()))
    return errno_error("setgroups");
  if (sys.setresgid(user.gid, user.gid, user.gid) < 0) return errno_error("setgid {}", user.gid);
  if (sys.setresuid(user.uid, user.uid, user.uid) < 0) return errno_error("setuid {}", user.uid);
  if (sys.prctl(PR_SET_KEEPCAPS, 0) < 0) return errno_error("PR_SET_KEEPCAPS");
  if (user.umask) sys.umask(*user.umask);
  return ok();
}

Result<void> apply_capabilities(const oci::Capabilities& caps, Sys& sys) {
  auto eff = TRY(cap_list(caps.effective));
  auto perm = TRY(cap_list(caps.permitted));
  auto inh = TRY(cap_list(caps.inheritable));
  auto amb = TRY(cap_list(caps.ambient));
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  auto set = [&](const std::vector<cap_value_t>& list, __u32 __user_cap_data_struct::*set) {
    for (auto c : list) data[c / 32].*set |= 1u << (c % 32);
  };
  set(eff, &__user_cap_data_struct::effective);
  set(perm, &__user_cap_data_struct::permitted);
  set(inh, &__user_cap_data_struct::inheritable);
  if (sys.capset(&hdr, data) < 0) return errno_error("set capabilities");
  sys.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL);
  for (auto a : amb) {
    if (sys.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, static_cast<unsigned long>(a)) == 0)
      continue;
    // The kernel raises an ambient capability only if it is both permitted
    // and inheritable; `crun spec` and `runc spec` list ambient ones with an
    // empty inheritable set, and both runtimes skip what the kernel refuses.
    if (errno != EPERM) return errno_error("raise ambient capability {}", a);
    char* name = cap_to_name(a);
    log::debug(
        "process.capabilities.ambient: {} not raised (not in both the permitted and inheritable "
        "sets)",
        name ? name : std::to_string(a));
    cap_free(name);
  }
  return ok();
}

Result<std::string> find_executable(const std::string& arg0, const std::vector<std::string>& env) {
  if (arg0.empty()) return make_error("process.args must not be empty");
  auto usable = [](const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
  };
  if (arg0.find('/') != std::string::npos) {
    if (!usable(arg0)) {
      struct stat st;
      if (::stat(arg0.c_str(), &st) < 0) return errno_error("exec: \"{}\"", arg0);
      return make_error("exec: \"{}\": permission denied", arg0);
    }
    return arg0;
  }
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    std::string cand = (dir.empty() ? "." : dir) + "/" + arg0;
    if (usable(cand)) return cand;
    start = end + 1;
  }
  return make_error("exec: \"{}\": executable file not found in $PATH", arg0);
}

Result<void> set_personality(const oci::Personality& p) {
  unsigned long persona;
  if (p.domain == "LINUX")
    persona = PER_LINUX;
  else if (p.domain == "LINUX32")
    persona = PER_LINUX32;
  else
    return make_error("linux.personality.domain: unknown \"{}\" (expected LINUX or LINUX32)",
                      p.domain);
  if (::personality(persona) < 0) return errno_error("personality {}", p.domain);
  return ok();
}

Result<void> set_io_priority(const oci::IoPriority& p) {
  int klass;
  if (p.klass == "IOPRIO_CLASS_RT")
    klass = 1;
  else if (p.klass == "IOPRIO_CLASS_BE")
    klass = 2;
  else if (p.klass == "IOPRIO_CLASS_IDLE")
    klass = 3;
  else
    return make_error("process.ioPriority.class: unknown \"{}\"", p.klass);
  int prio = (klass << 13) | (p.priority & 0xff);
  if (::syscall(SYS_ioprio_set, 1 /*IOPRIO_WHO_PROCESS*/, 0, prio) < 0)
    return errno_error("ioprio_set");
  return ok();
}

Result<void> set_scheduler(const oci::Scheduler& s) {
  static constexpr Named<int> policies[] = {
      {"SCHED_OTHER", SCHED_OTHER}, {"SCHED_FIFO", SCHED_FIFO}, {"SCHED_RR", SCHED_RR},
      {"SCHED_BATCH", SCHED_BATCH}, {"SCHED_IDLE", SCHED_IDLE}, {"SCHED_DEADLINE", SCHED_DEADLINE}};
  const int* policy = lookup(policies, s.policy);
  if (!policy) return make_error("process.scheduler.policy: unknown \"{}\"", s.policy);
  SchedAttr attr = {};
  attr.size = sizeof attr;
  attr.sched_policy = static_cast<uint32_t>(*policy);
  attr.sched_nice = s.nice.value_or(0);
  attr.sched_priority = static_cast<uint32_t>(s.priority.value_or(0));
  attr.sched_runtime = s.runtime.value_or(0);
  attr.sched_deadline = s.deadline.value_or(0);
  attr.sched_period = s.period.value_or(0);
  for (auto& f : s.flags) {
    if (f == "SCHED_FLAG_RESET_ON_FORK")
      attr.sched_flags |= SCHED_FLAG_RESET_ON_FORK;
    else if (f == "SCHED_FLAG_RECLAIM")
      attr.sched_flags |= SCHED_FLAG_RECLAIM;
    else if (f == "SCHED_FLAG_DL_OVERRUN")
      attr.sched_flags |= SCHED_FLAG_DL_OVERRUN;
    else
      return make_error("process.scheduler.flags: unknown \"{}\"", f);
  }
  if (::syscall(SYS_sched_setattr, 0, &attr, 0) < 0) return errno_error("sched_setattr");
  return ok();
}

}  // namespace berth::engine
