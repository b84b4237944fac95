// Container declarations: the model of /etc/berth/containers.toml (and .json),
// the parser that fills it, and the validation that says what is wrong, where.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/table.h"

namespace berth::decl {

// An IPv4 or IPv6 address as declared, with an optional /prefix. Without one
// the prefix is the full length (a /32 or /128 host route, as NixOS does).
struct Cidr {
  bool v6 = false;
  std::string address;   // canonical text, no prefix ("10.233.1.2", "fc00::2")
  unsigned prefix = 32;  // 32/128 when not written
  bool explicit_prefix = false;
  std::string str() const;  // as declared: "10.233.1.2" or "10.233.1.2/24"
  bool operator==(const Cidr&) const = default;
};
// family: 4 or 6.
Result<Cidr> parse_cidr(std::string_view text, int family);

struct BindMount {
  std::string host_path;  // defaults to the mount point itself
  bool read_only = true;
  // In a user-namespaced container, an idmapped bind (the container's root
  // is the host's root there: it owns and writes what the host's root does);
  // false: files appear owned by their on-disk ids mapped through its range.
  bool idmap = true;
  bool operator==(const BindMount&) const = default;
};

struct AllowedDevice {
  std::string node;              // "/dev/net/tun"
  std::string modifier = "rwm";  // a non-empty subset of "rwm"
  bool operator==(const AllowedDevice&) const = default;
};

struct PortForward {
  std::string protocol = "tcp";  // tcp | udp
  uint16_t host_port = 0;
  uint16_t container_port = 0;  // defaults to host_port
  bool operator==(const PortForward&) const = default;
};

struct Resources {
  std::optional<uint64_t> memory;  // bytes
  std::optional<double> cpu;       // fraction of one CPU (1.5 = one and a half)
  std::optional<int64_t> pids;
  std::optional<uint16_t> io_weight;  // 10..1000 (OCI blockIO.weight)
  bool operator==(const Resources&) const = default;
};

// As systemd's Restart=: "no", "on-failure", "always". The default is
// on-failure, like the seed's container@ unit; a clean poweroff (exit 0) is
// never restarted under on-failure, a reboot request always is.
enum class Restart { No, OnFailure, Always };

// As systemd-nspawn --private-users: no user namespace, a range picked by the
// manager, or a fixed base uid (65536 ids from it).
struct PrivateUsers {
  enum class Mode { No, Pick, Base } mode = Mode::No;
  uint32_t base = 0;
  bool operator==(const PrivateUsers&) const = default;
  // "no", "pick" or the base uid, as the key is written.
  std::string text() const {
    return mode == Mode::Base ? std::to_string(base) : mode == Mode::Pick ? "pick" : "no";
  }
};
inline constexpr uint32_t kPrivateUsersRange = 65536;

// When a booted container counts as started (see decl/init.h): its init's
// READY=1 (systemd's sd_notify), once the init has been exec'd, or by the
// init the tree has (notify for systemd, started for the others).
enum class Ready { Auto, Notify, Started };

// What the container's /etc/resolv.conf becomes at each start, as
// systemd-nspawn --resolv-conf: "auto" (a private network with a host address
// gets the nameserver berth's DNS forwarder listens on at that address, which
// answers NAME.containers and forwards the rest to the host's nameservers;
// otherwise a copy of the host's, loopback nameservers left out when they
// cannot be reached), a copy of the host's file or the "uplink" one behind a
// local stub (systemd-resolved's /run/systemd/resolve/resolv.conf) that keeps
// a tree's symlink (copy-) or replaces it (replace-), a read-only bind of it
// (bind-), the tree's own removed (delete), or left alone (off).
enum class ResolvConf {
  Auto,
  Off,
  CopyHost,
  CopyUplink,
  ReplaceHost,
  ReplaceUplink,
  BindHost,
  BindUplink,
  Delete
};
// The declaration's names ("copy-host") in the enum's order.
std::span<const Named<ResolvConf>> resolv_conf_names();
std::string_view resolv_conf_name(ResolvConf r);

struct ExtraVeth {
  std::string host_bridge;
  std::optional<Cidr> host_address, local_address, host_address6, local_address6;
  std::vector<PortForward> forward_ports;
  bool operator==(const ExtraVeth&) const = default;
};

struct Container {
  std::string name;
  // Where it was declared, for messages: the file, the line of its table, and
  // the line of each key written ("host_address", "resources.memory",
  // "extra_veths.x.host_address", "bind_mounts./srv", "forward_ports[0]").
  std::string file;
  int line = 0;
  std::map<std::string, int> key_lines;
  std::set<std::string> invalid_keys;  // already reported: later checks skip them
  int line_of(const std::string& key) const;

  // What runs.
  std::string path;         // a system tree (absolute)
  bool share_host = false;  // or the host's read-only /usr & co. plus a private /etc
  // Or an image of the store (STATE/images/NAME/rootfs): its read-only lower
  // layer under the container's own persistent writable layer
  // (STATE/containers/NAME/layer), an overlay only the container sees.
  std::string image;
  std::vector<std::string> command;  // exactly one of command and boot
  bool boot = false;                 // run the tree's /sbin/init
  // A command runs under berth-init, a stub PID 1 that forwards signals to it,
  // reaps orphans and exits as it did (as `podman --init`); false runs the
  // command itself as PID 1. Only for command containers.
  bool stub_init = true;
  std::map<std::string, std::string> environment;
  std::string hostname;  // empty: the name
  // More names in the container's /etc/hosts (host name -> IPv4 or IPv6
  // address), in a block of berth's; they change live.
  std::map<std::string, std::string> extra_hosts;

  // Life cycle.
  bool autostart = false;
  // false: `apply` leaves the container running when its declaration changed
  // in a way that needs a restart, and says so (NixOS's restartIfChanged).
  bool restart_if_changed = true;
  // Run inside the container (as `berth run`) after `apply` or `update`
  // changed it live (forward ports, binds, resources) instead of restarting
  // it: what makes its service pick the change up (`["nginx", "-s",
  // "reload"]`, or `["systemctl", "reload", "nginx"]` in a booted guest).
  std::vector<std::string> reload;
  bool ephemeral = false;
  std::chrono::milliseconds timeout_start{std::chrono::minutes(1)};  // as NixOS timeoutStartSec
  // Poweroff request to SIGKILL. 10 s rather than systemd's 90 s: the 90 s
  // "stop job is running" hang at host shutdown is a top NixOS complaint.
  std::chrono::milliseconds timeout_stop{std::chrono::seconds(10)};
  Restart restart = Restart::OnFailure;
  Ready ready = Ready::Auto;  // boot = true only
  // What `stop` sends the init (and `reboot` for reboot_signal); unset: what
  // the tree's init understands (decl/init.h), SIGTERM for a command.
  std::optional<int> halt_signal, reboot_signal;
  std::vector<std::string> after;  // names of containers started before this one

  // Filesystem.
  std::map<std::string, BindMount> bind_mounts;  // keyed by mount point
  std::vector<std::string> tmpfs;

  // Privileges and devices.
  std::vector<std::string> additional_capabilities;
  std::vector<AllowedDevice> allowed_devices;
  bool enable_tun = false;
  // The default seccomp profile (the engine's, podman-like: unknown syscalls
  // ENOSYS, module loading, kexec, bpf, keyrings and the like EPERM), as
  // systemd-nspawn filters by default; false runs the container unfiltered.
  bool seccomp = true;
  // Containers inside it (podman, LXC, another berth): keyrings allowed by
  // the seccomp profile, /proc and /sys fully visible (no masked or
  // read-only paths in them, so that a nested runtime may mount new
  // instances), /proc/sys writable where its user namespace owns it.
  // Needs a user namespace (private_users).
  bool nesting = false;
  PrivateUsers private_users;
  Resources resources;

  // Network. Every option below needs private_network (network_namespace
  // excludes them all). A local (container-side) address is unique across all
  // containers and extra veths; a host address may be shared by several
  // containers' host links (one host address for every routed veth is a
  // common NixOS setup) but never equal a local one.
  bool private_network = false;
  std::optional<Cidr> host_address, local_address, host_address6, local_address6;
  std::string host_bridge;
  std::vector<std::string> macvlans;
  std::vector<std::string> interfaces;
  std::map<std::string, ExtraVeth> extra_veths;
  std::string network_namespace;  // join this netns (exclusive with private_network)
  std::vector<PortForward> forward_ports;
  std::string local_mac_address;  // lower-case aa:bb:cc:dd:ee:ff
  bool nat = false;               // masquerade the container's traffic out of the host
  ResolvConf resolv_conf = ResolvConf::Auto;

  const std::string& effective_hostname() const { return hostname.empty() ? name : hostname; }
  bool operator==(const Container&) const = default;
};

// Whether two declarations of a container ask for the same thing (where they
// were written does not count): the manager's "did it change?".
bool same_declaration(const Container& a, const Container& b);

// Host-wide settings ([settings]).
struct Settings {
  // Masquerade traffic of every private-network container (per-container
  // `nat` does it for one).
  bool nat = false;
  // private_users of every container that does not declare its own. Unset:
  // "pick" for a booted container (it holds CAP_SYS_ADMIN, which only a user
  // namespace keeps away from the host), "no" for a command.
  std::optional<PrivateUsers> private_users;
  std::string file;
  int line = 0;
};

// A system built from its declaration ([images.NAME]): `berth image build`
// (and `apply`, for the images its containers use) makes image NAME with
// mmdebstrap, and rebuilds it only when the recipe changes (recipe_text).
struct ImageRecipe {
  std::string name;
  std::string file;  // where it was declared, for messages
  int line = 0;
  std::map<std::string, int> key_lines;
  int line_of(const std::string& key) const;

  std::string distro = "debian";
  std::string suite;                         // "bookworm" (required)
  std::string variant = "minbase";           // mmdebstrap's --variant
  std::vector<std::string> packages;         // Debian package names
  std::map<std::string, std::string> files;  // absolute path -> its text
  std::vector<std::string> run;              // shell commands run inside once built, in order
  std::string mirror;                        // a deb URL; empty: the host's apt sources
  bool operator==(const ImageRecipe&) const = default;
};
// What a recipe's hash covers: everything that makes the image (not where it
// was declared), in a canonical form (packages sorted and unique).
std::string recipe_text(const ImageRecipe& r);
inline const std::vector<std::string> kImageVariants = {"minbase",  "essential", "apt",
                                                        "required", "important", "standard"};

struct Declarations {
  std::map<std::string, Container> containers;
  std::map<std::string, ImageRecipe> images;
  Settings settings;
};

// One problem in the declarations: printed as "FILE:LINE: KEY: MESSAGE".
struct Diagnostic {
  std::string file;
  int line = 0;
  std::string key;  // "containers.web.host_address"
  std::string message;
  std::string str() const;
};

struct LoadOptions {
  // Check the host: `path` is a directory (with sbin/init when boot), bind
  // mount sources and allowed device nodes exist. Off for pure syntax tests.
  bool check_host = true;
  // The image store (STATE/images): with check_host, an `image` must be there.
  std::string images_dir;
  // The caller is not root (a rootless berth): every container gets
  // private_users = "pick" (ids from /etc/subuid and /etc/subgid), and what
  // a rootless berth cannot do yet is refused (see README "Rootless berth").
  bool rootless = false;
};

struct LoadResult {
  Declarations decls;
  std::vector<Diagnostic> errors;  // in file order; empty means valid
  bool ok() const { return errors.empty(); }
  // All errors, one per line (no trailing newline).
  std::string error_text() const;
};

// Parse one document into decls (no cross-file or semantic checks). The format
// is chosen by the name: ".json" is JSON, anything else TOML. `file` is only
// used in messages.
void parse_text(std::string_view text, const std::string& file, Declarations& decls,
                std::vector<Diagnostic>& errors);
struct Document {
  std::string file;  // for messages; ".json" selects JSON
  std::string text;
};
// Parse each document, merge (a name declared twice is an error naming both
// places), then validate everything.
LoadResult load_documents(const std::vector<Document>& docs, const LoadOptions& opts = {});
// Read and parse each file, merge (a name declared twice is an error naming
// both places), then validate everything. A missing file is an error.
LoadResult load_files(const std::vector<std::string>& files, const LoadOptions& opts = {});
// Validate merged declarations (types are already checked by the parser).
void validate(const Declarations& decls, const LoadOptions& opts, std::vector<Diagnostic>& errors);

// Fills in what a container gets when it does not say: one without its own
// private_users takes settings.private_users (unset: "pick" when booted). load_documents does it; a
// declaration parsed alone (a snapshot) needs it too.
void apply_defaults(Container& c, const Settings& settings);

// Names in an order that starts every container after those in its `after`
// (ties by name). Meant for validated declarations; members of a cycle, if
// any, come last in name order.
std::vector<std::string> start_order(const Declarations& decls);

// "256M", "1G", "512k", "1.5G", "1048576" -> bytes (powers of 1024).
std::optional<uint64_t> parse_size(std::string_view text);
// "1min", "90s", "500ms", "1h 30min", "2m" (systemd time spans) -> duration.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::string_view restart_name(Restart r);

// Capability names berth knows (CAP_CHOWN ... CAP_CHECKPOINT_RESTORE).
const std::vector<std::string>& known_capabilities();
// The number of a capability name (CAP_SYS_ADMIN, or any case libcap
// takes), if libcap knows it.
std::optional<int> capability_number(const std::string& name);

}  // namespace berth::decl
