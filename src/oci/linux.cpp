// The linux section of a spec (namespaces, id mappings, devices, seccomp,
// sysctl, masked paths, ...): parsed, written back, and looked up.
#include <nlohmann/json.hpp>

#include "oci/spec.h"
#include "oci/spec_json.h"

namespace berth::oci {

using nlohmann::json;
using namespace internal;

const Namespace* Linux::find_namespace(std::string_view type) const {
  for (const auto& ns : namespaces)
    if (ns.type == type) return &ns;
  return nullptr;
}

Seccomp internal::seccomp(const json& v, const std::string& p) {
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

Linux internal::linux_section(const json& v, const std::string& p) {
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

json internal::j_linux(const Linux& l) {
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
  return x;
}

Result<Seccomp> parse_seccomp(const json& j, const std::string& where) {
  return guarded([&] { return seccomp(j, where); });
}

}  // namespace berth::oci
