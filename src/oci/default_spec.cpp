// The default config.json written by `berth-oci spec`, matching `runc spec`.
#include <unistd.h>

#include "oci/spec.h"

namespace berth::oci {

Spec default_spec(bool rootless) {
  Spec s;
  Process p;
  p.terminal = true;
  p.args = {"sh"};
  p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
  p.cwd = "/";
  std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  p.capabilities = Capabilities{caps, caps, {}, caps, {}};
  p.rlimits = {{"RLIMIT_NOFILE", 1024, 1024}};
  p.no_new_privileges = true;
  s.process = p;
  s.root = {"rootfs", true};
  s.hostname = "berth";
  s.mounts = {
      {"/proc", "proc", "proc", {}, {}, {}},
      {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}, {}, {}},
      {"/dev/pts",
       "devpts",
       "devpts",
       {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"},
       {},
       {}},
      {"/dev/shm",
       "tmpfs",
       "shm",
       {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"},
       {},
       {}},
      {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}, {}, {}},
      {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}, {}, {}},
      {"/sys/fs/cgroup",
       "cgroup",
       "cgroup",
       {"nosuid", "noexec", "nodev", "relatime", "ro"},
       {},
       {}},
  };
  Linux l;
  l.masked_paths = {"/proc/acpi",        "/proc/asound",        "/proc/kcore",
                    "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
                    "/proc/timer_stats", "/proc/sched_debug",   "/sys/firmware",
                    "/proc/scsi"};
  l.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  l.namespaces = {{"pid", ""}, {"network", ""}, {"ipc", ""},
                  {"uts", ""}, {"mount", ""},   {"cgroup", ""}};
  if (rootless) {
    l.namespaces.push_back({"user", ""});
    l.uid_mappings = {{0, static_cast<uint32_t>(::getuid()), 1}};
    l.gid_mappings = {{0, static_cast<uint32_t>(::getgid()), 1}};
    // A rootless container cannot mount a fresh sysfs or cgroupfs.
    for (auto& m : s.mounts) {
      if (m.destination == "/sys")
        m = {"/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}, {}, {}};
    }
    std::erase_if(s.mounts, [](const Mount& m) { return m.destination == "/sys/fs/cgroup"; });
    for (auto& m : s.mounts)
      if (m.destination == "/dev/pts") std::erase(m.options, std::string("gid=5"));
  } else {
    Resources r;
    r.devices = {{false, "", std::nullopt, std::nullopt, "rwm"}};
    l.resources = r;
  }
  s.linux = l;
  return s;
}

}  // namespace berth::oci
