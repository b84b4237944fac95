#include "decl/spec.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "base/files.h"
#include "decl/personality.h"

namespace berth::decl {
namespace {

// nesting = true: what a runtime inside needs (see decl.h).
void allow_nesting(oci::Linux& l) {
  auto under_proc_or_sys = [](const std::string& p) {
    return p == "/proc" || p.starts_with("/proc/") || p == "/sys" || p.starts_with("/sys/");
  };
  std::erase_if(l.masked_paths, under_proc_or_sys);
  std::erase_if(l.readonly_paths, under_proc_or_sys);
  if (!l.seccomp) return;
  // Keyrings (crun and runc give each container a session keyring of its own).
  const std::vector<std::string> keyrings = {"add_key", "keyctl", "request_key"};
  for (auto& rule : l.seccomp->syscalls)
    std::erase_if(rule.names, [&](const std::string& n) {
      return std::find(keyrings.begin(), keyrings.end(), n) != keyrings.end();
    });
  std::erase_if(l.seccomp->syscalls, [](const oci::SeccompSyscall& r) { return r.names.empty(); });
  l.seccomp->syscalls.push_back({keyrings, "SCMP_ACT_ALLOW", std::nullopt, {}});
}

constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

std::string join_path(const std::string& root, const std::string& rel) {
  if (root.empty() || root == "/") return "/" + rel;
  return root.back() == '/' ? root + rel : root + "/" + rel;
}

// Devices every container gets (as runc and nspawn allow them).
std::vector<oci::DeviceRule> standard_device_rules() {
  return {
      {true, "c", 1, 3, "rwm"}, {true, "c", 1, 5, "rwm"}, {true, "c", 1, 7, "rwm"},
      {true, "c", 1, 8, "rwm"}, {true, "c", 1, 9, "rwm"}, {true, "c", 5, 0, "rwm"},
      {true, "c", 5, 1, "rwm"}, {true, "c", 5, 2, "rwm"}, {true, "c", 136, std::nullopt, "rwm"},
  };
}

// The host's systemd booting over an empty /etc (share_host + boot), as a
// NixOS container boots a system from the shared store. On its first boot
// systemd "presets" every unit, which on Debian enables all the host's
// installed services (databases, container engines, networkd with its
// wait-online that holds READY=1 for two minutes): the preset here enables
// none, so the guest runs the host's static units (journald, dbus, logind)
// plus what its own /etc enables. systemd-firstboot would wait for answers
// on the console. Written only when missing: the guest's /etc is its own.
Result<void> prepare_shared_boot_etc(const std::string& etc) {
  TRY(mkdir_p(etc + "systemd/system-preset", 0755));
  std::string preset = etc + "systemd/system-preset/00-berth.preset";
  if (!path_exists(preset))
    TRY(write_file_atomic(preset,
                          "# written by berth: a share_host guest enables no host service by "
                          "default\ndisable *\n"));
  std::string firstboot = etc + "systemd/system/systemd-firstboot.service";
  struct stat st;
  TRY(mkdir_p(etc + "systemd/system", 0755));
  if (::lstat(firstboot.c_str(), &st) != 0 && ::symlink("/dev/null", firstboot.c_str()) != 0)
    return errno_error("mask {}", firstboot);
  if (!path_exists(etc + "locale.conf"))
    TRY(write_file_atomic(etc + "locale.conf", "LANG=C.UTF-8\n"));
  return ok();
}

// The declared limits (resources = {...}) as OCI resources.
void add_limits(const Container& c, oci::Resources& r) {
  if (c.resources.memory) {
    oci::Memory m;
    m.limit = static_cast<int64_t>(*c.resources.memory);
    r.memory = m;
  }
  if (c.resources.cpu) {
    oci::Cpu cpu;
    cpu.period = 100000;
    cpu.quota = std::max<int64_t>(1000, std::llround(*c.resources.cpu * 100000));
    r.cpu = cpu;
  }
  if (c.resources.pids) r.pids_limit = *c.resources.pids;
  if (c.resources.io_weight) {
    oci::BlockIO b;
    b.weight = *c.resources.io_weight;
    r.block_io = b;
  }
}

constexpr const char* kNotifyInContainer = "/run/host/notify";

// The host's part of the spec (SpecContext: notify_dir,
// grantable_capabilities, default_seccomp).
void add_host_part(oci::Spec& s, const Container& c, const SpecContext& ctx) {
  if (!ctx.notify_dir.empty()) {
    bool has_run = std::any_of(s.mounts.begin(), s.mounts.end(),
                               [](const oci::Mount& m) { return m.destination == "/run"; });
    bool tree_has_run = path_exists(s.root.path + "/run");
    if (!has_run && tree_has_run)
      s.mounts.push_back({"/run", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=755"}, {}, {}});
    if (has_run || tree_has_run) {
      s.mounts.push_back({kNotifyInContainer, "bind", ctx.notify_dir, {"rbind", "rw"}, {}, {}});
      s.process->env.push_back(std::string("NOTIFY_SOCKET=") + kNotifyInContainer + "/notify.sock");
    }
  }
  if (ctx.grantable_capabilities && s.process->capabilities) {
    uint64_t grantable = *ctx.grantable_capabilities;
    auto keep = [grantable](std::vector<std::string>& v) {
      std::erase_if(v, [grantable](const std::string& name) {
        auto n = capability_number(name);
        return n && (*n >= 64 || !(grantable >> *n & 1));
      });
    };
    auto& caps = *s.process->capabilities;
    for (auto* set :
         {&caps.bounding, &caps.effective, &caps.inheritable, &caps.permitted, &caps.ambient})
      keep(*set);
  }
  if (c.seccomp && ctx.default_seccomp && !s.linux->seccomp) s.linux->seccomp = ctx.default_seccomp;
  if (c.nesting) allow_nesting(*s.linux);
}

}  // namespace

std::vector<std::string> shared_host_dirs() {
  static constexpr std::string_view dirs[] = {"usr",   "bin",   "sbin",  "lib",
                                              "lib64", "lib32", "libx32"};
  return {std::begin(dirs), std::end(dirs)};
}

std::vector<std::string> default_capabilities() {
  static constexpr std::string_view caps[] = {"CAP_CHOWN",
                                              "CAP_DAC_OVERRIDE",
                                              "CAP_DAC_READ_SEARCH",
                                              "CAP_FOWNER",
                                              "CAP_FSETID",
                                              "CAP_IPC_OWNER",
                                              "CAP_KILL",
                                              "CAP_LEASE",
                                              "CAP_LINUX_IMMUTABLE",
                                              "CAP_MKNOD",
                                              "CAP_NET_BIND_SERVICE",
                                              "CAP_NET_BROADCAST",
                                              "CAP_NET_RAW",
                                              "CAP_SETFCAP",
                                              "CAP_SETGID",
                                              "CAP_SETPCAP",
                                              "CAP_SETUID",
                                              "CAP_SYS_ADMIN",
                                              "CAP_SYS_BOOT",
                                              "CAP_SYS_CHROOT",
                                              "CAP_SYS_NICE",
                                              "CAP_SYS_PTRACE",
                                              "CAP_SYS_RESOURCE",
                                              "CAP_AUDIT_CONTROL",
                                              "CAP_AUDIT_WRITE"};
  return {std::begin(caps), std::end(caps)};
}

std::vector<std::string> command_capabilities() {
  static constexpr std::string_view caps[] = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE",     "CAP_FOWNER",     "CAP_FSETID",
      "CAP_KILL",    "CAP_NET_BIND_SERVICE", "CAP_SETFCAP",    "CAP_SETGID",
      "CAP_SETPCAP", "CAP_SETUID",           "CAP_SYS_CHROOT", "CAP_AUDIT_WRITE"};
  return {std::begin(caps), std::end(caps)};
}

std::vector<std::string> capabilities_of(const Container& c) {
  std::vector<std::string> caps = c.boot ? default_capabilities() : command_capabilities();
  if (!c.boot && c.private_network) add_unique(caps, "CAP_NET_RAW");
  // A booted system configures its own network namespace (networkd, a
  // firewall); a command's network is configured by the monitor from the
  // host before it starts, so it needs no CAP_NET_ADMIN for it. A tun device
  // needs CAP_NET_ADMIN (TUNSETIFF) either way.
  if ((c.boot && c.private_network) || c.enable_tun) add_unique(caps, "CAP_NET_ADMIN");
  for (auto& cap : c.additional_capabilities) add_unique(caps, cap);
  return caps;
}

std::string host_takeover_reason(const Container& c) {
  // With a user namespace every capability is the namespace's: the mounts
  // berth made read-only are locked, the host's files are not its root's.
  if (c.private_users.mode != PrivateUsers::Mode::No) return "";
  if (c.boot) {
    bool declared = c.key_lines.count("private_users") > 0;
    return fmt::format(
        "private_users = \"no\"{} on a booted container: it holds CAP_SYS_ADMIN "
        "in the host's user namespace",
        declared ? "" : " (from [settings])");
  }
  // What gives a command container's root the host: mounts over what berth
  // made read-only, kernel modules, raw memory and ports, open_by_handle_at
  // around its root.
  static constexpr std::string_view host_caps[] = {"CAP_SYS_ADMIN", "CAP_SYS_MODULE",
                                                   "CAP_SYS_RAWIO", "CAP_DAC_READ_SEARCH"};
  std::vector<std::string> given;
  for (auto& cap : host_caps)
    if (std::find(c.additional_capabilities.begin(), c.additional_capabilities.end(), cap) !=
        c.additional_capabilities.end())
      given.emplace_back(cap);
  if (given.empty()) return "";
  std::string list;
  for (auto& g : given) list += (list.empty() ? "" : ", ") + g;
  return fmt::format("additional_capabilities gives {} without a user namespace", list);
}

std::string host_takeover_warning(const Container& c) {
  std::string why = host_takeover_reason(c);
  if (why.empty()) return "";
  return fmt::format("warning: containers.{}: root in this container can take over the host ({})",
                     c.name, why);
}

std::string cgroup_path_of(const Container& c) {
  return "/berth/" + c.name;
}

Result<oci::Spec> to_spec(const Container& c, const SpecContext& ctx) {
  oci::Spec s = oci::default_spec(false);
  // An image's tree is the lower layer of the overlay the monitor makes.
  s.root.path = c.share_host       ? ctx.paths.container_rootfs(c.name)
                : !c.image.empty() ? ctx.paths.image_rootfs(c.image)
                                   : c.path;
  s.root.readonly = false;
  s.hostname = c.effective_hostname();
  s.annotations["org.berth.container"] = c.name;

  // Process.
  oci::Process& p = *s.process;
  p.terminal = ctx.terminal;
  p.args = c.boot ? std::vector<std::string>{"/sbin/init"} : c.command;
  std::map<std::string, std::string> env;
  env["PATH"] = std::string(kDefaultPath).substr(5);
  if (ctx.terminal) env["TERM"] = "xterm";
  for (auto& [k, v] : c.environment) env[k] = v;
  env["container"] = "berth";  // systemd and friends detect containers by it
  p.env.clear();
  for (auto& [k, v] : env) p.env.push_back(k + "=" + v);
  // A system container keeps the limits of its monitor, as nspawn does.
  p.rlimits.clear();
  p.no_new_privileges = false;
  std::vector<std::string> caps = capabilities_of(c);
  p.capabilities = oci::Capabilities{caps, caps, {}, caps, {}};

  // Mounts.
  for (auto& m : s.mounts)
    if (m.destination == "/sys/fs/cgroup" && c.boot)
      std::erase(m.options, std::string("ro"));  // an init manages its own cgroups
  if (c.boot) {
    s.mounts.push_back({"/run", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=755"}, {}, {}});
    s.mounts.push_back({"/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777"}, {}, {}});
  }
  if (c.share_host) {
    for (auto& d : shared_host_dirs()) {
      std::string host = join_path(ctx.host_root, d);
      struct stat st;
      if (::lstat(host.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        s.mounts.push_back({"/" + d, "bind", host, {"rbind", "ro"}, {}, {}});
    }
  }
  std::vector<oci::Mount> user_mounts;
  for (auto& t : c.tmpfs)
    user_mounts.push_back({t, "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=755"}, {}, {}});
  bool userns = c.private_users.mode != PrivateUsers::Mode::No && !ctx.rootless_maps;
  for (auto& [mp, b] : c.bind_mounts) {
    std::vector<std::string> opts = {"rbind", b.read_only ? "ro" : "rw"};
    if (userns && b.idmap) opts.push_back("idmap");
    user_mounts.push_back({mp, "bind", b.host_path, opts, {}, {}});
  }
  // Parents before children, whatever kind they are.
  std::stable_sort(user_mounts.begin(), user_mounts.end(),
                   [](const oci::Mount& a, const oci::Mount& b) {
                     return std::count(a.destination.begin(), a.destination.end(), '/') <
                            std::count(b.destination.begin(), b.destination.end(), '/');
                   });
  s.mounts.insert(s.mounts.end(), user_mounts.begin(), user_mounts.end());

  // Namespaces.
  oci::Linux& l = *s.linux;
  l.namespaces = {{"pid", ""}, {"mount", ""}, {"ipc", ""}, {"uts", ""}, {"cgroup", ""}};
  if (c.private_network)
    l.namespaces.push_back({"network", ctx.netns_path});
  else if (!c.network_namespace.empty())
    l.namespaces.push_back({"network", c.network_namespace});
  if (ctx.rootless_maps) {
    l.namespaces.push_back({"user", ""});
    l.uid_mappings = ctx.rootless_maps->uids;
    l.gid_mappings = ctx.rootless_maps->gids;
    // Its cgroupfs cannot be mounted (as berth-oci spec --rootless).
    std::erase_if(s.mounts, [](const oci::Mount& m) { return m.destination == "/sys/fs/cgroup"; });
  } else if (c.private_users.mode != PrivateUsers::Mode::No) {
    uint32_t base = c.private_users.base;
    if (c.private_users.mode == PrivateUsers::Mode::Pick) {
      if (!ctx.picked_uid_base)
        return make_error(
            "containers.{}: private_users = \"pick\" needs a uid range chosen by the manager",
            c.name);
      base = *ctx.picked_uid_base;
    }
    l.namespaces.push_back({"user", ""});
    l.uid_mappings = {{0, base, kPrivateUsersRange}};
    l.gid_mappings = {{0, base, kPrivateUsersRange}};
  }

  // Devices: deny all, then the standard ones, then what was declared.
  oci::Resources r;
  r.devices.push_back({false, "a", std::nullopt, std::nullopt, "rwm"});
  for (auto& rule : standard_device_rules()) r.devices.push_back(rule);
  auto add_device = [&](const std::string& path, const std::string& type, int64_t major,
                        int64_t minor, uint32_t mode, const std::string& access) {
    if (std::none_of(l.devices.begin(), l.devices.end(),
                     [&](const oci::Device& d) { return d.path == path; }))
      l.devices.push_back({type, path, major, minor, mode, 0u, 0u});
    r.devices.push_back({true, type, major, minor, access});
  };
  for (auto& d : c.allowed_devices) {
    struct stat st;
    if (::stat(d.node.c_str(), &st) != 0)
      return errno_error("containers.{}: allowed device {}", c.name, d.node);
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
      return make_error("containers.{}: allowed device {} is not a device node", c.name, d.node);
    add_device(d.node, S_ISCHR(st.st_mode) ? "c" : "b", major(st.st_rdev), minor(st.st_rdev),
               st.st_mode & 07777, d.modifier);
  }
  if (c.enable_tun) add_device("/dev/net/tun", "c", 10, 200, 0666, "rwm");

  add_limits(c, r);
  l.resources = r;
  l.cgroups_path = cgroup_path_of(c);
  // A 32-bit tree runs as i686, as on its own machine (or not at all).
  TRY_CTX(detect_personality(s), "containers.{}.path", c.name);
  add_host_part(s, c, ctx);
  return s;
}

// The generated files of a share_host root are the same at almost every
// start: rewritten (and fsynced) only when their content changes.
static Result<void> write_if_changed(const std::string& path, const std::string& text) {
  if (auto cur = read_file(path); cur && *cur == text) return ok();
  return write_file_atomic(path, text);
}

Result<void> prepare_share_host_root(const Container& c, const Paths& paths,
                                     const std::string& host_root) {
  std::string root = paths.container_rootfs(c.name);
  TRY(mkdir_p(root, 0755));
  for (auto& d : shared_host_dirs()) {
    std::string host = join_path(host_root, d);
    std::string mine = root + "/" + d;
    struct stat st, mst;
    if (::lstat(host.c_str(), &st) != 0) continue;
    bool exists = ::lstat(mine.c_str(), &mst) == 0;
    if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t n = ::readlink(host.c_str(), buf, sizeof buf - 1);
      if (n < 0) return errno_error("readlink {}", host);
      std::string target(buf, static_cast<size_t>(n));
      if (exists && S_ISLNK(mst.st_mode)) {
        char cur[4096];
        ssize_t m = ::readlink(mine.c_str(), cur, sizeof cur - 1);
        if (m == n && std::string(cur, static_cast<size_t>(m)) == target) continue;
        if (::unlink(mine.c_str()) != 0) return errno_error("unlink {}", mine);
      } else if (exists) {
        if (S_ISDIR(mst.st_mode) && ::rmdir(mine.c_str()) != 0)
          return errno_error("replace {} with a symlink", mine);
      }
      if (::symlink(target.c_str(), mine.c_str()) != 0)
        return errno_error("symlink {} -> {}", mine, target);
    } else if (S_ISDIR(st.st_mode)) {
      if (exists && S_ISLNK(mst.st_mode) && ::unlink(mine.c_str()) != 0)
        return errno_error("unlink {}", mine);
      TRY(mkdir_p(mine, 0755));
    }
  }
  for (const char* d :
       {"proc", "sys", "dev", "run", "etc", "var", "var/lib", "var/log", "home", "srv"})
    TRY(mkdir_p(root + "/" + d, 0755));
  for (const char* d : {"tmp", "var/tmp"}) {
    TRY(mkdir_p(root + "/" + d, 01777));
    if (::chmod((root + "/" + d).c_str(), 01777) != 0) return errno_error("chmod {}/{}", root, d);
  }
  TRY(mkdir_p(root + "/root", 0700));
  // A booted guest's journald keeps its journal only where this exists (berth logs --journal).
  if (c.boot) TRY(mkdir_p(root + "/var/log/journal", 0755));

  std::string etc = root + "/etc/";
  if (!path_exists(etc + "passwd"))
    TRY(write_file_atomic(etc + "passwd",
                          "root:x:0:0:root:/root:/bin/sh\n"
                          "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"));
  if (!path_exists(etc + "group"))
    TRY(write_file_atomic(etc + "group", "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n"));
  const std::string& host = c.effective_hostname();
  TRY(write_if_changed(etc + "hostname", host + "\n"));
  // The container's own name resolves to its address when it has one.
  std::string self = c.local_address ? c.local_address->address : "127.0.1.1";
  std::string hosts = fmt::format(
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{}\t{}\n", self, host);
  if (c.local_address6) hosts += fmt::format("{}\t{}\n", c.local_address6->address, host);
  TRY(write_if_changed(etc + "hosts", hosts));
  TRY(write_if_changed(etc + "nsswitch.conf",
                       "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"
                       "networks: files\nprotocols: files\nservices: files\n"));
  if (c.boot) TRY(prepare_shared_boot_etc(etc));
  std::string os_release = etc + "os-release";
  struct stat st;
  if (::lstat(os_release.c_str(), &st) != 0 &&
      path_exists(join_path(host_root, "usr/lib/os-release")))
    if (::symlink("../usr/lib/os-release", os_release.c_str()) != 0)
      return errno_error("symlink {}", os_release);
  return ok();
}

namespace {
std::string shell_value(const std::string& v) {
  bool plain = std::all_of(v.begin(), v.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) ||
           std::string_view("_./:,@%+=-").find(ch) != std::string_view::npos;
  });
  if (plain) return v;
  std::string out = "'";
  for (char ch : v) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}
}  // namespace

std::string summary_conf_text(const Container& c) {
  auto opt = [](const std::optional<Cidr>& a) { return a ? a->str() : std::string(); };
  auto flag = [](bool b) { return std::string(b ? "1" : "0"); };
  std::vector<std::string> ports;
  for (auto& p : c.forward_ports)
    ports.push_back(fmt::format("{}:{}:{}", p.protocol, p.host_port, p.container_port));
  std::vector<std::pair<const char*, std::string>> kv = {
      {"NAME", c.name},
      {"SYSTEM_PATH", c.path},
      {"SHARE_HOST", flag(c.share_host)},
      {"IMAGE", c.image},
      {"BOOT", flag(c.boot)},
      {"AUTO_START", flag(c.autostart)},
      {"EPHEMERAL", flag(c.ephemeral)},
      {"PRIVATE_NETWORK", flag(c.private_network)},
      {"HOST_BRIDGE", c.host_bridge},
      {"HOST_ADDRESS", opt(c.host_address)},
      {"LOCAL_ADDRESS", opt(c.local_address)},
      {"HOST_ADDRESS6", opt(c.host_address6)},
      {"LOCAL_ADDRESS6", opt(c.local_address6)},
      {"LOCAL_MAC_ADDRESS", c.local_mac_address},
      {"HOST_PORT", join(ports, ",")},
      {"NETWORK_NAMESPACE_PATH", c.network_namespace},
      {"PRIVATE_USERS", c.private_users.text()},
      {"INTERFACES", join(c.interfaces, " ")},
      {"MACVLANS", join(c.macvlans, " ")},
      {"EXTRA_VETHS", join(
                          [&] {
                            std::vector<std::string> v;
                            for (auto& [n, x] : c.extra_veths) v.push_back(n);
                            return v;
                          }(),
                          " ")},
      {"NAT", flag(c.nat)},
  };
  std::string from = c.file;
  std::replace(from.begin(), from.end(), '\n', ' ');
  std::string out =
      fmt::format("# written by berth from {}; edit the declaration, not this file\n", from);
  for (auto& [k, v] : kv) out += fmt::format("{}={}\n", k, shell_value(v));
  return out;
}

Result<void> write_summary_conf(const Container& c, const Paths& paths) {
  TRY(mkdir_p(paths.etc, 0755));
  TRY(write_file_atomic(paths.summary_conf(c.name), summary_conf_text(c), 0644));
  return ok();
}

}  // namespace berth::decl
