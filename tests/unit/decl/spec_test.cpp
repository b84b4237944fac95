// to_spec: what the engine is asked to run for each option; the share_host
// root; the NAME.conf summary; the --root paths.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/files.h"
#include "decl/decl.h"
#include "decl/paths.h"
#include "decl/spec.h"
#include "support/testenv.h"
#include "unit/decl/spec_helpers.h"

namespace berth::decl {
namespace {

namespace fs = std::filesystem;

using spec_testing::find_mount;
using spec_testing::has;
using spec_testing::parse_one;

// A fake host: real /usr and /lib64, /bin, /sbin and /lib as symlinks into usr.
class FakeHost {
 public:
  FakeHost() {
    for (auto d : {"usr/bin", "usr/sbin", "usr/lib", "lib64", "etc"})
      fs::create_directories(dir_ / d);
    fs::create_directory_symlink("usr/bin", dir_ / "bin");
    fs::create_directory_symlink("usr/sbin", dir_ / "sbin");
    fs::create_directory_symlink("usr/lib", dir_ / "lib");
    std::ofstream(dir_ / "etc/resolv.conf")
        << "search example.org\nnameserver 127.0.0.53\nnameserver 192.0.2.53\n";
    std::ofstream(dir_ / "usr/lib/os-release") << "ID=fake\n";
  }
  const std::string& path() const { return dir_.path(); }

 private:
  test::TempDir dir_;
};

constexpr const char* kWeb = R"([containers.web]
share_host = true
command = ["/usr/bin/python3", "-m", "http.server", "80"]
environment = { LANG = "C.UTF-8", PATH = "/opt/bin:/usr/bin" }
private_network = true
host_address = "10.233.1.1"
local_address = "10.233.1.2"
bind_mounts."/srv" = { host_path = "/srv/www", read_only = true }
bind_mounts."/srv/uploads" = { host_path = "/srv/up", read_only = false }
tmpfs = ["/var/cache"]
resources = { memory = "256M", pids = 128, cpu = 0.5, io_weight = 300 }
)";

TEST(ToSpec, ShareHostWebContainer) {
  FakeHost host;
  test::TempDir root;
  SpecContext ctx{Paths::under(root.path()), "/run/netns/berth-web", false, std::nullopt,
                  host.path()};
  auto r = to_spec(parse_one(kWeb), ctx);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const oci::Spec& s = *r;
  EXPECT_EQ(s.root.path, root.path() + "/var/lib/berth/containers/web/rootfs");
  EXPECT_FALSE(s.root.readonly);
  EXPECT_EQ(s.hostname, "web");
  ASSERT_TRUE(s.process);
  EXPECT_EQ(s.process->args,
            (std::vector<std::string>{"/usr/bin/python3", "-m", "http.server", "80"}));
  EXPECT_FALSE(s.process->terminal);
  EXPECT_FALSE(s.process->no_new_privileges);
  EXPECT_EQ(s.process->env, (std::vector<std::string>{"LANG=C.UTF-8", "PATH=/opt/bin:/usr/bin",
                                                      "container=berth"}));
  EXPECT_EQ(s.process->user.uid, 0u);

  // The host's real dirs are bound read-only; its symlinks are not mounts.
  const oci::Mount* usr = find_mount(s, "/usr");
  ASSERT_NE(usr, nullptr);
  EXPECT_EQ(usr->source, host.path() + "/usr");
  EXPECT_EQ(usr->options, (std::vector<std::string>{"rbind", "ro"}));
  EXPECT_NE(find_mount(s, "/lib64"), nullptr);
  EXPECT_EQ(find_mount(s, "/bin"), nullptr);
  EXPECT_EQ(find_mount(s, "/lib"), nullptr);
  EXPECT_EQ(find_mount(s, "/lib32"), nullptr);

  for (auto d : {"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"})
    EXPECT_NE(find_mount(s, d), nullptr) << d;
  EXPECT_TRUE(has(find_mount(s, "/sys")->options, "ro"));
  EXPECT_EQ(find_mount(s, "/run"), nullptr);  // only boot containers get /run and /tmp
  const oci::Mount* srv = find_mount(s, "/srv");
  ASSERT_NE(srv, nullptr);
  EXPECT_EQ(srv->source, "/srv/www");
  EXPECT_EQ(srv->type, "bind");
  EXPECT_EQ(srv->options, (std::vector<std::string>{"rbind", "ro"}));
  const oci::Mount* up = find_mount(s, "/srv/uploads");
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->options, (std::vector<std::string>{"rbind", "rw"}));
  EXPECT_LT(srv, up);  // a parent is mounted before its child
  const oci::Mount* cache = find_mount(s, "/var/cache");
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->type, "tmpfs");

  // A command container: the OCI default set, NET_RAW on its own network;
  // berth configures that network from the host, so no NET_ADMIN.
  const auto& caps = s.process->capabilities->bounding;
  std::vector<std::string> want = command_capabilities();
  want.push_back("CAP_NET_RAW");
  EXPECT_EQ(caps, want);
  EXPECT_FALSE(has(caps, "CAP_SYS_ADMIN"));
  EXPECT_FALSE(has(caps, "CAP_NET_ADMIN"));
  EXPECT_FALSE(has(caps, "CAP_MKNOD"));
  EXPECT_EQ(host_takeover_reason(parse_one(kWeb)), "");
  EXPECT_EQ(s.process->capabilities->effective, caps);
  EXPECT_EQ(s.process->capabilities->permitted, caps);
  EXPECT_TRUE(s.process->capabilities->ambient.empty());

  ASSERT_TRUE(s.linux);
  const oci::Linux& l = *s.linux;
  for (auto ns : {"pid", "mount", "ipc", "uts", "cgroup"})
    EXPECT_NE(l.find_namespace(ns), nullptr) << ns;
  ASSERT_NE(l.find_namespace("network"), nullptr);
  EXPECT_EQ(l.find_namespace("network")->path, "/run/netns/berth-web");
  EXPECT_EQ(l.find_namespace("user"), nullptr);
  EXPECT_EQ(l.cgroups_path, "/berth/web");
  ASSERT_TRUE(l.resources);
  EXPECT_EQ(l.resources->memory->limit, 256 * 1024 * 1024);
  EXPECT_EQ(l.resources->cpu->quota, 50000);
  EXPECT_EQ(l.resources->cpu->period, 100000u);
  EXPECT_EQ(l.resources->pids_limit, 128);
  EXPECT_EQ(l.resources->block_io->weight, 300);
  EXPECT_FALSE(l.resources->devices.front().allow);  // deny by default
}

TEST(ToSpec, RoundTripsThroughOciJson) {
  FakeHost host;
  SpecContext ctx{Paths::under("/tmp/x"), "/run/netns/n", true, std::nullopt, host.path()};
  auto r = to_spec(parse_one(kWeb), ctx);
  ASSERT_TRUE(r.ok());
  auto j = oci::to_json(*r);
  auto back = oci::parse_spec(j);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(oci::to_json(*back), j);
  EXPECT_TRUE(j["process"]["terminal"].get<bool>());
  EXPECT_TRUE(has(r->process->env, "TERM=xterm"));
}

TEST(ToSpec, BootContainer) {
  Container c = parse_one(R"([containers.db]
path = "/var/lib/machines/debian"
boot = true
hostname = "db.example"
)");
  // Booted: a user namespace by default, the range the manager picks.
  EXPECT_EQ(c.private_users.mode, PrivateUsers::Mode::Pick);
  auto r = to_spec(c, {Paths::under("/"), "", false, 1u << 20, "/"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_NE(r->linux->find_namespace("user"), nullptr);
  EXPECT_EQ(r->linux->uid_mappings[0].host_id, 1u << 20);
  for (auto& cap : default_capabilities())
    EXPECT_TRUE(has(r->process->capabilities->bounding, cap)) << cap;
  EXPECT_EQ(host_takeover_reason(c), "");
  EXPECT_EQ(r->root.path, "/var/lib/machines/debian");
  EXPECT_EQ(r->process->args, std::vector<std::string>{"/sbin/init"});
  EXPECT_EQ(r->hostname, "db.example");
  const oci::Mount* run = find_mount(*r, "/run");
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->type, "tmpfs");
  ASSERT_NE(find_mount(*r, "/tmp"), nullptr);
  EXPECT_TRUE(has(find_mount(*r, "/tmp")->options, "mode=1777"));
  ASSERT_NE(find_mount(*r, "/sys/fs/cgroup"), nullptr);
  EXPECT_FALSE(has(find_mount(*r, "/sys/fs/cgroup")->options, "ro"));
  EXPECT_EQ(find_mount(*r, "/usr"), nullptr);               // a full tree shares nothing
  EXPECT_EQ(r->linux->find_namespace("network"), nullptr);  // the host's network
  EXPECT_FALSE(has(r->process->capabilities->bounding, "CAP_NET_ADMIN"));
  EXPECT_FALSE(r->linux->resources->memory);
  EXPECT_FALSE(r->linux->resources->cpu);
  EXPECT_FALSE(r->linux->resources->pids_limit);
}

TEST(ToSpec, PrivateNetworkWithoutNetnsPathGetsANewOne) {
  Container c = parse_one(
      "[containers.a]\nshare_host = true\ncommand = [\"/bin/sh\"]\nprivate_network = true\n");
  auto r = to_spec(c, {});
  ASSERT_TRUE(r.ok());
  ASSERT_NE(r->linux->find_namespace("network"), nullptr);
  EXPECT_EQ(r->linux->find_namespace("network")->path, "");
}

TEST(ToSpec, NetworkNamespacePath) {
  Container c = parse_one(
      "[containers.a]\nshare_host = true\ncommand = [\"/bin/sh\"]\nnetwork_namespace = "
      "\"/run/netns/shared\"\n");
  auto r = to_spec(c, {});
  ASSERT_TRUE(r.ok());
  ASSERT_NE(r->linux->find_namespace("network"), nullptr);
  EXPECT_EQ(r->linux->find_namespace("network")->path, "/run/netns/shared");
  EXPECT_FALSE(has(r->process->capabilities->bounding, "CAP_NET_ADMIN"));
}

// The image's tree is the root the spec names: the monitor mounts the
// container's overlay over it (a lower layer, never written).
TEST(ToSpec, ImageTreeIsTheRoot) {
  Container c = parse_one("[containers.a]\nimage = \"debian\"\ncommand = [\"/bin/sh\"]\n");
  EXPECT_EQ(c.image, "debian");
  SpecContext ctx;
  ctx.paths = Paths::under("/tmp/r");
  auto r = to_spec(c, ctx);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->root.path, "/tmp/r/var/lib/berth/images/debian/rootfs");
}

TEST(ToSpec, PrivateUsers) {
  Container c = parse_one(
      "[containers.a]\nshare_host = true\ncommand = [\"/bin/sh\"]\nprivate_users = 524288\n");
  auto r = to_spec(c, {});
  ASSERT_TRUE(r.ok());
  ASSERT_NE(r->linux->find_namespace("user"), nullptr);
  ASSERT_EQ(r->linux->uid_mappings.size(), 1u);
  EXPECT_EQ(r->linux->uid_mappings[0].container_id, 0u);
  EXPECT_EQ(r->linux->uid_mappings[0].host_id, 524288u);
  EXPECT_EQ(r->linux->uid_mappings[0].size, 65536u);
  EXPECT_EQ(r->linux->gid_mappings[0].host_id, 524288u);

  Container p = parse_one(
      "[containers.a]\nshare_host = true\ncommand = [\"/bin/sh\"]\nprivate_users = \"pick\"\n");
  auto bad = to_spec(p, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "containers.a: private_users = \"pick\" needs a uid range chosen by the manager");
  SpecContext ctx;
  ctx.picked_uid_base = 1u << 20;
  auto good = to_spec(p, ctx);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->linux->uid_mappings[0].host_id, 1u << 20);
}

// Binds of a user-namespaced container are idmapped unless idmap = false;
// without a user namespace there is nothing to map them with.
TEST(ToSpec, BindsOfAUserNamespacedContainerAreIdmapped) {
  const std::string binds =
      "bind_mounts.\"/srv\" = { host_path = \"/srv/www\", read_only = false }\n"
      "bind_mounts.\"/ro\" = \"/srv/ro\"\n"
      "bind_mounts.\"/plain\" = { host_path = \"/srv/plain\", idmap = false }\n";
  Container c = parse_one(
      "[containers.a]\nshare_host = true\ncommand = [\"/bin/sh\"]\n"
      "private_users = 524288\n" +
      binds);
  EXPECT_FALSE(c.bind_mounts.at("/plain").idmap);
  auto r = to_spec(c, {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(find_mount(*r, "/srv")->options, (std::vector<std::string>{"rbind", "rw", "idmap"}));
  EXPECT_EQ(find_mount(*r, "/ro")->options, (std::vector<std::string>{"rbind", "ro", "idmap"}));
  EXPECT_EQ(find_mount(*r, "/plain")->options, (std::vector<std::string>{"rbind", "ro"}));
  Container n = parse_one("[containers.a]\nshare_host = true\ncommand = [\"/bin/sh\"]\n" + binds);
  auto rn = to_spec(n, {});
  ASSERT_TRUE(rn.ok());
  EXPECT_EQ(find_mount(*rn, "/srv")->options, (std::vector<std::string>{"rbind", "rw"}));
}

// [settings] private_users is the default of every container; a container's
// own key wins; unset, only booted containers get "pick".
TEST(ToSpec, SettingsPrivateUsersIsEveryContainersDefault) {
  LoadOptions o;
  o.check_host = false;
  const std::string decls =
      "[containers.cmd]\nshare_host = true\ncommand = [\"/bin/sh\"]\n"
      "[containers.own]\nshare_host = true\ncommand = [\"/bin/sh\"]\nprivate_users = \"no\"\n"
      "[containers.boot]\nshare_host = true\nboot = true\n";
  auto unset = load_documents({{"c.toml", decls}}, o);
  ASSERT_TRUE(unset.ok()) << unset.error_text();
  EXPECT_EQ(unset.decls.containers.at("cmd").private_users.mode, PrivateUsers::Mode::No);
  EXPECT_EQ(unset.decls.containers.at("boot").private_users.mode, PrivateUsers::Mode::Pick);
  auto pick = load_documents({{"c.toml", "[settings]\nprivate_users = \"pick\"\n" + decls}}, o);
  ASSERT_TRUE(pick.ok()) << pick.error_text();
  EXPECT_EQ(pick.decls.containers.at("cmd").private_users.mode, PrivateUsers::Mode::Pick);
  EXPECT_EQ(pick.decls.containers.at("own").private_users.mode, PrivateUsers::Mode::No);
  auto base = load_documents({{"c.toml", "[settings]\nprivate_users = 1048576\n" + decls}}, o);
  ASSERT_TRUE(base.ok()) << base.error_text();
  for (auto n : {"cmd", "boot"})
    EXPECT_EQ(base.decls.containers.at(n).private_users,
              (PrivateUsers{PrivateUsers::Mode::Base, 1048576}))
        << n;
  auto bad = load_documents({{"c.toml", "[settings]\nprivate_users = -1\n" + decls}}, o);
  EXPECT_EQ(bad.error_text(),
            "c.toml:2: settings.private_users: expected \"no\", \"pick\" or a base uid "
            "(0-4294901760), got -1");
}

TEST(ToSpec, DevicesAndTun) {
  Container c = parse_one(R"([containers.a]
share_host = true
command = ["/bin/sh"]
allowed_devices = [{ node = "/dev/null", modifier = "r" }]
enable_tun = true
additional_capabilities = ["CAP_SYS_TIME", "CAP_NET_ADMIN"]
)");
  auto r = to_spec(c, {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& devs = r->linux->devices;
  ASSERT_EQ(devs.size(), 2u);
  EXPECT_EQ(devs[0].path, "/dev/null");
  EXPECT_EQ(devs[0].type, "c");
  EXPECT_EQ(devs[0].major, 1);
  EXPECT_EQ(devs[0].minor, 3);
  EXPECT_EQ(devs[1].path, "/dev/net/tun");
  EXPECT_EQ(devs[1].major, 10);
  EXPECT_EQ(devs[1].minor, 200);
  const auto& rules = r->linux->resources->devices;
  auto allows = [&](int64_t maj, int64_t min, const std::string& access) {
    return std::any_of(rules.begin(), rules.end(), [&](const oci::DeviceRule& d) {
      return d.allow && d.type == "c" && d.major == maj && d.minor == min && d.access == access;
    });
  };
  EXPECT_TRUE(allows(1, 3, "r"));
  EXPECT_TRUE(allows(10, 200, "rwm"));
  EXPECT_FALSE(allows(10, 229, "rwm"));  // /dev/fuse was not asked for
  const auto& caps = r->process->capabilities->bounding;
  EXPECT_TRUE(has(caps, "CAP_SYS_TIME"));
  EXPECT_EQ(std::count(caps.begin(), caps.end(), "CAP_NET_ADMIN"), 1);
}

TEST(ToSpec, CpuQuotaScales) {
  Container c =
      parse_one("[containers.a]\nshare_host = true\ncommand = [\"/bin/sh\"]\nresources.cpu = 2\n");
  auto r = to_spec(c, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->linux->resources->cpu->quota, 200000);
}

TEST(ShareHostRoot, IsPreparedFromTheHost) {
  FakeHost host;
  test::TempDir root;
  Paths paths = Paths::under(root.path());
  Container c = parse_one(R"([containers.web]
share_host = true
command = ["/bin/sh"]
private_network = true
)");
  ASSERT_TRUE(prepare_share_host_root(c, paths, host.path()).ok());
  std::string r = paths.container_rootfs("web");
  EXPECT_EQ(fs::read_symlink(r + "/bin"), "usr/bin");
  EXPECT_EQ(fs::read_symlink(r + "/lib"), "usr/lib");
  EXPECT_TRUE(fs::is_directory(fs::symlink_status(r + "/usr")));
  EXPECT_TRUE(fs::is_empty(r + "/usr"));  // a mount point only
  EXPECT_TRUE(fs::is_directory(fs::symlink_status(r + "/lib64")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(r + "/lib32")));
  for (auto d : {"proc", "sys", "dev", "run", "tmp", "var/tmp", "root"})
    EXPECT_TRUE(fs::is_directory(r + "/" + d)) << d;
  EXPECT_EQ(fs::status(r + "/tmp").permissions() & fs::perms::all, fs::perms::all);
  EXPECT_NE(read_file(r + "/etc/passwd")->find("root:x:0:0:"), std::string::npos);
  EXPECT_NE(read_file(r + "/etc/group")->find("root:x:0:"), std::string::npos);
  EXPECT_NE(read_file(r + "/etc/hosts")->find("127.0.1.1\tweb\n"), std::string::npos);
  EXPECT_EQ(*read_file(r + "/etc/hostname"), "web\n");
  EXPECT_NE(read_file(r + "/etc/nsswitch.conf")->find("hosts: files dns"), std::string::npos);
  // resolv.conf is the manager's (tests/unit/manager/resolv_test.cpp).
  EXPECT_EQ(fs::read_symlink(r + "/etc/os-release"), "../usr/lib/os-release");

  // A second run keeps what the container changed in passwd, and is idempotent.
  std::ofstream(r + "/etc/passwd", std::ios::app) << "app:x:1000:1000::/home/app:/bin/sh\n";
  ASSERT_TRUE(prepare_share_host_root(c, paths, host.path()).ok());
  EXPECT_NE(read_file(r + "/etc/passwd")->find("app:x:1000"), std::string::npos);
  EXPECT_EQ(fs::read_symlink(r + "/bin"), "usr/bin");
}

TEST(ShareHostRoot, HostsNamesTheLocalAddress) {
  FakeHost host;
  test::TempDir root;
  Paths paths = Paths::under(root.path());
  Container c = parse_one(R"([containers.web]
share_host = true
command = ["/bin/sh"]
hostname = "www"
private_network = true
local_address = "10.233.1.2/24"
local_address6 = "fd00::2"
)");
  ASSERT_TRUE(prepare_share_host_root(c, paths, host.path()).ok());
  EXPECT_EQ(*read_file(paths.container_rootfs("web") + "/etc/hosts"),
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
            "ip6-loopback\n10.233.1.2\twww\nfd00::2\twww\n");
  EXPECT_EQ(*read_file(paths.container_rootfs("web") + "/etc/hostname"), "www\n");
}

TEST(SummaryConf, WrittenAtomicallyWithNixosKeys) {
  test::TempDir root;
  Paths paths = Paths::under(root.path());
  Container c = parse_one(R"([containers.web]
share_host = true
command = ["/bin/sh"]
autostart = true
private_network = true
host_address = "10.233.1.1"
local_address = "10.233.1.2/24"
local_address6 = "fc00::2"
interfaces = ["eth1", "eth2"]
forward_ports = [{ host_port = 8080, container_port = 80 }, { protocol = "udp", host_port = 53 }]
)");
  ASSERT_TRUE(write_summary_conf(c, paths).ok());
  auto text = read_file(root.path() + "/etc/berth/web.conf");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "# written by berth from c.toml; edit the declaration, not this file\n"
            "NAME=web\n"
            "SYSTEM_PATH=\n"
            "SHARE_HOST=1\n"
            "IMAGE=\n"
            "BOOT=0\n"
            "AUTO_START=1\n"
            "EPHEMERAL=0\n"
            "PRIVATE_NETWORK=1\n"
            "HOST_BRIDGE=\n"
            "HOST_ADDRESS=10.233.1.1\n"
            "LOCAL_ADDRESS=10.233.1.2/24\n"
            "HOST_ADDRESS6=\n"
            "LOCAL_ADDRESS6=fc00::2\n"
            "LOCAL_MAC_ADDRESS=\n"
            "HOST_PORT=tcp:8080:80,udp:53:53\n"
            "NETWORK_NAMESPACE_PATH=\n"
            "PRIVATE_USERS=no\n"
            "INTERFACES='eth1 eth2'\n"
            "MACVLANS=\n"
            "EXTRA_VETHS=\n"
            "NAT=0\n");
  EXPECT_FALSE(fs::exists(root.path() + "/etc/berth/web.conf.tmp"));
  // Sourced by sh, the values come back as written.
  auto out = test::sh(". " + root.path() +
                      "/etc/berth/web.conf && echo \"$INTERFACES|$HOST_PORT|$LOCAL_ADDRESS\"");
  EXPECT_EQ(out.status, 0);
  EXPECT_EQ(out.out, "eth1 eth2|tcp:8080:80,udp:53:53|10.233.1.2/24\n");
  // Rewriting replaces the file.
  c.private_network = false;
  ASSERT_TRUE(write_summary_conf(c, paths).ok());
  EXPECT_NE(read_file(root.path() + "/etc/berth/web.conf")->find("PRIVATE_NETWORK=0\n"),
            std::string::npos);
}

TEST(Paths, RootMovesEverything) {
  Paths h = Paths::under("/");
  EXPECT_EQ(h.etc, "/etc/berth");
  EXPECT_EQ(h.state, "/var/lib/berth");
  EXPECT_EQ(h.run, "/run/berth");
  EXPECT_EQ(h.log, "/var/log/berth");
  EXPECT_EQ(Paths::under("").etc, "/etc/berth");
  Paths t = Paths::under("/tmp/r/");
  EXPECT_EQ(t.root, "/tmp/r");
  EXPECT_EQ(t.etc, "/tmp/r/etc/berth");
  EXPECT_EQ(t.state, "/tmp/r/var/lib/berth");
  EXPECT_EQ(t.run, "/tmp/r/run/berth");
  EXPECT_EQ(t.log, "/tmp/r/var/log/berth");
  EXPECT_EQ(t.declarations_file(), "/tmp/r/etc/berth/containers.toml");
  EXPECT_EQ(t.declarations_dir(), "/tmp/r/etc/berth/containers.d");
  EXPECT_EQ(t.summary_conf("web"), "/tmp/r/etc/berth/web.conf");
  EXPECT_EQ(t.container_state("web"), "/tmp/r/var/lib/berth/containers/web");
  EXPECT_EQ(t.container_rootfs("web"), "/tmp/r/var/lib/berth/containers/web/rootfs");
  EXPECT_EQ(t.container_layer("web"), "/tmp/r/var/lib/berth/containers/web/layer");
  EXPECT_EQ(t.images(), "/tmp/r/var/lib/berth/images");
  EXPECT_EQ(t.image_rootfs("debian"), "/tmp/r/var/lib/berth/images/debian/rootfs");
  EXPECT_EQ(t.container_run("web"), "/tmp/r/run/berth/web");
  EXPECT_EQ(t.container_log("web"), "/tmp/r/var/log/berth/web.log");
}

TEST(Paths, ResolveRoot) {
  ::unsetenv("BERTH_ROOT");
  EXPECT_EQ(resolve_root(""), "/");
  EXPECT_EQ(resolve_root("/x"), "/x");
  ::setenv("BERTH_ROOT", "/from-env", 1);
  EXPECT_EQ(resolve_root(""), "/from-env");
  EXPECT_EQ(resolve_root("/x"), "/x");
  ::unsetenv("BERTH_ROOT");
  // Relative: against the working directory (a started monitor works from /).
  EXPECT_EQ(resolve_root("rel/dir"), (fs::current_path() / "rel/dir").string());
  EXPECT_EQ(resolve_root("/x/../y/"), "/y/");
}

TEST(Paths, DefaultDeclarationFiles) {
  test::TempDir root;
  Paths p = Paths::under(root.path());
  EXPECT_TRUE(default_declaration_files(p).empty());
  fs::create_directories(p.declarations_dir());
  std::ofstream(p.declarations_file()) << "";
  std::ofstream(p.declarations_dir() + "/b.toml") << "";
  std::ofstream(p.declarations_dir() + "/a.json") << "{}";
  std::ofstream(p.declarations_dir() + "/notes.txt") << "";
  EXPECT_EQ(default_declaration_files(p),
            (std::vector<std::string>{p.declarations_file(), p.declarations_dir() + "/a.json",
                                      p.declarations_dir() + "/b.toml"}));
}

}  // namespace
}  // namespace berth::decl

namespace berth::decl {
namespace {

TEST(Capabilities, ByKind) {
  auto caps = [](const std::string& toml) { return capabilities_of(parse_one(toml)); };
  auto cmd = caps("[containers.a]\nshare_host = true\ncommand = [\"/bin/sh\"]\n");
  EXPECT_EQ(cmd, command_capabilities());
  auto boot_net = caps("[containers.a]\npath = \"/t\"\nboot = true\nprivate_network = true\n");
  EXPECT_TRUE(has(boot_net, "CAP_NET_ADMIN"));  // a system manages its own network namespace
  EXPECT_TRUE(has(boot_net, "CAP_SYS_ADMIN"));  // systemd needs it (in its user namespace)
  auto tun =
      caps("[containers.a]\nshare_host = true\ncommand = [\"/bin/sh\"]\nenable_tun = true\n");
  EXPECT_TRUE(has(tun, "CAP_NET_ADMIN"));  // TUNSETIFF
  auto extra = caps(
      "[containers.a]\nshare_host = true\ncommand = [\"/bin/sh\"]\nadditional_capabilities = "
      "[\"CAP_SYS_TIME\", \"CAP_CHOWN\"]\n");
  EXPECT_TRUE(has(extra, "CAP_SYS_TIME"));
  EXPECT_EQ(std::count(extra.begin(), extra.end(), "CAP_CHOWN"), 1);
}

TEST(Capabilities, HostTakeover) {
  auto why = [](const std::string& toml) { return host_takeover_reason(parse_one(toml)); };
  EXPECT_EQ(why("[containers.a]\npath = \"/t\"\nboot = true\n"), "");
  EXPECT_EQ(why("[containers.a]\npath = \"/t\"\nboot = true\nprivate_users = \"no\"\n"),
            "private_users = \"no\" on a booted container: it holds CAP_SYS_ADMIN in the host's "
            "user namespace");
  EXPECT_EQ(why("[settings]\nprivate_users = \"no\"\n[containers.a]\npath = \"/t\"\nboot = true\n"),
            "private_users = \"no\" (from [settings]) on a booted container: it holds "
            "CAP_SYS_ADMIN in the host's user namespace");
  EXPECT_EQ(why("[settings]\nprivate_users = \"no\"\n[containers.a]\npath = \"/t\"\nboot = "
                "true\nprivate_users = \"pick\"\n"),
            "");
  EXPECT_EQ(
      why("[containers.a]\nshare_host = true\ncommand = [\"/bin/sh\"]\nadditional_capabilities "
          "= [\"CAP_SYS_ADMIN\"]\n"),
      "additional_capabilities gives CAP_SYS_ADMIN without a user namespace");
  // In a user namespace of its own, CAP_SYS_ADMIN is that namespace's.
  EXPECT_EQ(why("[containers.a]\nshare_host = true\ncommand = [\"/bin/sh\"]\nprivate_users = "
                "\"pick\"\nadditional_capabilities = [\"CAP_SYS_ADMIN\"]\n"),
            "");
  // A command container takes [settings] private_users too (#14).
  EXPECT_EQ(parse_one("[settings]\nprivate_users = \"pick\"\n[containers.a]\nshare_host = "
                      "true\ncommand = [\"/bin/sh\"]\n")
                .private_users.mode,
            PrivateUsers::Mode::Pick);
  auto w = host_takeover_warning(
      parse_one("[containers.b]\npath = \"/t\"\nboot = true\nprivate_users = \"no\"\n"));
  EXPECT_TRUE(
      w.starts_with("warning: containers.b: root in this container can take over the host ("))
      << w;
}

}  // namespace
}  // namespace berth::decl
