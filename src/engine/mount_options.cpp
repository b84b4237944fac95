#include "engine/mount_options.h"

#include <sys/mount.h>

#include "base/table.h"

namespace berth::engine {
namespace {

struct Opt {
  bool clear;
  unsigned long flag;
};

constexpr Named<Opt> kFlags[] = {
    {"ro", {false, MS_RDONLY}},
    {"rw", {true, MS_RDONLY}},
    {"nosuid", {false, MS_NOSUID}},
    {"suid", {true, MS_NOSUID}},
    {"nodev", {false, MS_NODEV}},
    {"dev", {true, MS_NODEV}},
    {"noexec", {false, MS_NOEXEC}},
    {"exec", {true, MS_NOEXEC}},
    {"sync", {false, MS_SYNCHRONOUS}},
    {"async", {true, MS_SYNCHRONOUS}},
    {"dirsync", {false, MS_DIRSYNC}},
    {"remount", {false, MS_REMOUNT}},
    {"mand", {false, MS_MANDLOCK}},
    {"nomand", {true, MS_MANDLOCK}},
    {"atime", {true, MS_NOATIME}},
    {"noatime", {false, MS_NOATIME}},
    {"diratime", {true, MS_NODIRATIME}},
    {"nodiratime", {false, MS_NODIRATIME}},
    {"relatime", {false, MS_RELATIME}},
    {"norelatime", {true, MS_RELATIME}},
    {"strictatime", {false, MS_STRICTATIME}},
    {"nostrictatime", {true, MS_STRICTATIME}},
    {"lazytime", {false, MS_LAZYTIME}},
    {"nolazytime", {true, MS_LAZYTIME}},
    {"silent", {false, MS_SILENT}},
    {"loud", {true, MS_SILENT}},
    {"iversion", {false, MS_I_VERSION}},
    {"noiversion", {true, MS_I_VERSION}},
};

constexpr Named<unsigned long> kPropagation[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

}  // namespace

MountFlags parse_mount_options(const std::vector<std::string>& options) {
  MountFlags m;
  for (const auto& o : options) {
    if (const Opt* f = lookup(kFlags, o)) {
      if (f->clear) {
        m.flags &= ~f->flag;
        m.clear |= f->flag;
      } else {
        m.flags |= f->flag;
        m.clear &= ~f->flag;
      }
    } else if (const unsigned long* p = lookup(kPropagation, o)) {
      m.propagation = *p;
    } else if (o == "bind") {
      m.bind = true;
    } else if (o == "rbind") {
      m.bind = m.recursive = true;
    } else if (o == "idmap") {
      m.idmap = true;
    } else if (o == "ridmap") {
      m.idmap = m.recursive_idmap = true;
    } else if (o == "nosymfollow") {
      m.nosymfollow = true;
    } else if (o == "symfollow") {
      m.nosymfollow = false;
    } else if (o == "tmpcopyup" || o == "copy-symlink" || o == "src-nofollow" ||
               o == "dest-nofollow") {
      // podman/crun extensions berth does not need; accepted and ignored.
    } else {
      if (!m.data.empty()) m.data += ',';
      m.data += o;
    }
  }
  return m;
}

std::vector<std::string> known_mount_options() {
  std::vector<std::string> out;
  for (auto& f : kFlags) out.emplace_back(f.name);
  for (auto& p : kPropagation) out.emplace_back(p.name);
  for (const char* k :
       {"bind", "rbind", "idmap", "ridmap", "nosymfollow", "symfollow", "tmpcopyup"})
    out.push_back(k);
  return out;
}

std::string overlay_escape(const std::string& path) {
  std::string out;
  for (char ch : path) {
    if (ch == ',' || ch == ':' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

}  // namespace berth::engine
