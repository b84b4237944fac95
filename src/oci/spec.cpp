#include "oci/spec.h"

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "oci/spec_json.h"

namespace berth::oci {

using nlohmann::json;
using namespace internal;

namespace {

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
  if (s.linux) j["linux"] = j_linux(*s.linux);
  return j;
}

Result<Spec> parse_spec(const json& j) {
  return guarded([&] { return spec(j); });
}

Result<Process> parse_process(const json& j, const std::string& where) {
  return guarded([&] { return process(j, where); });
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
