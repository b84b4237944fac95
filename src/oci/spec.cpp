#include "oci/spec.h"

#include <nlohmann/json.hpp>

#include "base/files.h"

namespace berth::oci {

using nlohmann::json;

const Namespace* Linux::find_namespace(std::string_view type) const {
  for (const auto& ns : namespaces)
    if (ns.type == type) return &ns;
  return nullptr;
}

namespace {

// Parse failures travel as exceptions inside this file only; the public
// functions turn them into Error values naming the JSON path.
struct Bad {
  std::string path, msg;
};

const char* type_name(const json& v) {
  return v.type_name();
}

std::string join(const std::string& p, const std::string& k) {
  return p.empty() ? k : p + "." + k;
}
std::string idx(const std::string& p, size_t i) {
  return fmt::format("{}[{}]", p, i);
}

void expect(bool cond, const std::string& path, const char* what, const json& v) {
  if (!cond) throw Bad{path, fmt::format("expected {}, got {}", what, type_name(v))};
}

const json* field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

void object(const json& v, const std::string& path) {
  expect(v.is_object(), path, "an object", v);
}

std::string str(const json& v, const std::string& path) {
  expect(v.is_string(), path, "a string", v);
  return v.get<std::string>();
}
bool boolean(const json& v, const std::string& path) {
  expect(v.is_boolean(), path, "a boolean", v);
  return v.get<bool>();
}
int64_t i64(const json& v, const std::string& path) {
  expect(v.is_number_integer(), path, "an integer", v);
  return v.get<int64_t>();
}
uint64_t u64(const json& v, const std::string& path) {
  expect(v.is_number_integer(), path, "an integer", v);
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  int64_t x = v.get<int64_t>();
  // -1 means "unlimited" in several places; keep it as all ones.
  if (x < 0 && x != -1) throw Bad{path, fmt::format("expected a non-negative integer, got {}", x)};
  return static_cast<uint64_t>(x);
}
uint32_t u32(const json& v, const std::string& path) {
  uint64_t x = u64(v, path);
  if (x > UINT32_MAX) throw Bad{path, fmt::format("{} is out of range for a 32-bit value", x)};
  return static_cast<uint32_t>(x);
}

template <typename T, typename F>
void opt(const json& obj, const char* key, const std::string& path, T& out, F conv) {
  if (auto* v = field(obj, key)) out = conv(*v, join(path, key));
}

std::vector<std::string> strings(const json& v, const std::string& path) {
  expect(v.is_array(), path, "an array of strings", v);
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); i++) out.push_back(str(v[i], idx(path, i)));
  return out;
}

template <typename T, typename F>
std::vector<T> array(const json& v, const std::string& path, F conv) {
  expect(v.is_array(), path, "an array", v);
  std::vector<T> out;
  for (size_t i = 0; i < v.size(); i++) out.push_back(conv(v[i], idx(path, i)));
  return out;
}

std::map<std::string, std::string> string_map(const json& v, const std::string& path) {
  object(v, path);
  std::map<std::string, std::string> out;
  for (auto& [k, x] : v.items()) out[k] = str(x, join(path, k));
  return out;
}

IdMapping id_mapping(const json& v, const std::string& p) {
  object(v, p);
  IdMapping m;
  opt(v, "containerID", p, m.container_id, u32);
  opt(v, "hostID", p, m.host_id, u32);
  opt(v, "size", p, m.size, u32);
  return m;
}

User user(const json& v, const std::string& p) {
  object(v, p);
  User u;
  opt(v, "uid", p, u.uid, u32);
  opt(v, "gid", p, u.gid, u32);
  opt(v, "umask", p, u.umask, u32);
  if (auto* g = field(v, "additionalGids"))
    u.additional_gids = array<uint32_t>(*g, join(p, "additionalGids"), u32);
  opt(v, "username", p, u.username, str);
  return u;
}

Capabilities caps(const json& v, const std::string& p) {
  object(v, p);
  Capabilities c;
  opt(v, "bounding", p, c.bounding, strings);
  opt(v, "effective", p, c.effective, strings);
  opt(v, "inheritable", p, c.inheritable, strings);
  opt(v, "permitted", p, c.permitted, strings);
  opt(v, "ambient", p, c.ambient, strings);
  return c;
}

Process process(const json& v, const std::string& p) {
  object(v, p);
  Process pr;
  opt(v, "terminal", p, pr.terminal, boolean);
  if (auto* cs = field(v, "consoleSize")) {
    object(*cs, join(p, "consoleSize"));
    ConsoleSize s;
    opt(*cs, "height", join(p, "consoleSize"), s.height, u32);
    opt(*cs, "width", join(p, "consoleSize"), s.width, u32);
    pr.console_size = s;
  }
  if (auto* u = field(v, "user")) pr.user = user(*u, join(p, "user"));
  opt(v, "args", p, pr.args, strings);
  opt(v, "env", p, pr.env, strings);
  opt(v, "cwd", p, pr.cwd, str);
  if (auto* c = field(v, "capabilities")) pr.capabilities = caps(*c, join(p, "capabilities"));
  if (auto* r = field(v, "rlimits"))
    pr.rlimits = array<Rlimit>(*r, join(p, "rlimits"), [](const json& x, const std::string& q) {
      object(x, q);
      Rlimit rl;
      opt(x, "type", q, rl.type, str);
      opt(x, "hard", q, rl.hard, u64);
      opt(x, "soft", q, rl.soft, u64);
      return rl;
    });
  opt(v, "noNewPrivileges", p, pr.no_new_privileges, boolean);
  opt(v, "apparmorProfile", p, pr.apparmor_profile, str);
  if (auto* o = field(v, "oomScoreAdj"))
    pr.oom_score_adj = static_cast<int>(i64(*o, join(p, "oomScoreAdj")));
  opt(v, "selinuxLabel", p, pr.selinux_label, str);
  if (auto* io = field(v, "ioPriority")) {
    std::string q = join(p, "ioPriority");
    object(*io, q);
    IoPriority x;
    opt(*io, "class", q, x.klass, str);
    if (auto* pri = field(*io, "priority"))
      x.priority = static_cast<int>(i64(*pri, join(q, "priority")));
    pr.io_priority = x;
  }
  if (auto* s = field(v, "scheduler")) {
    std::string q = join(p, "scheduler");
    object(*s, q);
    Scheduler x;
    opt(*s, "policy", q, x.policy, str);
    if (auto* n = field(*s, "nice")) x.nice = static_cast<int>(i64(*n, join(q, "nice")));
    if (auto* n = field(*s, "priority"))
      x.priority = static_cast<int>(i64(*n, join(q, "priority")));
    opt(*s, "flags", q, x.flags, strings);
    opt(*s, "runtime", q, x.runtime, u64);
    opt(*s, "deadline", q, x.deadline, u64);
    opt(*s, "period", q, x.period, u64);
    pr.scheduler = x;
  }
  return pr;
}

Hook hook(const json& v, const std::string& p) {
  object(v, p);
  Hook h;
  if (!field(v, "path")) throw Bad{join(p, "path"), "is required"};
  opt(v, "path", p, h.path, str);
  opt(v, "args", p, h.args, strings);
  opt(v, "env", p, h.env, strings);
  if (auto* t = field(v, "timeout")) {
    int64_t x = i64(*t, join(p, "timeout"));
    if (x <= 0) throw Bad{join(p, "timeout"), "must be greater than zero"};
    h.timeout = static_cast<int>(x);
  }
  return h;
}

Mount mount(const json& v, const std::string& p) {
  object(v, p);
  Mount m;
  if (!field(v, "destination")) throw Bad{join(p, "destination"), "is required"};
  opt(v, "destination", p, m.destination, str);
  opt(v, "type", p, m.type, str);
  opt(v, "source", p, m.source, str);
  opt(v, "options", p, m.options, strings);
  if (auto* x = field(v, "uidMappings"))
    m.uid_mappings = array<IdMapping>(*x, join(p, "uidMappings"), id_mapping);
  if (auto* x = field(v, "gidMappings"))
    m.gid_mappings = array<IdMapping>(*x, join(p, "gidMappings"), id_mapping);
  return m;
}

std::optional<int64_t> opt_dev_number(const json& v, const char* key, const std::string& p) {
  if (auto* x = field(v, key)) return i64(*x, join(p, key));
  return std::nullopt;
}

Resources resources(const json& v, const std::string& p) {
  object(v, p);
  Resources r;
  if (auto* d = field(v, "devices"))
    r.devices = array<DeviceRule>(*d, join(p, "devices"), [](const json& x, const std::string& q) {
      object(x, q);
      DeviceRule dr;
      if (!field(x, "allow")) throw Bad{join(q, "allow"), "is required"};
      opt(x, "allow", q, dr.allow, boolean);
      opt(x, "type", q, dr.type, str);
      dr.major = opt_dev_number(x, "major", q);
      dr.minor = opt_dev_number(x, "minor", q);
      opt(x, "access", q, dr.access, str);
      return dr;
    });
  if (auto* m = field(v, "memory")) {
    std::string q = join(p, "memory");
    object(*m, q);
    Memory mem;
    opt(*m, "limit", q, mem.limit, i64);
    opt(*m, "reservation", q, mem.reservation, i64);
    opt(*m, "swap", q, mem.swap, i64);
    opt(*m, "kernel", q, mem.kernel, i64);
    opt(*m, "kernelTCP", q, mem.kernel_tcp, i64);
    opt(*m, "swappiness", q, mem.swappiness, u64);
    opt(*m, "disableOOMKiller", q, mem.disable_oom_killer, boolean);
    opt(*m, "useHierarchy", q, mem.use_hierarchy, boolean);
    opt(*m, "checkBeforeUpdate", q, mem.check_before_update, boolean);
    r.memory = mem;
  }
  if (auto* c = field(v, "cpu")) {
    std::string q = join(p, "cpu");
    object(*c, q);
    Cpu cpu;
    opt(*c, "shares", q, cpu.shares, u64);
    opt(*c, "quota", q, cpu.quota, i64);
    opt(*c, "burst", q, cpu.burst, u64);
    opt(*c, "period", q, cpu.period, u64);
    opt(*c, "realtimeRuntime", q, cpu.realtime_runtime, i64);
    opt(*c, "realtimePeriod", q, cpu.realtime_period, u64);
    opt(*c, "cpus", q, cpu.cpus, str);
    opt(*c, "mems", q, cpu.mems, str);
    opt(*c, "idle", q, cpu.idle, i64);
    r.cpu = cpu;
  }
  if (auto* pids = field(v, "pids")) {
    object(*pids, join(p, "pids"));
    if (auto* l = field(*pids, "limit")) r.pids_limit = i64(*l, join(p, "pids.limit"));
  }
  if (auto* b = field(v, "blockIO")) {
    std::string q = join(p, "blockIO");
    object(*b, q);
    BlockIO bio;
    auto u16 = [](const json& x, const std::string& path) {
      uint64_t n = u64(x, path);
      if (n > 65535) throw Bad{path, "is out of range"};
      return static_cast<uint16_t>(n);
    };
    opt(*b, "weight", q, bio.weight, u16);
    opt(*b, "leafWeight", q, bio.leaf_weight, u16);
    if (auto* wd = field(*b, "weightDevice"))
      bio.weight_device = array<WeightDevice>(*wd, join(q, "weightDevice"),
                                              [&](const json& x, const std::string& s) {
                                                object(x, s);
                                                WeightDevice w;
                                                opt(x, "major", s, w.major, i64);
                                                opt(x, "minor", s, w.minor, i64);
                                                opt(x, "weight", s, w.weight, u16);
                                                opt(x, "leafWeight", s, w.leaf_weight, u16);
                                                return w;
                                              });
    auto throttle = [](const json& x, const std::string& s) {
      object(x, s);
      ThrottleDevice t;
      opt(x, "major", s, t.major, i64);
      opt(x, "minor", s, t.minor, i64);
      opt(x, "rate", s, t.rate, u64);
      return t;
    };
    if (auto* t = field(*b, "throttleReadBpsDevice"))
      bio.throttle_read_bps_device =
          array<ThrottleDevice>(*t, join(q, "throttleReadBpsDevice"), throttle);
    if (auto* t = field(*b, "throttleWriteBpsDevice"))
      bio.throttle_write_bps_device =
          array<ThrottleDevice>(*t, join(q, "throttleWriteBpsDevice"), throttle);
    if (auto* t = field(*b, "throttleReadIOPSDevice"))
      bio.throttle_read_iops_device =
          array<ThrottleDevice>(*t, join(q, "throttleReadIOPSDevice"), throttle);
    if (auto* t = field(*b, "throttleWriteIOPSDevice"))
      bio.throttle_write_iops_device =
          array<ThrottleDevice>(*t, join(q, "throttleWriteIOPSDevice"), throttle);
    r.block_io = bio;
  }
  if (auto* h = field(v, "hugepageLimits"))
    r.hugepage_limits = array<HugepageLimit>(*h, join(p, "hugepageLimits"),
                                             [](const json& x, const std::string& s) {
                                               object(x, s);
                                               HugepageLimit l;
                                               opt(x, "pageSize", s, l.page_size, str);
                                               opt(x, "limit", s, l.limit, u64);
                                               return l;
                                             });
  if (auto* n = field(v, "network")) {
    std::string q = join(p, "network");
    object(*n, q);
    Network net;
    opt(*n, "classID", q, net.class_id, u32);
    if (auto* pr = field(*n, "priorities"))
      net.priorities = array<NetworkPriority>(*pr, join(q, "priorities"),
                                              [](const json& x, const std::string& s) {
                                                object(x, s);
                                                NetworkPriority np;
                                                opt(x, "name", s, np.name, str);
                                                opt(x, "priority", s, np.priority, u32);
                                                return np;
                                              });
    r.network = net;
  }
  opt(v, "unified", p, r.unified, string_map);
  return r;
}

Seccomp seccomp(const json& v, const std::string& p) {
  object(v, p);
  Seccomp s;
  if (!field(v, "defaultAction")) throw Bad{join(p, "defaultAction"), "is required"};
  opt(v, "defaultAction", p, s.default_action, str);
  opt(v, "defaultErrnoRet", p, s.default_errno_ret, u32);
  opt(v, "architectures", p, s.architectures, strings);
  opt(v, "flags", p, s.flags, strings);
  opt(v, "listenerPath", p, s.listener_path, str);
  opt(v, "listenerMetadata", p, s.listener_metadata, str);
  if (auto* sc = field(v, "syscalls"))
    s.syscalls =
        array<SeccompSyscall>(*sc, join(p, "syscalls"), [](const json& x, const std::string& q) {
          object(x, q);
          SeccompSyscall c;
          opt(x, "names", q, c.names, strings);
          if (!field(x, "action")) throw Bad{join(q, "action"), "is required"};
          opt(x, "action", q, c.action, str);
          opt(x, "errnoRet", q, c.errno_ret, u32);
          if (auto* a = field(x, "args"))
            c.args =
                array<SeccompArg>(*a, join(q, "args"), [](const json& y, const std::string& r) {
                  object(y, r);
                  SeccompArg arg;
                  opt(y, "index", r, arg.index, u32);
                  opt(y, "value", r, arg.value, u64);
                  opt(y, "valueTwo", r, arg.value_two, u64);
                  opt(y, "op", r, arg.op, str);
                  return arg;
                });
          return c;
        });
  return s;
}

Linux linux_section(const json& v, const std::string& p) {
  object(v, p);
  Linux l;
  if (auto* n = field(v, "namespaces"))
    l.namespaces =
        array<Namespace>(*n, join(p, "namespaces"), [](const json& x, const std::string& q) {
          object(x, q);
          Namespace ns;
          opt(x, "type", q, ns.type, str);
          opt(x, "path", q, ns.path, str);
          return ns;
        });
  if (auto* x = field(v, "uidMappings"))
    l.uid_mappings = array<IdMapping>(*x, join(p, "uidMappings"), id_mapping);
  if (auto* x = field(v, "gidMappings"))
    l.gid_mappings = array<IdMapping>(*x, join(p, "gidMappings"), id_mapping);
  if (auto* t = field(v, "timeOffsets")) {
    object(*t, join(p, "timeOffsets"));
    for (auto& [k, x] : t->items()) {
      std::string q = join(join(p, "timeOffsets"), k);
      object(x, q);
      TimeOffset o;
      opt(x, "secs", q, o.secs, i64);
      opt(x, "nanosecs", q, o.nanosecs, u32);
      l.time_offsets[k] = o;
    }
  }
  if (auto* d = field(v, "devices"))
    l.devices = array<Device>(*d, join(p, "devices"), [](const json& x, const std::string& q) {
      object(x, q);
      Device dev;
      opt(x, "type", q, dev.type, str);
      opt(x, "path", q, dev.path, str);
      opt(x, "major", q, dev.major, i64);
      opt(x, "minor", q, dev.minor, i64);
      opt(x, "fileMode", q, dev.file_mode, u32);
      opt(x, "uid", q, dev.uid, u32);
      opt(x, "gid", q, dev.gid, u32);
      return dev;
    });
  opt(v, "cgroupsPath", p, l.cgroups_path, str);
  if (auto* r = field(v, "resources")) l.resources = resources(*r, join(p, "resources"));
  opt(v, "rootfsPropagation", p, l.rootfs_propagation, str);
  if (auto* s = field(v, "seccomp")) l.seccomp = seccomp(*s, join(p, "seccomp"));
  opt(v, "sysctl", p, l.sysctl, string_map);
  opt(v, "maskedPaths", p, l.masked_paths, strings);
  opt(v, "readonlyPaths", p, l.readonly_paths, strings);
  opt(v, "mountLabel", p, l.mount_label, str);
  if (auto* pe = field(v, "personality")) {
    std::string q = join(p, "personality");
    object(*pe, q);
    Personality per;
    opt(*pe, "domain", q, per.domain, str);
    opt(*pe, "flags", q, per.flags, strings);
    l.personality = per;
  }
  return l;
}

Spec spec(const json& v) {
  object(v, "config");
  Spec s;
  if (!field(v, "ociVersion")) throw Bad{"ociVersion", "is required"};
  opt(v, "ociVersion", "", s.oci_version, str);
  if (auto* pr = field(v, "process")) s.process = process(*pr, "process");
  if (auto* r = field(v, "root")) {
    object(*r, "root");
    opt(*r, "path", "root", s.root.path, str);
    opt(*r, "readonly", "root", s.root.readonly, boolean);
  }
  opt(v, "hostname", "", s.hostname, str);
  opt(v, "domainname", "", s.domainname, str);
  if (auto* m = field(v, "mounts")) s.mounts = array<Mount>(*m, "mounts", mount);
  if (auto* h = field(v, "hooks")) {
    object(*h, "hooks");
    auto list = [&](const char* k, std::vector<Hook>& out) {
      if (auto* x = field(*h, k)) out = array<Hook>(*x, join("hooks", k), hook);
    };
    list("prestart", s.hooks.prestart);
    list("createRuntime", s.hooks.create_runtime);
    list("createContainer", s.hooks.create_container);
    list("startContainer", s.hooks.start_container);
    list("poststart", s.hooks.poststart);
    list("poststop", s.hooks.poststop);
  }
  opt(v, "annotations", "", s.annotations, string_map);
  if (auto* l = field(v, "linux")) s.linux = linux_section(*l, "linux");
  return s;
}

template <typename F>
auto guarded(F f) -> Result<decltype(f())> {
  try {
    return f();
  } catch (const Bad& b) {
    return make_error("{}: {}", b.path, b.msg);
  } catch (const json::exception& e) {
    return make_error("{}", e.what());
  }
}

// --- serialization ---------------------------------------------------------

json j_mapping(const IdMapping& m) {
  return {{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}};
}
json j_mappings(const std::vector<IdMapping>& v) {
  json a = json::array();
  for (auto& m : v) a.push_back(j_mapping(m));
  return a;
}
template <typename T>
void put(json& j, const char* k, const std::optional<T>& v) {
  if (v) j[k] = *v;
}
void put_str(json& j, const char* k, const std::string& v) {
  if (!v.empty()) j[k] = v;
}

json j_hook(const Hook& h) {
  json j = {{"path", h.path}};
  if (!h.args.empty()) j["args"] = h.args;
  if (!h.env.empty()) j["env"] = h.env;
  put(j, "timeout", h.timeout);
  return j;
}

}  // namespace

json to_json(const Process& p) {
  json j;
  j["terminal"] = p.terminal;
  if (p.console_size)
    j["consoleSize"] = {{"height", p.console_size->height}, {"width", p.console_size->width}};
  json u = {{"uid", p.user.uid}, {"gid", p.user.gid}};
  put(u, "umask", p.user.umask);
  if (!p.user.additional_gids.empty()) u["additionalGids"] = p.user.additional_gids;
  put_str(u, "username", p.user.username);
  j["user"] = u;
  j["args"] = p.args;
  j["env"] = p.env;
  j["cwd"] = p.cwd;
  if (p.capabilities) {
    json c;
    c["bounding"] = p.capabilities->bounding;
    c["effective"] = p.capabilities->effective;
    if (!p.capabilities->inheritable.empty()) c["inheritable"] = p.capabilities->inheritable;
    c["permitted"] = p.capabilities->permitted;
    if (!p.capabilities->ambient.empty()) c["ambient"] = p.capabilities->ambient;
    j["capabilities"] = c;
  }
  if (!p.rlimits.empty()) {
    json a = json::array();
    for (auto& r : p.rlimits) a.push_back({{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}});
    j["rlimits"] = a;
  }
  j["noNewPrivileges"] = p.no_new_privileges;
  put_str(j, "apparmorProfile", p.apparmor_profile);
  put(j, "oomScoreAdj", p.oom_score_adj);
  put_str(j, "selinuxLabel", p.selinux_label);
  if (p.io_priority)
    j["ioPriority"] = {{"class", p.io_priority->klass}, {"priority", p.io_priority->priority}};
  if (p.scheduler) {
    json s = {{"policy", p.scheduler->policy}};
    put(s, "nice", p.scheduler->nice);
    put(s, "priority", p.scheduler->priority);
    if (!p.scheduler->flags.empty()) s["flags"] = p.scheduler->flags;
    put(s, "runtime", p.scheduler->runtime);
    put(s, "deadline", p.scheduler->deadline);
    put(s, "period", p.scheduler->period);
    j["scheduler"] = s;
  }
  return j;
}

json to_json(const Resources& r) {
  json j = json::object();
  if (!r.devices.empty()) {
    json a = json::array();
    for (auto& d : r.devices) {
      json x = {{"allow", d.allow}};
      put_str(x, "type", d.type);
      put(x, "major", d.major);
      put(x, "minor", d.minor);
      put_str(x, "access", d.access);
      a.push_back(x);
    }
    j["devices"] = a;
  }
  if (r.memory) {
    json m = json::object();
    put(m, "limit", r.memory->limit);
    put(m, "reservation", r.memory->reservation);
    put(m, "swap", r.memory->swap);
    put(m, "kernel", r.memory->kernel);
    put(m, "kernelTCP", r.memory->kernel_tcp);
    put(m, "swappiness", r.memory->swappiness);
    put(m, "disableOOMKiller", r.memory->disable_oom_killer);
    put(m, "useHierarchy", r.memory->use_hierarchy);
    put(m, "checkBeforeUpdate", r.memory->check_before_update);
    j["memory"] = m;
  }
  if (r.cpu) {
    json c = json::object();
    put(c, "shares", r.cpu->shares);
    put(c, "quota", r.cpu->quota);
    put(c, "burst", r.cpu->burst);
    put(c, "period", r.cpu->period);
    put(c, "realtimeRuntime", r.cpu->realtime_runtime);
    put(c, "realtimePeriod", r.cpu->realtime_period);
    put_str(c, "cpus", r.cpu->cpus);
    put_str(c, "mems", r.cpu->mems);
    put(c, "idle", r.cpu->idle);
    j["cpu"] = c;
  }
  if (r.pids_limit) j["pids"] = {{"limit", *r.pids_limit}};
  if (r.block_io) {
    json b = json::object();
    put(b, "weight", r.block_io->weight);
    put(b, "leafWeight", r.block_io->leaf_weight);
    if (!r.block_io->weight_device.empty()) {
      json a = json::array();
      for (auto& w : r.block_io->weight_device) {
        json x = {{"major", w.major}, {"minor", w.minor}};
        put(x, "weight", w.weight);
        put(x, "leafWeight", w.leaf_weight);
        a.push_back(x);
      }
      b["weightDevice"] = a;
    }
    auto th = [&](const char* k, const std::vector<ThrottleDevice>& v) {
      if (v.empty()) return;
      json a = json::array();
      for (auto& t : v) a.push_back({{"major", t.major}, {"minor", t.minor}, {"rate", t.rate}});
      b[k] = a;
    };
    th("throttleReadBpsDevice", r.block_io->throttle_read_bps_device);
    th("throttleWriteBpsDevice", r.block_io->throttle_write_bps_device);
    th("throttleReadIOPSDevice", r.block_io->throttle_read_iops_device);
    th("throttleWriteIOPSDevice", r.block_io->throttle_write_iops_device);
    j["blockIO"] = b;
  }
  if (!r.hugepage_limits.empty()) {
    json a = json::array();
    for (auto& h : r.hugepage_limits) a.push_back({{"pageSize", h.page_size}, {"limit", h.limit}});
    j["hugepageLimits"] = a;
  }
  if (r.network) {
    json n = json::object();
    put(n, "classID", r.network->class_id);
    if (!r.network->priorities.empty()) {
      json a = json::array();
      for (auto& p : r.network->priorities)
        a.push_back({{"name", p.name}, {"priority", p.priority}});
      n["priorities"] = a;
    }
    j["network"] = n;
  }
  if (!r.unified.empty()) j["unified"] = r.unified;
  return j;
}

json to_json(const Spec& s) {
  json j;
  j["ociVersion"] = s.oci_version;
  if (s.process) j["process"] = to_json(*s.process);
  j["root"] = {{"path", s.root.path}, {"readonly", s.root.readonly}};
  put_str(j, "hostname", s.hostname);
  put_str(j, "domainname", s.domainname);
  json mounts = json::array();
  for (auto& m : s.mounts) {
    json x = {{"destination", m.destination}};
    put_str(x, "type", m.type);
    put_str(x, "source", m.source);
    if (!m.options.empty()) x["options"] = m.options;
    if (!m.uid_mappings.empty()) x["uidMappings"] = j_mappings(m.uid_mappings);
    if (!m.gid_mappings.empty()) x["gidMappings"] = j_mappings(m.gid_mappings);
    mounts.push_back(x);
  }
  j["mounts"] = mounts;
  json hooks = json::object();
  auto hl = [&](const char* k, const std::vector<Hook>& v) {
    if (v.empty()) return;
    json a = json::array();
    for (auto& h : v) a.push_back(j_hook(h));
    hooks[k] = a;
  };
  hl("prestart", s.hooks.prestart);
  hl("createRuntime", s.hooks.create_runtime);
  hl("createContainer", s.hooks.create_container);
  hl("startContainer", s.hooks.start_container);
  hl("poststart", s.hooks.poststart);
  hl("poststop", s.hooks.poststop);
  if (!hooks.empty()) j["hooks"] = hooks;
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  if (s.linux) {
    const Linux& l = *s.linux;
    json x = json::object();
    if (!l.uid_mappings.empty()) x["uidMappings"] = j_mappings(l.uid_mappings);
    if (!l.gid_mappings.empty()) x["gidMappings"] = j_mappings(l.gid_mappings);
    if (!l.time_offsets.empty()) {
      json t = json::object();
      for (auto& [k, o] : l.time_offsets) t[k] = {{"secs", o.secs}, {"nanosecs", o.nanosecs}};
      x["timeOffsets"] = t;
    }
    if (!l.devices.empty()) {
      json a = json::array();
      for (auto& d : l.devices) {
        json y = {{"type", d.type}, {"path", d.path}, {"major", d.major}, {"minor", d.minor}};
        put(y, "fileMode", d.file_mode);
        put(y, "uid", d.uid);
        put(y, "gid", d.gid);
        a.push_back(y);
      }
      x["devices"] = a;
    }
    put_str(x, "cgroupsPath", l.cgroups_path);
    if (l.resources) x["resources"] = to_json(*l.resources);
    put_str(x, "rootfsPropagation", l.rootfs_propagation);
    if (l.seccomp) {
      const Seccomp& sc = *l.seccomp;
      json y = {{"defaultAction", sc.default_action}};
      put(y, "defaultErrnoRet", sc.default_errno_ret);
      if (!sc.architectures.empty()) y["architectures"] = sc.architectures;
      if (!sc.flags.empty()) y["flags"] = sc.flags;
      put_str(y, "listenerPath", sc.listener_path);
      put_str(y, "listenerMetadata", sc.listener_metadata);
      json a = json::array();
      for (auto& c : sc.syscalls) {
        json z = {{"names", c.names}, {"action", c.action}};
        put(z, "errnoRet", c.errno_ret);
        if (!c.args.empty()) {
          json args = json::array();
          for (auto& ar : c.args)
            args.push_back({{"index", ar.index},
                            {"value", ar.value},
                            {"valueTwo", ar.value_two},
                            {"op", ar.op}});
          z["args"] = args;
        }
        a.push_back(z);
      }
      y["syscalls"] = a;
      x["seccomp"] = y;
    }
    if (!l.sysctl.empty()) x["sysctl"] = l.sysctl;
    if (!l.masked_paths.empty()) x["maskedPaths"] = l.masked_paths;
    if (!l.readonly_paths.empty()) x["readonlyPaths"] = l.readonly_paths;
    put_str(x, "mountLabel", l.mount_label);
    if (l.personality) {
      json y = {{"domain", l.personality->domain}};
      if (!l.personality->flags.empty()) y["flags"] = l.personality->flags;
      x["personality"] = y;
    }
    json ns = json::array();
    for (auto& n : l.namespaces) {
      json y = {{"type", n.type}};
      put_str(y, "path", n.path);
      ns.push_back(y);
    }
    x["namespaces"] = ns;
    j["linux"] = x;
  }
  return j;
}

Result<Spec> parse_spec(const json& j) {
  return guarded([&] { return spec(j); });
}

Result<Process> parse_process(const json& j, const std::string& where) {
  return guarded([&] { return process(j, where); });
}

Result<Resources> parse_resources(const json& j, const std::string& where) {
  return guarded([&] { return resources(j, where); });
}

Result<Seccomp> parse_seccomp(const json& j, const std::string& where) {
  return guarded([&] { return seccomp(j, where); });
}

Result<Spec> parse_spec_text(std::string_view text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for 1e999
    return make_error("invalid JSON: {}", e.what());
  }
  return parse_spec(j);
}

Result<Spec> load_spec(const std::string& path) {
  auto text = TRY(read_file(path));
  auto r = parse_spec_text(text);
  if (!r) return std::move(r).error().wrap(path);
  return r;
}

}  // namespace berth::oci
