// Valid declarations parse into the expected model; TOML and JSON agree;
// files merge; host checks see the real filesystem.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "decl/decl.h"
#include "support/testenv.h"

namespace berth::decl {
namespace {

using namespace std::chrono_literals;

LoadResult load(const std::string& file, const std::string& text) {
  LoadOptions o;
  o.check_host = false;
  return load_documents({{file, text}}, o);
}

constexpr const char* kDesignExample = R"(
[containers.web]
share_host = true                      # read-only host /usr etc.; no image needed
command = ["/usr/bin/python3", "-m", "http.server", "80"]
autostart = true
private_network = true
host_address = "10.233.1.1"
local_address = "10.233.1.2"
forward_ports = [{ protocol = "tcp", host_port = 8080, container_port = 80 }]
bind_mounts."/srv" = { host_path = "/srv/www", read_only = true }
resources = { memory = "256M", pids = 128, cpu = 0.5 }

[containers.db]
path = "/var/lib/machines/debian"      # a full system tree (the seed's `path`)
boot = true                            # run its init (systemd) as PID 1
restart_if_changed = false
resolv_conf = "replace-uplink"
private_network = true
host_address = "10.233.2.1"
local_address = "10.233.2.2"
)";

TEST(Parse, DesignExample) {
  auto r = load("/etc/berth/containers.toml", kDesignExample);
  ASSERT_TRUE(r.ok()) << r.error_text();
  ASSERT_EQ(r.decls.containers.size(), 2u);
  const Container& web = r.decls.containers.at("web");
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.file, "/etc/berth/containers.toml");
  EXPECT_EQ(web.line, 2);
  EXPECT_EQ(web.line_of("host_address"), 7);
  EXPECT_TRUE(web.share_host);
  EXPECT_EQ(web.path, "");
  EXPECT_EQ(web.command, (std::vector<std::string>{"/usr/bin/python3", "-m", "http.server", "80"}));
  EXPECT_TRUE(web.autostart);
  EXPECT_TRUE(web.restart_if_changed);
  EXPECT_FALSE(r.decls.containers.at("db").restart_if_changed);
  EXPECT_EQ(web.resolv_conf, ResolvConf::Auto);
  EXPECT_EQ(r.decls.containers.at("db").resolv_conf, ResolvConf::ReplaceUplink);
  EXPECT_TRUE(web.private_network);
  ASSERT_TRUE(web.host_address);
  EXPECT_EQ(web.host_address->address, "10.233.1.1");
  EXPECT_EQ(web.host_address->prefix, 32u);
  EXPECT_FALSE(web.host_address->explicit_prefix);
  EXPECT_EQ(web.local_address->str(), "10.233.1.2");
  ASSERT_EQ(web.forward_ports.size(), 1u);
  EXPECT_EQ(web.forward_ports[0], (PortForward{"tcp", 8080, 80}));
  ASSERT_EQ(web.bind_mounts.size(), 1u);
  EXPECT_EQ(web.bind_mounts.at("/srv"), (BindMount{"/srv/www", true}));
  EXPECT_EQ(web.resources.memory, 256u * 1024 * 1024);
  EXPECT_EQ(web.resources.pids, 128);
  EXPECT_DOUBLE_EQ(*web.resources.cpu, 0.5);
  EXPECT_FALSE(web.resources.io_weight);

  const Container& db = r.decls.containers.at("db");
  EXPECT_EQ(db.path, "/var/lib/machines/debian");
  EXPECT_TRUE(db.boot);
  EXPECT_TRUE(db.command.empty());
  EXPECT_EQ(db.local_address->address, "10.233.2.2");
}

TEST(Parse, Defaults) {
  auto r = load("c.toml", R"([containers.a]
share_host = true
command = ["/bin/sh"]
private_network = true
local_address = "10.0.0.2"
forward_ports = [{ host_port = 53 }]
bind_mounts."/data" = {}
bind_mounts."/etc/x" = "/srv/x"
allowed_devices = [{ node = "/dev/fuse" }]
)");
  ASSERT_TRUE(r.ok()) << r.error_text();
  const Container& a = r.decls.containers.at("a");
  EXPECT_EQ(a.timeout_start, 60s);
  EXPECT_EQ(a.timeout_stop, 10s);
  EXPECT_EQ(a.restart, Restart::OnFailure);
  EXPECT_EQ(a.private_users.mode, PrivateUsers::Mode::No);
  EXPECT_FALSE(a.autostart);
  EXPECT_TRUE(a.restart_if_changed);
  EXPECT_FALSE(a.ephemeral);
  EXPECT_EQ(a.effective_hostname(), "a");
  EXPECT_EQ(a.forward_ports[0], (PortForward{"tcp", 53, 53}));
  EXPECT_EQ(a.bind_mounts.at("/data"), (BindMount{"/data", true}));
  EXPECT_EQ(a.bind_mounts.at("/etc/x"), (BindMount{"/srv/x", true}));
  EXPECT_EQ(a.allowed_devices[0], (AllowedDevice{"/dev/fuse", "rwm"}));
  EXPECT_FALSE(r.decls.settings.nat);
}

// Every option, once in TOML and once in JSON.
constexpr const char* kFullToml = R"(
[settings]
nat = true

[containers.full]
path = "/var/lib/machines/full"
command = ["/bin/sh", "-c", "echo hi"]
environment = { LANG = "C.UTF-8", DEBUG = "1" }
hostname = "full.example"
autostart = true
ephemeral = true
timeout_start = "1min 30s"
timeout_stop = 2.5
restart = "always"
after = ["other"]
bind_mounts."/srv" = { host_path = "/srv/www", read_only = false }
bind_mounts."/data" = "/var/data"
tmpfs = ["/var/cache", "/var/tmp"]
additional_capabilities = ["CAP_SYS_TIME"]
allowed_devices = [{ node = "/dev/fuse", modifier = "rw" }]
enable_tun = true
seccomp = false
private_users = 524288
resources = { memory = "1G", cpu = 2, pids = 512, io_weight = 500 }
private_network = true
host_address = "10.233.5.1"
local_address = "10.233.5.2/24"
host_address6 = "fc00::5:1"
local_address6 = "FC00:0::5:2/64"
macvlans = ["eth1"]
interfaces = ["eth2"]
extra_veths.ex0 = { host_bridge = "br1", local_address = "192.168.7.2/24", forward_ports = [{ protocol = "udp", host_port = 5353 }] }
forward_ports = [{ protocol = "udp", host_port = 53 }, { host_port = 8443, container_port = 443 }]
local_mac_address = "02:AB:00:00:00:01"
nat = true

[containers.other]
share_host = true
boot = true
private_users = "pick"
restart = "no"
network_namespace = "/run/netns/shared"
)";

constexpr const char* kFullJson = R"({
  "settings": {"nat": true},
  "containers": {
    "full": {
      "path": "/var/lib/machines/full",
      "command": ["/bin/sh", "-c", "echo hi"],
      "environment": {"LANG": "C.UTF-8", "DEBUG": "1"},
      "hostname": "full.example",
      "autostart": true,
      "ephemeral": true,
      "timeout_start": 90,
      "timeout_stop": "2s 500ms",
      "restart": "always",
      "after": ["other"],
      "bind_mounts": {
        "/srv": {"host_path": "/srv/www", "read_only": false},
        "/data": "/var/data"
      },
      "tmpfs": ["/var/cache", "/var/tmp"],
      "additional_capabilities": ["CAP_SYS_TIME"],
      "allowed_devices": [{"node": "/dev/fuse", "modifier": "rw"}],
      "enable_tun": true,
      "seccomp": false,
      "private_users": 524288,
      "resources": {"memory": 1073741824, "cpu": 2.0, "pids": 512, "io_weight": 500},
      "private_network": true,
      "host_address": "10.233.5.1",
      "local_address": "10.233.5.2/24",
      "host_address6": "fc00::5:1",
      "local_address6": "fc00::5:2/64",
      "macvlans": ["eth1"],
      "interfaces": ["eth2"],
      "extra_veths": {"ex0": {"host_bridge": "br1", "local_address": "192.168.7.2/24",
                              "forward_ports": [{"protocol": "udp", "host_port": 5353}]}},
      "forward_ports": [{"protocol": "udp", "host_port": 53}, {"host_port": 8443, "container_port": 443}],
      "local_mac_address": "02:ab:00:00:00:01",
      "nat": true
    },
    "other": {"share_host": true, "boot": true, "private_users": "pick", "restart": "no",
              "network_namespace": "/run/netns/shared"}
  }
})";

TEST(Parse, EveryOption) {
  auto r = load("/etc/berth/containers.toml", kFullToml);
  ASSERT_TRUE(r.ok()) << r.error_text();
  EXPECT_TRUE(r.decls.settings.nat);
  const Container& f = r.decls.containers.at("full");
  EXPECT_EQ(f.environment,
            (std::map<std::string, std::string>{{"DEBUG", "1"}, {"LANG", "C.UTF-8"}}));
  EXPECT_EQ(f.effective_hostname(), "full.example");
  EXPECT_TRUE(f.ephemeral);
  EXPECT_EQ(f.timeout_start, 90s);
  EXPECT_EQ(f.timeout_stop, 2500ms);
  EXPECT_EQ(f.restart, Restart::Always);
  EXPECT_EQ(f.after, std::vector<std::string>{"other"});
  EXPECT_EQ(f.bind_mounts.at("/srv"), (BindMount{"/srv/www", false}));
  EXPECT_EQ(f.bind_mounts.at("/data"), (BindMount{"/var/data", true}));
  EXPECT_EQ(f.tmpfs, (std::vector<std::string>{"/var/cache", "/var/tmp"}));
  EXPECT_EQ(f.additional_capabilities, std::vector<std::string>{"CAP_SYS_TIME"});
  EXPECT_EQ(f.allowed_devices, (std::vector<AllowedDevice>{{"/dev/fuse", "rw"}}));
  EXPECT_TRUE(f.enable_tun);
  EXPECT_FALSE(f.seccomp);
  EXPECT_EQ(f.private_users, (PrivateUsers{PrivateUsers::Mode::Base, 524288}));
  EXPECT_EQ(f.resources, (Resources{1u << 30, 2.0, 512, 500}));
  EXPECT_EQ(f.local_address->str(), "10.233.5.2/24");
  EXPECT_EQ(f.local_address->prefix, 24u);
  EXPECT_TRUE(f.local_address6->v6);
  EXPECT_EQ(f.local_address6->str(), "fc00::5:2/64");  // canonical form
  EXPECT_EQ(f.host_address6->prefix, 128u);
  EXPECT_EQ(f.macvlans, std::vector<std::string>{"eth1"});
  EXPECT_EQ(f.interfaces, std::vector<std::string>{"eth2"});
  ASSERT_EQ(f.extra_veths.count("ex0"), 1u);
  EXPECT_EQ(f.extra_veths.at("ex0").host_bridge, "br1");
  EXPECT_EQ(f.extra_veths.at("ex0").local_address->str(), "192.168.7.2/24");
  EXPECT_EQ(f.extra_veths.at("ex0").forward_ports, (std::vector<PortForward>{{"udp", 5353, 5353}}));
  EXPECT_EQ(f.forward_ports, (std::vector<PortForward>{{"udp", 53, 53}, {"tcp", 8443, 443}}));
  EXPECT_EQ(f.local_mac_address, "02:ab:00:00:00:01");
  EXPECT_TRUE(f.nat);
  const Container& o = r.decls.containers.at("other");
  EXPECT_EQ(o.private_users.mode, PrivateUsers::Mode::Pick);
  EXPECT_EQ(o.restart, Restart::No);
  EXPECT_EQ(o.network_namespace, "/run/netns/shared");
}

TEST(Parse, JsonAndTomlGiveTheSameModel) {
  auto t = load("/etc/berth/containers.toml", kFullToml);
  auto j = load("/etc/berth/containers.json", kFullJson);
  ASSERT_TRUE(t.ok()) << t.error_text();
  ASSERT_TRUE(j.ok()) << j.error_text();
  ASSERT_EQ(t.decls.containers.size(), j.decls.containers.size());
  for (auto& [name, c] : t.decls.containers) {
    ASSERT_EQ(j.decls.containers.count(name), 1u) << name;
    EXPECT_TRUE(same_declaration(c, j.decls.containers.at(name))) << name;
  }
  EXPECT_EQ(t.decls.settings.nat, j.decls.settings.nat);
  // And the JSON lines are the lines of the keys.
  EXPECT_EQ(j.decls.containers.at("full").line, 4);
  EXPECT_EQ(j.decls.containers.at("full").line_of("hostname"), 8);
  EXPECT_EQ(j.decls.containers.at("full").line_of("nat"), 37);
}

TEST(Parse, SameDeclarationNoticesChanges) {
  auto t = load("c.toml", kFullToml);
  ASSERT_TRUE(t.ok());
  Container a = t.decls.containers.at("full");
  Container b = a;
  b.file = "elsewhere.toml";
  b.line = 99;
  EXPECT_TRUE(same_declaration(a, b));
  b.bind_mounts["/srv"].read_only = true;
  EXPECT_FALSE(same_declaration(a, b));
}

TEST(Parse, JsonStringsWithEscapesAndLines) {
  auto r = load("x.json",
                "{\"containers\":\n{\"a\\u0062\": {\"share_host\": true,\n \"command\": "
                "[\"/bin/echo\", \"a \\\"b\\\"\\n\"]}}}");
  ASSERT_TRUE(r.ok()) << r.error_text();
  const Container& c = r.decls.containers.at("ab");
  EXPECT_EQ(c.command[1], "a \"b\"\n");
  EXPECT_EQ(c.line, 2);
  EXPECT_EQ(c.line_of("command"), 3);
}

TEST(Parse, EmptyFilesDeclareNothing) {
  EXPECT_TRUE(load("c.toml", "").ok());
  EXPECT_TRUE(load("c.json", "{}").ok());
  EXPECT_TRUE(load("c.toml", "[containers]\n").ok());
}

TEST(Load, NameDeclaredTwiceAcrossFilesNamesBoth) {
  test::TempDir dir;
  std::ofstream(dir / "a.toml") << "[containers.web]\nshare_host = true\ncommand = [\"/bin/sh\"]\n";
  std::ofstream(dir / "b.json") << "{\n  \"containers\": {\n    \"web\": {\"share_host\": true, "
                                   "\"command\": [\"/bin/sh\"]}\n  }\n}\n";
  auto r = load_files({dir / "a.toml", dir / "b.json"}, {});
  ASSERT_EQ(r.errors.size(), 1u) << r.error_text();
  EXPECT_EQ(r.errors[0].str(), fmt::format("{}:3: containers.web: already declared at {}:1",
                                           dir / "b.json", dir / "a.toml"));
}

TEST(Load, MergesFilesAndResolvesAfterAcrossThem) {
  test::TempDir dir;
  std::ofstream(dir / "a.toml")
      << "[containers.web]\nshare_host = true\ncommand = [\"/bin/sh\"]\nafter = [\"db\"]\n";
  std::ofstream(dir / "b.toml") << "[containers.db]\nshare_host = true\ncommand = [\"/bin/sh\"]\n";
  auto r = load_files({dir / "a.toml", dir / "b.toml"}, {});
  ASSERT_TRUE(r.ok()) << r.error_text();
  EXPECT_EQ(r.decls.containers.size(), 2u);
  EXPECT_EQ(r.decls.containers.at("db").file, dir / "b.toml");
}

TEST(Load, StartOrderFollowsAfter) {
  auto r = load("c.toml", R"([containers.web]
share_host = true
command = ["/bin/sh"]
after = ["db", "cache"]
[containers.db]
share_host = true
command = ["/bin/sh"]
[containers.cache]
share_host = true
command = ["/bin/sh"]
after = ["db"]
[containers.alpha]
share_host = true
command = ["/bin/sh"]
)");
  ASSERT_TRUE(r.ok()) << r.error_text();
  EXPECT_EQ(start_order(r.decls), (std::vector<std::string>{"alpha", "db", "cache", "web"}));
}

TEST(Load, MissingFileIsAnError) {
  auto r = load_files({"/nonexistent/berth/containers.toml"}, {});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.error_text(),
            "/nonexistent/berth/containers.toml: cannot read: No such file or directory");
}

TEST(Load, HostChecks) {
  test::TempDir dir;
  ASSERT_EQ(::mkdir((dir / "tree").c_str(), 0755), 0);
  std::ofstream(dir / "file") << "x";
  std::string text = fmt::format(R"([containers.a]
path = "{0}/missing"
command = ["/bin/sh"]

[containers.b]
path = "{0}/file"
command = ["/bin/sh"]

[containers.c]
path = "{0}/tree"
boot = true
bind_mounts."/srv" = "{0}/nope"
allowed_devices = [{{ node = "/dev/berth-test-none" }}, {{ node = "/dev/null" }}]

[containers.d]
share_host = true
command = ["/bin/sh"]
allowed_devices = [{{ node = "/dev/shm" }}]
bind_mounts."/srv" = "{0}/tree"
tmpfs = ["/srv"]
)",
                                 dir.path());
  auto r = load_documents({{"c.toml", text}}, {});
  std::vector<std::string> got;
  for (auto& e : r.errors) got.push_back(e.str());
  EXPECT_EQ(
      got,
      (std::vector<std::string>{
          fmt::format("c.toml:2: containers.a.path: \"{}/missing\" does not exist", dir.path()),
          fmt::format("c.toml:6: containers.b.path: \"{}/file\" is not a directory", dir.path()),
          fmt::format(
              "c.toml:10: containers.c.path: \"{}/tree\" has no sbin/init (needed by boot = true)",
              dir.path()),
          fmt::format(
              "c.toml:12: containers.c.bind_mounts.\"/srv\": host path \"{}/nope\" does not exist",
              dir.path()),
          "c.toml:13: containers.c.allowed_devices[0].node: \"/dev/berth-test-none\" does not "
          "exist",
          "c.toml:18: containers.d.allowed_devices[0].node: \"/dev/shm\" is not a device node",
          "c.toml:20: containers.d.tmpfs[0]: \"/srv\" is also a bind mount",
      }));
  // With sbin/init the boot tree is fine.
  ASSERT_EQ(::mkdir((dir / "tree/sbin").c_str(), 0755), 0);
  std::ofstream(dir / "tree/sbin/init") << "#!/bin/sh\n";
  auto r2 = load_documents(
      {{"c.toml", fmt::format("[containers.c]\npath = \"{}/tree\"\nboot = true\n", dir.path())}},
      {});
  EXPECT_TRUE(r2.ok()) << r2.error_text();
}

TEST(Values, Sizes) {
  EXPECT_EQ(parse_size("256M"), 256ull << 20);
  EXPECT_EQ(parse_size("1G"), 1ull << 30);
  EXPECT_EQ(parse_size("512k"), 512ull << 10);
  EXPECT_EQ(parse_size("1.5G"), 3ull << 29);
  EXPECT_EQ(parse_size("2MiB"), 2ull << 20);
  EXPECT_EQ(parse_size("1048576"), 1048576u);
  EXPECT_EQ(parse_size("1T"), 1ull << 40);
  EXPECT_FALSE(parse_size(""));
  EXPECT_FALSE(parse_size("M"));
  EXPECT_FALSE(parse_size("12X"));
  EXPECT_FALSE(parse_size("1.5"));
  EXPECT_FALSE(parse_size("-1M"));
  EXPECT_FALSE(parse_size("99999999999T"));
}

TEST(Values, Durations) {
  EXPECT_EQ(parse_duration("1min"), 60s);
  EXPECT_EQ(parse_duration("90s"), 90s);
  EXPECT_EQ(parse_duration("90"), 90s);
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("1h 30min"), 5400s);
  EXPECT_EQ(parse_duration("2m3s"), 123s);
  EXPECT_EQ(parse_duration("1.5s"), 1500ms);
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("soon"));
  EXPECT_FALSE(parse_duration("5 fortnights"));
  EXPECT_FALSE(parse_duration("-5s"));
}

TEST(Values, Addresses) {
  auto a = parse_cidr("10.0.0.1/8", 4);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->address, "10.0.0.1");
  EXPECT_EQ(a->prefix, 8u);
  EXPECT_EQ(a->str(), "10.0.0.1/8");
  auto b = parse_cidr("FC00:0:0::1", 6);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->str(), "fc00::1");
  EXPECT_EQ(b->prefix, 128u);
  EXPECT_FALSE(parse_cidr("10.0.0", 4).ok());
  EXPECT_FALSE(parse_cidr("10.0.0.1/", 4).ok());
  EXPECT_FALSE(parse_cidr("10.0.0.1/-1", 4).ok());
  EXPECT_FALSE(parse_cidr("10.0.0.1/a", 4).ok());
  EXPECT_FALSE(parse_cidr("::1", 4).ok());
  EXPECT_FALSE(parse_cidr("10.0.0.1", 6).ok());
  EXPECT_TRUE(parse_cidr("::/0", 6).ok());
}

}  // namespace
}  // namespace berth::decl

namespace berth::decl {
namespace {

// Hostile or odd input gets a message, never a crash.
TEST(Parse, OddInputIsReportedNotFatal) {
  std::string deep_json = std::string(10000, '[') + std::string(10000, ']');
  auto j = load("x.json", deep_json);
  ASSERT_EQ(j.errors.size(), 1u);
  EXPECT_EQ(j.error_text(), "x.json:1: invalid JSON: nested deeper than 64 levels");
  auto big = load("x.json", R"({"containers": {"a": {"share_host": true, "command": ["/bin/sh"],
    "resources": {"pids": 18446744073709551615}}}})");
  EXPECT_EQ(big.error_text(),
            "x.json:2: containers.a.resources.pids: expected a positive integer, got "
            "1.8446744073709552e+19");
  auto date = load("c.toml", "[containers.a]\nshare_host = 1979-05-27\ncommand = [\"/bin/sh\"]\n");
  EXPECT_EQ(date.error_text(),
            "c.toml:2: containers.a.share_host: expected true or false, got a date or time");
  auto top = load("x.json", "[1, 2]");
  EXPECT_EQ(top.error_text(), "x.json:1: expected an object with \"containers\", got an array");
  auto nul = load("x.json", "null");
  EXPECT_EQ(nul.error_text(), "x.json:1: expected an object with \"containers\", got null");
  auto utf = load("c.toml", "[containers.\"wéb\"]\nshare_host = true\ncommand = [\"/bin/sh\"]\n");
  ASSERT_EQ(utf.errors.size(), 1u);
  EXPECT_EQ(utf.errors[0].key, "containers.\"wéb\"");
}

}  // namespace
}  // namespace berth::decl

namespace berth::decl {
namespace {

// Every one-character deletion of the full examples parses to a model or to
// errors that each carry a line and a message (and never crashes; the
// ASan build of this test is the real check).
TEST(Parse, EveryDeletionIsHandled) {
  for (auto [file, text] :
       {std::pair{"c.toml", std::string(kFullToml)}, std::pair{"c.json", std::string(kFullJson)}}) {
    size_t rejected = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      std::string t = text;
      t.erase(i, 1);
      auto r = load(file, t);
      for (auto& e : r.errors) {
        EXPECT_GE(e.line, 1) << file << " without byte " << i << ": " << e.str();
        EXPECT_FALSE(e.message.empty());
        EXPECT_EQ(e.str().find('\n'), std::string::npos) << e.str();
      }
      rejected += !r.ok();
    }
    EXPECT_GT(rejected, text.size() / 4) << file;
  }
}

}  // namespace
}  // namespace berth::decl
