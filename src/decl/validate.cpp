// Checks that need the whole picture: exclusive options, what the host must
// have, addresses and ports shared between containers, start-order cycles.
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "base/files.h"
#include "decl/decl.h"
#include "decl/host.h"
#include "decl/personality.h"
#include "decl/util.h"

namespace berth::decl {
namespace {

class Validator {
 public:
  Validator(const Declarations& d, const LoadOptions& o, std::vector<Diagnostic>& e)
      : d_(d), opts_(o), errors_(e) {}

  void run() {
    for (auto& [name, c] : d_.containers) container(c);
    addresses();
    ports_and_links();
    order();
  }

 private:
  // key: a raw key as recorded in key_lines ("host_address", "bind_mounts./srv");
  // shown: the components for the message.
  void err(const Container& c, const std::string& line_key, const std::vector<std::string>& shown,
           std::string msg) {
    std::string key = join_key("containers", c.name);
    for (auto& s : shown) key = s.starts_with("[") ? key + s : join_key(key, s);
    errors_.push_back({c.file, c.line_of(line_key), key, std::move(msg)});
  }
  void err(const Container& c, const std::string& k, std::string msg) {
    err(c, k, {k}, std::move(msg));
  }
  void err_top(const Container& c, std::string msg) { err(c, "", {}, std::move(msg)); }
  static bool has(const Container& c, const std::string& k) { return c.key_lines.count(k) > 0; }

  void container(const Container& c) {
    if (!valid_container_name(c.name))
      err_top(c, fmt::format("invalid name: expected lower-case letters, digits and '-' (not at "
                             "either end), at most {} characters",
                             kMaxNameLength));

    constexpr const char* kRoots =
        "expected \"path\" (a system tree), \"image\" (an image of the store) or "
        "\"share_host = true\"";
    if (!c.path.empty() && c.share_host)
      err(c, "share_host", "\"path\" and \"share_host = true\" are exclusive");
    else if (has(c, "image") && c.share_host)
      err(c, "share_host", "\"image\" and \"share_host = true\" are exclusive");
    else if (has(c, "image") && has(c, "path"))
      err(c, "image", "\"path\" and \"image\" are exclusive");
    else if (!has(c, "path") && !has(c, "image") && !c.share_host && !has(c, "share_host"))
      err_top(c, kRoots);
    else if (has(c, "share_host") && !c.share_host && !has(c, "path") && !has(c, "image") &&
             !c.invalid_keys.count("share_host"))
      err(c, "share_host", kRoots);

    if (!c.command.empty() && c.boot)
      err(c, "command", "\"command\" and \"boot = true\" are exclusive");
    else if (!has(c, "command") && !c.boot && !has(c, "image"))
      // (On an image, an OCI image's Entrypoint and Cmd may be the command.)
      err_top(c, "expected \"command\" (or \"boot = true\" to run the tree's /sbin/init)");
    if (c.boot && c.stub_init && has(c, "stub_init") && !c.invalid_keys.count("stub_init"))
      err(c, "stub_init", "only for a command (with boot = true the tree's init is PID 1)");

    if (has(c, "ready") && !c.boot && !c.invalid_keys.count("ready"))
      err(c, "ready", "only for boot = true (a command is ready once it has been exec'd)");
    if (has(c, "reboot_signal") && !c.boot && !c.invalid_keys.count("reboot_signal"))
      err(c, "reboot_signal", "only for boot = true (a command is restarted, not rebooted)");

    if (c.nesting && c.private_users.mode == PrivateUsers::Mode::No &&
        !c.invalid_keys.count("private_users"))
      err(c, "nesting",
          "needs a user namespace: private_users = \"pick\" or a base uid (a nested runtime "
          "mounts proc and sysfs, which only the user namespace keeps from the host's)");
    if (opts_.check_host) host_checks(c);
    network(c);
    if (opts_.rootless) rootless(c);
  }

  // What a rootless berth cannot do (yet): each said once, on its key.
  void rootless(const Container& c) {
    if (c.private_users.mode != PrivateUsers::Mode::Pick && !c.invalid_keys.count("private_users"))
      err(c, has(c, "private_users") ? "private_users" : "", {"private_users"},
          fmt::format("expected \"pick\"{}: a rootless berth runs every container in a user "
                      "namespace of the caller's ids (/etc/subuid, /etc/subgid)",
                      has(c, "private_users") ? "" : " (not [settings] private_users)"));
    auto not_yet = [&](bool set, const char* k, const char* what) {
      if (set && !c.invalid_keys.count(k))
        err(c, k, fmt::format("not supported by a rootless berth yet: expected {}", what));
    };
    not_yet(!c.network_namespace.empty(), "network_namespace",
            "none (a named namespace is root's; private_network = true gives it one of its own)");
    // Its private network is slirp4netns's (manager/slirp.h): no host side.
    if (c.private_network)
      for (auto& k : network_keys(c))
        if (k != "private_network" && k != "forward_ports" && !c.invalid_keys.count(k))
          err(c, k,
              "not with a rootless berth: its private network is slirp4netns's (eth0 "
              "10.0.2.100/24, gateway 10.0.2.2), reached from the host by forward_ports");
    not_yet(!c.image.empty(), "image", "\"path\" or \"share_host = true\"");
    not_yet(c.ephemeral, "ephemeral", "false");
  }

  void host_checks(const Container& c) {
    struct stat st;
    // The tree checked: the path, or the image's (when the store is known).
    std::string tree = c.path, key = "path", shown = quote(c.path);
    if (!c.image.empty() && d_.images.count(c.image)) {
      // Declared in [images]: apply builds it (and the tree is not known yet).
      tree.clear();
    } else if (!c.image.empty() && !c.invalid_keys.count("image") && !opts_.images_dir.empty()) {
      tree = opts_.images_dir + "/" + c.image + "/rootfs";
      key = "image";
      shown = "image " + quote(c.image);
      if (::stat(tree.c_str(), &st) != 0) {
        err(c, key,
            fmt::format("no image {} in {} (berth image import adds one; berth image list shows "
                        "them)",
                        quote(c.image), opts_.images_dir));
        tree.clear();
      }
    }
    if (!tree.empty()) {
      if (::stat(tree.c_str(), &st) != 0)
        err(c, key, fmt::format("{} does not exist", shown));
      else if (!S_ISDIR(st.st_mode))
        err(c, key, fmt::format("{} is not a directory", shown));
      else if (c.boot && ::lstat((tree + "/sbin/init").c_str(), &st) != 0)
        err(c, key, fmt::format("{} has no sbin/init (needed by boot = true)", shown));
      else if (auto prog = c.boot              ? std::string("/sbin/init")
                           : c.command.empty() ? ""
                                               : c.command[0];
               !prog.empty() && tree_needs_missing_32bit(tree, prog, {}))
        err(c, key, fmt::format("{}: {}", shown, kNo32bitMessage));
    }
    if (c.resources.io_weight)
      if (auto r = host_io_weight_support(); !r)
        err(c, "resources.io_weight", {"resources", "io_weight"}, r.error().message);
    for (auto& [mp, b] : c.bind_mounts)
      if (::stat(b.host_path.c_str(), &st) != 0)
        err(c, "bind_mounts." + mp, {"bind_mounts", mp},
            fmt::format("host path {} does not exist", quote(b.host_path)));
    for (size_t i = 0; i < c.allowed_devices.size(); ++i) {
      auto& node = c.allowed_devices[i].node;
      std::vector<std::string> k = {"allowed_devices", fmt::format("[{}]", i), "node"};
      if (::stat(node.c_str(), &st) != 0)
        err(c, "allowed_devices", k, fmt::format("{} does not exist", quote(node)));
      else if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
        err(c, "allowed_devices", k, fmt::format("{} is not a device node", quote(node)));
    }
    for (size_t i = 0; i < c.tmpfs.size(); ++i)
      if (c.bind_mounts.count(c.tmpfs[i]))
        err(c, "tmpfs", {"tmpfs", fmt::format("[{}]", i)},
            fmt::format("{} is also a bind mount", quote(c.tmpfs[i])));
  }

  // The keys set of those that configure the container's own network
  // namespace.
  static std::vector<std::string> network_keys(const Container& c) {
    std::vector<std::string> net_keys;
    auto note = [&](bool set, const char* k) {
      if (set) net_keys.push_back(k);
    };
    note(c.private_network, "private_network");
    note(c.host_address.has_value(), "host_address");
    note(c.local_address.has_value(), "local_address");
    note(c.host_address6.has_value(), "host_address6");
    note(c.local_address6.has_value(), "local_address6");
    note(!c.host_bridge.empty(), "host_bridge");
    note(!c.macvlans.empty(), "macvlans");
    note(!c.interfaces.empty(), "interfaces");
    note(!c.extra_veths.empty(), "extra_veths");
    note(!c.forward_ports.empty(), "forward_ports");
    note(!c.local_mac_address.empty(), "local_mac_address");
    note(c.nat, "nat");
    return net_keys;
  }

  void network(const Container& c) {
    std::vector<std::string> net_keys = network_keys(c);
    // A key that was itself wrong has been reported; do not pile up on it.
    if (c.invalid_keys.count("private_network") || c.invalid_keys.count("network_namespace"))
      return;
    if (!c.network_namespace.empty()) {
      if (!net_keys.empty()) {
        std::string list;
        for (auto& k : net_keys) list += (list.empty() ? "" : ", ") + quote(k);
        err(c, "network_namespace", fmt::format("exclusive with {}", list));
      }
      return;
    }
    if (!c.private_network) {
      for (auto& k : net_keys) err(c, k, "needs private_network = true");
      return;
    }
    if (!c.host_bridge.empty()) {
      if (c.host_address)
        err(c, "host_address", "not used with host_bridge (the bridge holds the host's address)");
      if (c.host_address6)
        err(c, "host_address6", "not used with host_bridge (the bridge holds the host's address)");
    }
    if (c.host_address && c.local_address && c.host_address->address == c.local_address->address)
      err(c, "local_address", "same as host_address");
    if (c.host_address6 && c.local_address6 &&
        c.host_address6->address == c.local_address6->address)
      err(c, "local_address6", "same as host_address6");
    if (!c.forward_ports.empty() && !c.local_address && !c.local_address6 && !opts_.rootless)
      err(c, "forward_ports", "needs a local_address (or local_address6) to forward to");
    if (c.nat && !c.local_address && !opts_.rootless) err(c, "nat", "needs a local_address");
    for (auto& [name, x] : c.extra_veths) {
      std::string lk = "extra_veths." + name;
      if (!x.host_bridge.empty() && x.host_address)
        err(c, lk + ".host_address", {"extra_veths", name, "host_address"},
            "not used with host_bridge (the bridge holds the host's address)");
      if (!x.forward_ports.empty() && !x.local_address && !x.local_address6)
        err(c, lk + ".forward_ports", {"extra_veths", name, "forward_ports"},
            "needs a local_address (or local_address6) to forward to");
    }
  }

  struct Use {
    const Container* c;
    std::string line_key;
    std::vector<std::string> shown;
    bool host_side;
    std::string where() const {
      std::string key = join_key("containers", c->name);
      for (auto& s : shown) key = join_key(key, s);
      return key;
    }
  };

  // A container-side address must be unique everywhere. A host-side address
  // may be shared by several containers' host links (one host address for all
  // routed veths is a common NixOS setup), but never equal a container's.
  void addresses() {
    std::vector<std::pair<std::string, Use>> uses;
    for (auto& entry : d_.containers) {
      const Container& c = entry.second;  // clang 14 cannot capture a structured binding
      if (!c.private_network || !c.network_namespace.empty()) continue;
      auto add = [&](const std::optional<Cidr>& a, std::string lk, std::vector<std::string> shown,
                     bool host) {
        if (a) uses.push_back({a->address, Use{&c, std::move(lk), std::move(shown), host}});
      };
      add(c.host_address, "host_address", {"host_address"}, true);
      add(c.local_address, "local_address", {"local_address"}, false);
      add(c.host_address6, "host_address6", {"host_address6"}, true);
      add(c.local_address6, "local_address6", {"local_address6"}, false);
      for (auto& [xn, x] : c.extra_veths) {
        std::string lk = "extra_veths." + xn + ".";
        add(x.host_address, lk + "host_address", {"extra_veths", xn, "host_address"}, true);
        add(x.local_address, lk + "local_address", {"extra_veths", xn, "local_address"}, false);
        add(x.host_address6, lk + "host_address6", {"extra_veths", xn, "host_address6"}, true);
        add(x.local_address6, lk + "local_address6", {"extra_veths", xn, "local_address6"}, false);
      }
    }
    std::stable_sort(uses.begin(), uses.end(), [](const auto& a, const auto& b) {
      return std::tie(a.second.c->file, a.second.c->line) <
             std::tie(b.second.c->file, b.second.c->line);
    });
    for (size_t i = 0; i < uses.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (uses[j].first != uses[i].first) continue;
        const Use& a = uses[j].second;
        const Use& b = uses[i].second;
        if (a.host_side && b.host_side && a.c != b.c) continue;
        err(*b.c, b.line_key, b.shown,
            fmt::format("{} is already used by {} ({}:{})", uses[i].first, a.where(), a.c->file,
                        a.c->line_of(a.line_key)));
        break;
      }
    }
  }

  // A host port can be forwarded once per protocol; a host interface can be
  // moved into one container only.
  void ports_and_links() {
    std::map<std::pair<std::string, uint16_t>, const Container*> ports;
    std::map<std::string, const Container*> links;
    for (auto& entry : d_.containers) {
      const Container& c = entry.second;  // clang 14 cannot capture a structured binding
      if (!c.private_network || !c.network_namespace.empty()) continue;
      auto port = [&](const PortForward& p, const std::string& lk,
                      const std::vector<std::string>& shown) {
        auto [it, fresh] = ports.emplace(std::make_pair(p.protocol, p.host_port), &c);
        if (!fresh)
          err(c, lk, shown,
              fmt::format(
                  "{} port {} is already forwarded to {}", p.protocol, p.host_port,
                  it->second == &c ? "this container" : join_key("containers", it->second->name)));
      };
      for (size_t i = 0; i < c.forward_ports.size(); ++i)
        port(c.forward_ports[i], fmt::format("forward_ports[{}]", i),
             {"forward_ports", fmt::format("[{}]", i)});
      for (auto& [xn, x] : c.extra_veths)
        for (size_t i = 0; i < x.forward_ports.size(); ++i)
          port(x.forward_ports[i], fmt::format("extra_veths.{}.forward_ports[{}]", xn, i),
               {"extra_veths", xn, "forward_ports", fmt::format("[{}]", i)});
      for (size_t i = 0; i < c.interfaces.size(); ++i) {
        auto [it, fresh] = links.emplace(c.interfaces[i], &c);
        if (!fresh)
          err(c, "interfaces", {"interfaces", fmt::format("[{}]", i)},
              fmt::format(
                  "{} is already moved into {}", quote(c.interfaces[i]),
                  it->second == &c ? "this container" : join_key("containers", it->second->name)));
      }
    }
  }

  void order() {
    for (auto& [name, c] : d_.containers)
      for (size_t i = 0; i < c.after.size(); ++i) {
        std::vector<std::string> k = {"after", fmt::format("[{}]", i)};
        if (c.after[i] == name)
          err(c, "after", k, "a container cannot start after itself");
        else if (!d_.containers.count(c.after[i]))
          err(c, "after", k, fmt::format("no container named {} is declared", quote(c.after[i])));
      }
    // Depth-first search; each cycle is reported once, at its first member.
    std::map<std::string, int> state;  // 0 new, 1 on stack, 2 done
    std::vector<std::string> stack;
    std::function<void(const std::string&)> visit = [&](const std::string& n) {
      state[n] = 1;
      stack.push_back(n);
      auto& c = d_.containers.at(n);
      for (auto& dep : c.after) {
        if (dep == n || !d_.containers.count(dep)) continue;
        if (state[dep] == 1) {
          auto from = std::find(stack.begin(), stack.end(), dep);
          std::string path;
          for (auto it = from; it != stack.end(); ++it) path += *it + " -> ";
          path += dep;
          err(d_.containers.at(dep), "after", fmt::format("start order cycle: {}", path));
        } else if (state[dep] == 0) {
          visit(dep);
        }
      }
      stack.pop_back();
      state[n] = 2;
    };
    for (auto& [name, c] : d_.containers)
      if (state[name] == 0) visit(name);
  }

  const Declarations& d_;
  const LoadOptions& opts_;
  std::vector<Diagnostic>& errors_;
};

}  // namespace

void validate(const Declarations& decls, const LoadOptions& opts, std::vector<Diagnostic>& errors) {
  Validator(decls, opts, errors).run();
}

}  // namespace berth::decl
