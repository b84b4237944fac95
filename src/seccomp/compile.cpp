// OCI linux.seccomp -> libseccomp -> classic BPF, then the ENOSYS stub
// in front of it and the on-disk cache around it.
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>

#include "base/files.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/table.h"
#include "base/unique_fd.h"
#include "seccomp/bpf_stub.h"
#include "seccomp/seccomp.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif

namespace berth::seccomp {
namespace {

constexpr const char* kWhere = "linux.seccomp";
constexpr uint32_t kCacheFormat = 1;
constexpr char kCacheMagic[8] = {'B', 'E', 'R', 'T', 'H', 'B', 'P', 'F'};
// The kernel clamps larger values to MAX_ERRNO anyway.
constexpr uint32_t kMaxErrno = 4095;

struct Ctx {
  scmp_filter_ctx ctx = nullptr;
  ~Ctx() {
    if (ctx) seccomp_release(ctx);
  }
};

std::string lib_error(int rc) {
  return std::strerror(-rc);
}

// action_field / errno_field: the JSON paths errors name.
Result<uint32_t> parse_action(const std::string& name, std::optional<uint32_t> errno_ret,
                              const std::string& action_field, const std::string& errno_field) {
  auto with_errno = [&](uint32_t (*make)(uint32_t)) -> Result<uint32_t> {
    uint32_t e = errno_ret.value_or(EPERM);
    if (e > kMaxErrno)
      return make_error("{}: {} is out of range (at most {})", errno_field, e, kMaxErrno);
    return make(e);
  };
  if (name == "SCMP_ACT_ERRNO")
    return with_errno([](uint32_t e) -> uint32_t { return SCMP_ACT_ERRNO(e); });
  if (name == "SCMP_ACT_TRACE")
    return with_errno([](uint32_t e) -> uint32_t { return SCMP_ACT_TRACE(e); });

  static constexpr Named<uint32_t> plain[] = {
      {"SCMP_ACT_KILL", SCMP_ACT_KILL},
      {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
      {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
      {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
      {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
      {"SCMP_ACT_LOG", SCMP_ACT_LOG},
      {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY},
  };
  const uint32_t* action = lookup(plain, name);
  if (!action) return make_error("{}: unknown action \"{}\"", action_field, name);
  if (errno_ret) return make_error("{}: action {} does not take an errno", errno_field, name);
  return *action;
}

Result<scmp_compare> parse_op(const std::string& op, const std::string& where) {
  static constexpr Named<scmp_compare> ops[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  if (op.empty()) return make_error("{}.op: is required", where);
  const scmp_compare* o = lookup(ops, op);
  if (!o) return make_error("{}.op: unknown operator \"{}\"", where, op);
  return *o;
}

// "SCMP_ARCH_X86_64" -> libseccomp's token (equal to the AUDIT_ARCH_ value).
Result<uint32_t> parse_arch(const std::string& name, const std::string& where) {
  constexpr std::string_view prefix = "SCMP_ARCH_";
  uint32_t token = 0;
  if (name.starts_with(prefix)) {
    std::string lower = name.substr(prefix.size());
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    token = seccomp_arch_resolve_name(lower.c_str());
  }
  if (token == 0) return make_error("{}: unknown architecture \"{}\"", where, name);
  return token;
}

// Whether this kernel accepts the flag: with a NULL program seccomp(2) fails
// with EFAULT after checking the flags, or EINVAL when it does not know them.
bool kernel_has_flag(unsigned long flag) {
  unsigned long probe = flag;
  if (flag == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) probe |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, probe, nullptr);
  return rc < 0 && errno == EFAULT;
}

Result<unsigned int> parse_flags(const std::vector<std::string>& names) {
  static constexpr Named<unsigned long> known[] = {
      {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
      {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
      {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
      {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
  };
  unsigned long flags = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const unsigned long* flag = lookup(known, names[i]);
    if (!flag) return make_error("{}.flags[{}]: unknown flag \"{}\"", kWhere, i, names[i]);
    if (!kernel_has_flag(*flag)) {
      log::warn("seccomp flag {} is not supported by this kernel, ignoring it", names[i]);
      continue;
    }
    flags |= *flag;
  }
  // Without it a TSYNC failure is reported as a thread id, which cannot be
  // told apart from a listener fd.
  if ((flags & SECCOMP_FILTER_FLAG_TSYNC) && kernel_has_flag(SECCOMP_FILTER_FLAG_TSYNC_ESRCH))
    flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  return static_cast<unsigned int>(flags);
}

Result<std::vector<sock_filter>> export_bpf(scmp_filter_ctx ctx) {
  UniqueFd fd(::memfd_create("berth-seccomp", MFD_CLOEXEC));
  if (!fd) return errno_error("memfd_create");
  if (int rc = seccomp_export_bpf(ctx, fd.get()); rc < 0)
    return make_error("seccomp_export_bpf: {}", lib_error(rc));
  if (::lseek(fd.get(), 0, SEEK_SET) < 0) return errno_error("lseek");
  std::string bytes = TRY(read_fd(fd.get()));
  if (bytes.empty() || bytes.size() % sizeof(sock_filter) != 0)
    return make_error("seccomp_export_bpf: unexpected program size {}", bytes.size());
  std::vector<sock_filter> prog(bytes.size() / sizeof(sock_filter));
  std::memcpy(prog.data(), bytes.data(), bytes.size());
  return prog;
}

// The highest syscall number the profile names, per architecture in the
// filter, for the ENOSYS stub.
std::vector<ArchLimit> arch_limits(scmp_filter_ctx ctx, const std::vector<uint32_t>& arches,
                                   const std::vector<std::string>& named) {
  std::vector<ArchLimit> out;
  auto entry = [&](uint32_t audit_arch) -> ArchLimit& {
    for (auto& l : out)
      if (l.audit_arch == audit_arch) return l;
    out.push_back(ArchLimit{audit_arch});
    return out.back();
  };
  for (uint32_t token : arches) {
    if (seccomp_arch_exist(ctx, token) != 0) continue;
    bool x32 = token == SCMP_ARCH_X32;
    ArchLimit& l = entry(x32 ? AUDIT_ARCH_X86_64 : token);
    auto consider = [&](int nr) {
      if (nr < 0) return;
      if (!x32) {
        l.max = std::max<int64_t>(l.max, nr);
        return;
      }
      uint32_t n = static_cast<uint32_t>(nr);
      // x32's own entries (512+) are legacy duplicates, not newer calls.
      if ((n & kX32SyscallBit) && (n & ~kX32SyscallBit) < kX32LegacyFirst)
        l.x32_max = std::max<int64_t>(l.x32_max, n);
    };
    // Calls multiplexed on this arch (socket, semget on i386) have a pseudo
    // number; libseccomp filters both the multiplexer (socketcall, ipc) and
    // the direct entry newer kernels added, so both count as named.
    std::set<std::string, std::less<>> multiplexed;
    for (const auto& name : named) {
      int nr = seccomp_syscall_resolve_name_arch(token, name.c_str());
      if (nr >= 0) {
        consider(nr);
        continue;
      }
      multiplexed.insert(name);
      consider(seccomp_syscall_resolve_name_rewrite(token, name.c_str()));
    }
    if (multiplexed.empty()) continue;
    uint32_t base = x32 ? kX32SyscallBit : 0;
    uint32_t span = x32 ? kX32LegacyFirst : 1024;
    for (uint32_t nr = base; nr < base + span; ++nr) {
      char* name = seccomp_syscall_resolve_num_arch(token, static_cast<int>(nr));
      if (!name) continue;
      if (multiplexed.contains(std::string_view(name))) consider(static_cast<int>(nr));
      std::free(name);
    }
  }
  return out;
}

std::string kernel_id() {
  struct utsname u {};
  if (::uname(&u) < 0) return "unknown";
  return fmt::format("{} {}", u.machine, u.release);
}

// Everything that decides the compiled program, in a fixed order.
std::string cache_key(const oci::Seccomp& p) {
  nlohmann::json j;
  j["defaultAction"] = p.default_action;
  if (p.default_errno_ret) j["defaultErrnoRet"] = *p.default_errno_ret;
  j["architectures"] = p.architectures;
  j["flags"] = p.flags;
  auto& calls = j["syscalls"] = nlohmann::json::array();
  for (const auto& c : p.syscalls) {
    nlohmann::json x = {{"names", c.names}, {"action", c.action}};
    if (c.errno_ret) x["errnoRet"] = *c.errno_ret;
    auto& args = x["args"] = nlohmann::json::array();
    for (const auto& a : c.args)
      args.push_back(
          {{"index", a.index}, {"value", a.value}, {"valueTwo", a.value_two}, {"op", a.op}});
    calls.push_back(std::move(x));
  }
  const scmp_version* v = seccomp_version();
  return fmt::format("berth-seccomp {} tree\nlibseccomp {}.{}.{}\nkernel {}\n{}", kCacheFormat,
                     v->major, v->minor, v->micro, kernel_id(), j.dump());
}

void put_u32(std::string& out, uint32_t v) {
  out.append(reinterpret_cast<const char*>(&v), 4);
}

std::string serialize(const Program& prog, const std::string& key) {
  std::string out(kCacheMagic, sizeof kCacheMagic);
  put_u32(out, kCacheFormat);
  put_u32(out, prog.flags);
  put_u32(out, prog.uses_notify ? 1 : 0);
  put_u32(out, static_cast<uint32_t>(key.size()));
  out += key;
  put_u32(out, static_cast<uint32_t>(prog.filter.size()));
  out.append(reinterpret_cast<const char*>(prog.filter.data()),
             prog.filter.size() * sizeof(sock_filter));
  return out;
}

// nullopt when the file is not a complete cache entry for exactly this key.
std::optional<Program> deserialize(std::string_view in, const std::string& key) {
  auto take = [&](size_t n) -> std::optional<std::string_view> {
    if (in.size() < n) return std::nullopt;
    auto s = in.substr(0, n);
    in.remove_prefix(n);
    return s;
  };
  auto u32 = [&]() -> std::optional<uint32_t> {
    auto s = take(4);
    if (!s) return std::nullopt;
    uint32_t v;
    std::memcpy(&v, s->data(), 4);
    return v;
  };
  auto magic = take(sizeof kCacheMagic);
  if (!magic || *magic != std::string_view(kCacheMagic, sizeof kCacheMagic)) return std::nullopt;
  auto format = u32(), flags = u32(), notify = u32(), key_len = u32();
  if (!key_len || *format != kCacheFormat) return std::nullopt;
  auto stored_key = take(*key_len);
  if (!stored_key || *stored_key != key) return std::nullopt;
  auto count = u32();
  if (!count || *count == 0 || *count > BPF_MAXINSNS || in.size() != *count * sizeof(sock_filter))
    return std::nullopt;
  Program p;
  p.flags = *flags;
  p.uses_notify = *notify != 0;
  p.filter.resize(*count);
  std::memcpy(p.filter.data(), in.data(), in.size());
  return p;
}

Result<Program> compile_uncached(const oci::Seccomp& profile) {
  Program prog;
  uint32_t default_action = TRY(parse_action(profile.default_action, profile.default_errno_ret,
                                             fmt::format("{}.defaultAction", kWhere),
                                             fmt::format("{}.defaultErrnoRet", kWhere)));
  if (default_action == SCMP_ACT_NOTIFY)
    return make_error("{}.defaultAction: SCMP_ACT_NOTIFY cannot be the default action", kWhere);

  std::vector<uint32_t> arches = {seccomp_arch_native()};
  for (size_t i = 0; i < profile.architectures.size(); ++i)
    arches.push_back(
        TRY(parse_arch(profile.architectures[i], fmt::format("{}.architectures[{}]", kWhere, i))));
  prog.flags = TRY(parse_flags(profile.flags));

  Ctx c;
  c.ctx = seccomp_init(default_action);
  if (!c.ctx)
    return make_error("{}.defaultAction: libseccomp rejects {}", kWhere, profile.default_action);
  // The engine sets no_new_privs itself, when the spec asks for it.
  if (int rc = seccomp_attr_set(c.ctx, SCMP_FLTATR_CTL_NNP, 0); rc < 0)
    return make_error("seccomp_attr_set(CTL_NNP): {}", lib_error(rc));
  // A binary tree of syscall numbers rather than a list: a few hundred
  // allowed calls then cost a dozen comparisons instead of hundreds, on every
  // system call and when the kernel pre-computes its per-syscall action cache
  // at load (which emulates the filter for each syscall number of each arch).
  if (int rc = seccomp_attr_set(c.ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2); rc < 0)
    return make_error("seccomp_attr_set(CTL_OPTIMIZE): {}", lib_error(rc));
  for (size_t i = 1; i < arches.size(); ++i) {
    int rc = seccomp_arch_add(c.ctx, arches[i]);
    if (rc < 0 && rc != -EEXIST)
      return make_error("{}.architectures[{}]: adding {}: {}", kWhere, i - 1,
                        profile.architectures[i - 1], lib_error(rc));
  }

  std::vector<std::string> named;
  for (size_t i = 0; i < profile.syscalls.size(); ++i) {
    const auto& rule = profile.syscalls[i];
    std::string where = fmt::format("{}.syscalls[{}]", kWhere, i);
    uint32_t action =
        TRY(parse_action(rule.action, rule.errno_ret, where + ".action", where + ".errnoRet"));
    if (rule.names.empty()) return make_error("{}.names: must name at least one syscall", where);

    std::vector<scmp_arg_cmp> conds;
    std::array<int, 6> per_index{};
    for (size_t j = 0; j < rule.args.size(); ++j) {
      const auto& a = rule.args[j];
      std::string aw = fmt::format("{}.args[{}]", where, j);
      if (a.index > 5) return make_error("{}.index: {} is out of range (0-5)", aw, a.index);
      scmp_compare op = TRY(parse_op(a.op, aw));
      per_index[a.index]++;
      conds.push_back(scmp_arg_cmp{a.index, op, a.value, a.value_two});
    }
    // libseccomp cannot compare one argument twice in a rule: such entries
    // become one rule per condition (any match), as runc and crun do.
    bool split = std::any_of(per_index.begin(), per_index.end(), [](int n) { return n > 1; });

    for (const auto& name : rule.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        log::debug("seccomp: syscall {} is unknown to libseccomp, skipping it", name);
        continue;
      }
      named.push_back(name);
      // libseccomp refuses rules that repeat the default action; they are
      // redundant anyway.
      if (action == default_action) continue;
      auto add = [&](const scmp_arg_cmp* cs, unsigned n) -> Result<void> {
        int rc = seccomp_rule_add_array(c.ctx, action, nr, n, cs);
        if (rc < 0) return make_error("{}: adding {}: {}", where, name, lib_error(rc));
        return ok();
      };
      if (split) {
        for (const auto& cond : conds) TRY(add(&cond, 1));
      } else {
        TRY(add(conds.data(), static_cast<unsigned>(conds.size())));
      }
      if (action == SCMP_ACT_NOTIFY) prog.uses_notify = true;
    }
  }

  prog.filter = TRY(export_bpf(c.ctx));
  bool allows_by_default = default_action == SCMP_ACT_ALLOW || default_action == SCMP_ACT_LOG ||
                           default_action == SCMP_ACT_ERRNO(ENOSYS);
  if (!allows_by_default) {
    auto stub = enosys_stub(arch_limits(c.ctx, arches, named));
    prog.filter.insert(prog.filter.begin(), stub.begin(), stub.end());
  }
  if (prog.filter.size() > BPF_MAXINSNS)
    return make_error("{}: the compiled program has {} instructions, more than the kernel's {}",
                      kWhere, prog.filter.size(), BPF_MAXINSNS);
  return prog;
}

std::string cache_path_for(const std::string& key, const std::string& cache_dir) {
  return fmt::format("{}/{:016x}.bpf", cache_dir, fnv1a_64(key));
}

// The listener fields are not part of the program (nor of the cache key).
Result<void> check_listener(const oci::Seccomp& profile, const Program& prog) {
  if (profile.listener_path.empty()) {
    if (!profile.listener_metadata.empty())
      return make_error("{}.listenerMetadata: is set but listenerPath is not", kWhere);
    // Nobody would answer: the notified syscalls would block until the
    // listener is closed.
    if (prog.uses_notify)
      return make_error("{}.listenerPath: is required when SCMP_ACT_NOTIFY is used", kWhere);
  }
  return ok();
}

Result<Program> cached_compile(const oci::Seccomp& profile, const std::string& cache_dir) {
  if (cache_dir.empty()) return compile_uncached(profile);

  std::string key = cache_key(profile);
  std::string path = cache_path_for(key, cache_dir);
  if (auto bytes = read_file(path); bytes.ok()) {
    if (auto prog = deserialize(*bytes, key)) return *std::move(prog);
    log::debug("seccomp: ignoring stale or damaged cache entry {}", path);
  }

  Program prog = TRY(compile_uncached(profile));
  // The cache only saves time: failing to write it is not the container's
  // problem.
  if (auto r = mkdir_p(cache_dir, 0700); !r) {
    log::warn("seccomp cache: {}", r.error().message);
  } else {
    // Staged under a name of our own, so that containers starting at once
    // with the same profile do not write into each other's temporary file.
    std::string staged = fmt::format("{}.{}", path, ::getpid());
    if (auto w = write_file_atomic(staged, serialize(prog, key), 0600); !w) {
      log::warn("seccomp cache: {}", w.error().message);
    } else if (::rename(staged.c_str(), path.c_str()) < 0) {
      log::warn("seccomp cache: rename {}: {}", staged, std::strerror(errno));
      ::unlink(staged.c_str());
    }
  }
  return prog;
}

}  // namespace

std::string cache_path(const oci::Seccomp& profile, const std::string& cache_dir) {
  return cache_path_for(cache_key(profile), cache_dir);
}

Result<Program> compile(const oci::Seccomp& profile, const std::string& cache_dir) {
  Program prog = TRY(cached_compile(profile, cache_dir));
  TRY(check_listener(profile, prog));
  return prog;
}

}  // namespace berth::seccomp
