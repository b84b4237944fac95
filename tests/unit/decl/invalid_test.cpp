// The table of invalid declarations: each must be rejected with exactly these
// lines (FILE:LINE: KEY: what was expected), all of them, not just the first.
#include <gtest/gtest.h>

#include "decl/decl.h"

namespace berth::decl {
namespace {

constexpr const char* kToml = "/etc/berth/containers.toml";
constexpr const char* kJson = "/etc/berth/containers.d/gen.json";

struct Case {
  const char* name;
  const char* file;
  const char* text;
  std::vector<std::string> errors;
};

std::vector<std::string> errors_of(const char* file, const char* text) {
  LoadOptions o;
  o.check_host = false;
  auto r = load_documents({{file, text}}, o);
  std::vector<std::string> out;
  for (auto& e : r.errors) out.push_back(e.str());
  return out;
}

// Line 1 of every text is its first line.
const std::vector<Case> kCases = {
    {"UnknownKeySuggestsNestedKey",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
memory = "256M"
)",
     {"/etc/berth/containers.toml:4: containers.web.memory: unknown key (did you mean "
      "\"resources.memory\"?)"}},
    {"UnknownKeyTypo",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
privat_network = true
)",
     {"/etc/berth/containers.toml:4: containers.web.privat_network: unknown key (did you mean "
      "\"private_network\"?)"}},
    {"NixosCamelCaseKey",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
privateNetwork = true
)",
     {"/etc/berth/containers.toml:4: containers.web.privateNetwork: unknown key (did you mean "
      "\"private_network\"?)"}},
    {"UnknownKeyNothingClose",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
flux_capacitor = 1
)",
     {"/etc/berth/containers.toml:4: containers.web.flux_capacitor: unknown key"}},
    {"TopLevelTypo",
     kToml,
     R"([container.web]
share_host = true
)",
     {"/etc/berth/containers.toml:1: container: unknown key (did you mean \"containers\"?)"}},
    {"TomlRedefinedKey",
     kToml,
     R"([containers.db]
share_host = true
command = ["/bin/sh"]
private_network = true
host_address = "10.233.1.1"
local_address = "10.233.1.2"
host_address6 = "fc00::1"
host_address = "10.233.1.300"
)",
     {"/etc/berth/containers.toml:8: invalid TOML: error while parsing key-value pair: cannot "
      "redefine existing string 'host_address'"}},
    {"BadIpv4",
     kToml,
     R"([containers.db]
share_host = true
command = ["/bin/sh"]
private_network = true
host_address = "10.233.1.1"
local_address = "10.233.1.300"
)",
     {"/etc/berth/containers.toml:6: containers.db.local_address: expected an IPv4 address, got "
      "\"10.233.1.300\""}},
    {"Ipv4PrefixTooLong",
     kToml,
     R"([containers.db]
share_host = true
command = ["/bin/sh"]
private_network = true
local_address = "10.0.0.2/33"
)",
     {"/etc/berth/containers.toml:5: containers.db.local_address: expected an IPv4 address with an "
      "optional /prefix (0-32), got \"10.0.0.2/33\""}},
    {"Ipv6InIpv4Field",
     kToml,
     R"([containers.db]
share_host = true
command = ["/bin/sh"]
private_network = true
host_address = "fc00::1"
)",
     {"/etc/berth/containers.toml:5: containers.db.host_address: expected an IPv4 address, got "
      "\"fc00::1\""}},
    {"BadIpv6",
     kToml,
     R"([containers.db]
share_host = true
command = ["/bin/sh"]
private_network = true
local_address6 = "fc00::zz"
)",
     {"/etc/berth/containers.toml:5: containers.db.local_address6: expected an IPv6 address, got "
      "\"fc00::zz\""}},
    {"Ipv6PrefixTooLong",
     kToml,
     R"([containers.db]
share_host = true
command = ["/bin/sh"]
private_network = true
local_address6 = "fc00::2/129"
)",
     {"/etc/berth/containers.toml:5: containers.db.local_address6: expected an IPv6 address with "
      "an optional /prefix (0-128), got \"fc00::2/129\""}},
    {"BoolAsString",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
autostart = "yes"
)",
     {"/etc/berth/containers.toml:4: containers.web.autostart: expected true or false, got "
      "\"yes\""}},
    {"RestartIfChangedAsString",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
restart_if_changed = "no"
)",
     {"/etc/berth/containers.toml:4: containers.web.restart_if_changed: expected true or false, "
      "got \"no\""}},
    {"ResolvConfUnknownMode",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
resolv_conf = "copy-static"
)",
     {"/etc/berth/containers.toml:4: containers.web.resolv_conf: expected one of \"auto\", "
      "\"off\", \"copy-host\", \"copy-uplink\", \"replace-host\", \"replace-uplink\", "
      "\"bind-host\", \"bind-uplink\", \"delete\", got \"copy-static\""}},
    {"ExtraHostsBadAddressAndName",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
extra_hosts = { "db" = "10.0.0.300", "bad name" = "10.0.0.1" }
)",
     {"/etc/berth/containers.toml:4: containers.web.extra_hosts.\"bad name\": expected a host name "
      "(letters, digits, '-' and '.') as the key",
      "/etc/berth/containers.toml:4: containers.web.extra_hosts.db: expected an IPv4 or IPv6 "
      "address, got \"10.0.0.300\""}},
    {"SeccompAsProfileName",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
seccomp = "default"
)",
     {"/etc/berth/containers.toml:4: containers.web.seccomp: expected true or false, got "
      "\"default\""}},
    {"CommandAsString",
     kToml,
     R"([containers.web]
share_host = true
command = "/bin/sh -c true"
)",
     {"/etc/berth/containers.toml:3: containers.web.command: expected an array of strings, got "
      "\"/bin/sh -c true\""}},
    {"CommandEmpty",
     kToml,
     R"([containers.web]
share_host = true
command = []
)",
     {"/etc/berth/containers.toml:3: containers.web.command: expected a non-empty array of strings "
      "(program and arguments), got an array"}},
    {"CommandNotStrings",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sleep", 10]
)",
     {"/etc/berth/containers.toml:3: containers.web.command[1]: expected a string, got 10"}},
    {"NeitherPathNorShareHost",
     kToml,
     R"([containers.web]
command = ["/bin/sh"]
)",
     {"/etc/berth/containers.toml:1: containers.web: expected \"path\" (a system tree), "
      "\"image\" (an image of the store) or \"share_host = true\""}},
    {"PathAndImage",
     kToml,
     R"([containers.web]
path = "/var/lib/machines/web"
image = "debian"
command = ["/bin/sh"]
)",
     {"/etc/berth/containers.toml:3: containers.web.image: \"path\" and \"image\" are exclusive"}},
    {"ImageAndShareHost",
     kToml,
     R"([containers.web]
share_host = true
image = "debian"
command = ["/bin/sh"]
)",
     {"/etc/berth/containers.toml:2: containers.web.share_host: \"image\" and \"share_host = "
      "true\" are exclusive"}},
    {"ImageName",
     kToml,
     R"([containers.web]
image = "../debian"
command = ["/bin/sh"]
)",
     {"/etc/berth/containers.toml:2: containers.web.image: expected an image name (lower-case "
      "letters, digits and '-', not at either end), got \"../debian\""}},
    {"PathAndShareHost",
     kToml,
     R"([containers.web]
path = "/var/lib/machines/web"
share_host = true
command = ["/bin/sh"]
)",
     {"/etc/berth/containers.toml:3: containers.web.share_host: \"path\" and \"share_host = true\" "
      "are exclusive"}},
    {"RelativePath",
     kToml,
     R"([containers.web]
path = "machines/web"
command = ["/bin/sh"]
)",
     {"/etc/berth/containers.toml:2: containers.web.path: expected an absolute path, got "
      "\"machines/web\""}},
    {"NoCommandNoBoot",
     kToml,
     R"([containers.web]
share_host = true
)",
     {"/etc/berth/containers.toml:1: containers.web: expected \"command\" (or \"boot = true\" to "
      "run the tree's /sbin/init)"}},
    {"CommandAndBoot",
     kToml,
     R"([containers.web]
path = "/var/lib/machines/web"
boot = true
command = ["/bin/sh"]
)",
     {"/etc/berth/containers.toml:4: containers.web.command: \"command\" and \"boot = true\" are "
      "exclusive"}},
    {"NameWithUpperCaseAndUnderscore",
     kToml,
     R"([containers.Web_1]
share_host = true
command = ["/bin/sh"]
)",
     {"/etc/berth/containers.toml:1: containers.Web_1: invalid name: expected lower-case letters, "
      "digits and '-' (not at either end), at most 63 characters"}},
    {"NameTooLong",
     kToml,
     R"([containers.a234567890123456789012345678901234567890123456789012345678901234]
share_host = true
command = ["/bin/sh"]
)",
     {"/etc/berth/containers.toml:1: "
      "containers.a234567890123456789012345678901234567890123456789012345678901234: invalid name: "
      "expected lower-case letters, digits and '-' (not at either end), at most 63 characters"}},
    {"NameStartsWithDash",
     kToml,
     R"([containers.-web]
share_host = true
command = ["/bin/sh"]
)",
     {"/etc/berth/containers.toml:1: containers.-web: invalid name: expected lower-case letters, "
      "digits and '-' (not at either end), at most 63 characters"}},
    {"MemoryNotASize",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
resources = { memory = "lots" }
)",
     {"/etc/berth/containers.toml:4: containers.web.resources.memory: expected a size like "
      "\"256M\", \"1G\" or a number of bytes, got \"lots\""}},
    {"CpuZero",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
[containers.web.resources]
cpu = 0
)",
     {"/etc/berth/containers.toml:5: containers.web.resources.cpu: expected a positive number of "
      "CPUs like 0.5, got 0"}},
    {"PidsNegative",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
resources.pids = -5
)",
     {"/etc/berth/containers.toml:4: containers.web.resources.pids: expected a positive integer, "
      "got -5"}},
    {"IoWeightOutOfRange",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
resources.io_weight = 5000
)",
     {"/etc/berth/containers.toml:4: containers.web.resources.io_weight: expected an integer from "
      "10 to 1000, got 5000"}},
    {"ResourcesTypo",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
resources = { memroy = "1G" }
)",
     {"/etc/berth/containers.toml:4: containers.web.resources.memroy: unknown key (did you mean "
      "\"memory\"?)"}},
    {"DurationGibberish",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
timeout_start = "soon"
)",
     {"/etc/berth/containers.toml:4: containers.web.timeout_start: expected a positive duration "
      "like \"90s\", \"1min\" or a number of seconds, got \"soon\""}},
    {"DurationZero",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
timeout_stop = 0
)",
     {"/etc/berth/containers.toml:4: containers.web.timeout_stop: expected a positive duration "
      "like \"90s\", \"1min\" or a number of seconds, got 0"}},
    {"RestartPolicy",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
restart = "sometimes"
)",
     {"/etc/berth/containers.toml:4: containers.web.restart: expected \"no\", \"on-failure\" or "
      "\"always\", got \"sometimes\""}},
    {"PrivateUsers",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
private_users = "maybe"
)",
     {"/etc/berth/containers.toml:4: containers.web.private_users: expected \"no\", \"pick\" or a "
      "base uid (0-4294901760), got \"maybe\""}},
    {"LocalAddressWithoutPrivateNetwork",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
local_address = "10.233.1.2"
)",
     {"/etc/berth/containers.toml:4: containers.web.local_address: needs private_network = true"}},
    {"NetworkNamespaceExclusive",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
private_network = true
host_address = "10.233.1.1"
network_namespace = "/run/netns/x"
)",
     {"/etc/berth/containers.toml:6: containers.web.network_namespace: exclusive with "
      "\"private_network\", \"host_address\""}},
    {"ForwardPortsWithoutLocalAddress",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
private_network = true
forward_ports = [{ host_port = 8080 }]
)",
     {"/etc/berth/containers.toml:5: containers.web.forward_ports: needs a local_address (or "
      "local_address6) to forward to"}},
    {"PortOutOfRange",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
private_network = true
local_address = "10.233.1.2"
forward_ports = [{ host_port = 70000, container_port = 80 }]
)",
     {"/etc/berth/containers.toml:6: containers.web.forward_ports[0].host_port: expected a port "
      "number (1-65535), got 70000"}},
    {"PortProtocol",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
private_network = true
local_address = "10.233.1.2"
forward_ports = [{ protocol = "sctp", host_port = 80 }]
)",
     {"/etc/berth/containers.toml:6: containers.web.forward_ports[0].protocol: expected \"tcp\" or "
      "\"udp\", got \"sctp\""}},
    {"PortMissingHostPort",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
private_network = true
local_address = "10.233.1.2"
forward_ports = [{ container_port = 80 }]
)",
     {"/etc/berth/containers.toml:6: containers.web.forward_ports[0]: missing \"host_port\""}},
    {"SameHostPortTwice",
     kToml,
     R"([containers.a]
share_host = true
command = ["/bin/sh"]
private_network = true
local_address = "10.233.1.2"
forward_ports = [{ host_port = 8080, container_port = 80 }]

[containers.b]
share_host = true
command = ["/bin/sh"]
private_network = true
local_address = "10.233.2.2"
forward_ports = [{ host_port = 8080, container_port = 80 }]
)",
     {"/etc/berth/containers.toml:13: containers.b.forward_ports[0]: tcp port 8080 is already "
      "forwarded to containers.a"}},
    {"DuplicateLocalAddress",
     kToml,
     R"([containers.a]
share_host = true
command = ["/bin/sh"]
private_network = true
local_address = "10.233.1.2"

[containers.b]
share_host = true
command = ["/bin/sh"]
private_network = true
local_address = "10.233.1.2/24"
)",
     {"/etc/berth/containers.toml:11: containers.b.local_address: 10.233.1.2 is already used by "
      "containers.a.local_address (/etc/berth/containers.toml:5)"}},
    {"DuplicateAddressInExtraVeth",
     kToml,
     R"([containers.a]
share_host = true
command = ["/bin/sh"]
private_network = true
host_address = "10.233.1.1"
local_address = "10.233.1.2"

[containers.b]
share_host = true
command = ["/bin/sh"]
private_network = true
extra_veths.ex0 = { host_address = "10.233.9.1", local_address = "10.233.1.1" }
)",
     {"/etc/berth/containers.toml:12: containers.b.extra_veths.ex0.local_address: 10.233.1.1 is "
      "already used by containers.a.host_address (/etc/berth/containers.toml:5)"}},
    {"LocalEqualsHost",
     kToml,
     R"([containers.a]
share_host = true
command = ["/bin/sh"]
private_network = true
host_address = "10.233.1.1"
local_address = "10.233.1.1"
)",
     {"/etc/berth/containers.toml:6: containers.a.local_address: same as host_address",
      "/etc/berth/containers.toml:6: containers.a.local_address: 10.233.1.1 is already used by "
      "containers.a.host_address (/etc/berth/containers.toml:5)"}},
    {"AfterUnknown",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
after = ["db"]
)",
     {"/etc/berth/containers.toml:4: containers.web.after[0]: no container named \"db\" is "
      "declared"}},
    {"AfterSelf",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
after = ["web"]
)",
     {"/etc/berth/containers.toml:4: containers.web.after[0]: a container cannot start after "
      "itself"}},
    {"AfterCycle",
     kToml,
     R"([containers.a]
share_host = true
command = ["/bin/sh"]
after = ["b"]

[containers.b]
share_host = true
command = ["/bin/sh"]
after = ["c"]

[containers.c]
share_host = true
command = ["/bin/sh"]
after = ["a"]
)",
     {"/etc/berth/containers.toml:4: containers.a.after: start order cycle: a -> b -> c -> a"}},
    {"CapabilityWithoutPrefix",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
additional_capabilities = ["CAP_SYS_TIME", "NET_ADMIN"]
)",
     {"/etc/berth/containers.toml:4: containers.web.additional_capabilities[1]: expected a "
      "capability name like \"CAP_NET_ADMIN\", got \"NET_ADMIN\" (did you mean "
      "\"CAP_NET_ADMIN\"?)"}},
    {"DeviceModifier",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
allowed_devices = [{ node = "/dev/fuse", modifier = "rwx" }]
)",
     {"/etc/berth/containers.toml:4: containers.web.allowed_devices[0].modifier: expected a "
      "combination of \"r\", \"w\" and \"m\", got \"rwx\""}},
    {"DeviceOutsideDev",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
allowed_devices = [{ node = "/tmp/fuse" }]
)",
     {"/etc/berth/containers.toml:4: containers.web.allowed_devices[0].node: expected a device "
      "node path under /dev, got \"/tmp/fuse\""}},
    {"BindMountRelativeMountPoint",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
bind_mounts.srv = "/srv/www"
)",
     {"/etc/berth/containers.toml:4: containers.web.bind_mounts.srv: expected the mount point (the "
      "key) to be an absolute path"}},
    {"BindMountRelativeHostPath",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
bind_mounts."/srv" = { host_path = "srv/www" }
)",
     {"/etc/berth/containers.toml:4: containers.web.bind_mounts.\"/srv\".host_path: expected an "
      "absolute path, got \"srv/www\""}},
    {"BindMountNixosSpelling",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
bind_mounts."/srv" = { hostPath = "/srv/www", isReadOnly = false }
)",
     {"/etc/berth/containers.toml:4: containers.web.bind_mounts.\"/srv\".hostPath: unknown key "
      "(did you mean \"host_path\"?)",
      "/etc/berth/containers.toml:4: containers.web.bind_mounts.\"/srv\".isReadOnly: unknown key "
      "(did you mean \"read_only\"?)"}},
    {"TmpfsRelative",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
tmpfs = ["/var/cache", "tmp"]
)",
     {"/etc/berth/containers.toml:4: containers.web.tmpfs[1]: expected an absolute path, got "
      "\"tmp\""}},
    {"HostnameUnderscore",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
hostname = "web_1"
)",
     {"/etc/berth/containers.toml:4: containers.web.hostname: expected a host name (letters, "
      "digits, '-' and '.'), got \"web_1\""}},
    {"MacAddress",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
private_network = true
local_mac_address = "02:00:00:00:00"
)",
     {"/etc/berth/containers.toml:5: containers.web.local_mac_address: expected a MAC address like "
      "\"02:00:00:00:00:01\", got \"02:00:00:00:00\""}},
    {"BridgeNameTooLong",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
private_network = true
host_bridge = "a-very-long-bridge-name"
)",
     {"/etc/berth/containers.toml:5: containers.web.host_bridge: expected a network interface name "
      "(1-15 characters, no '/', ':' or spaces), got \"a-very-long-bridge-name\""}},
    {"BridgeAndHostAddress",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
private_network = true
host_bridge = "br0"
host_address = "10.0.0.1"
local_address = "10.0.0.2/24"
)",
     {"/etc/berth/containers.toml:6: containers.web.host_address: not used with host_bridge (the "
      "bridge holds the host's address)"}},
    {"NatWithoutLocalAddress",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
private_network = true
nat = true
)",
     {"/etc/berth/containers.toml:5: containers.web.nat: needs a local_address"}},
    {"InterfacesWithoutPrivateNetwork",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
interfaces = ["eth1"]
macvlans = ["eth2"]
)",
     {"/etc/berth/containers.toml:4: containers.web.interfaces: needs private_network = true",
      "/etc/berth/containers.toml:5: containers.web.macvlans: needs private_network = true"}},
    {"EnvironmentNotString",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"]
environment = { PORT = 80 }
)",
     {"/etc/berth/containers.toml:4: containers.web.environment.PORT: expected a string, got 80"}},
    {"ContainerNotATable",
     kToml,
     R"(containers.web = "yes"
)",
     {"/etc/berth/containers.toml:1: containers.web: expected a table, got \"yes\""}},
    {"TomlSyntax",
     kToml,
     R"([containers.web]
share_host = true
command = ["/bin/sh"
)",
     {"/etc/berth/containers.toml:3: invalid TOML: error while parsing array: encountered "
      "end-of-file"}},
    {"AllErrorsNotJustTheFirst",
     kToml,
     R"([containers.web]
share_host = "yes"
command = "/bin/sh"
private_network = true
host_address = "10.233.1.256"
resources = { memory = "1Q", cpu = -1 }
)",
     {"/etc/berth/containers.toml:2: containers.web.share_host: expected true or false, got "
      "\"yes\"",
      "/etc/berth/containers.toml:3: containers.web.command: expected an array of strings, got "
      "\"/bin/sh\"",
      "/etc/berth/containers.toml:5: containers.web.host_address: expected an IPv4 address, got "
      "\"10.233.1.256\"",
      "/etc/berth/containers.toml:6: containers.web.resources.cpu: expected a positive number of "
      "CPUs like 0.5, got -1",
      "/etc/berth/containers.toml:6: containers.web.resources.memory: expected a size like "
      "\"256M\", \"1G\" or a number of bytes, got \"1Q\""}},

    // JSON: the same schema, lines found by berth's own scan.
    {"JsonSyntax",
     kJson,
     R"({
  "containers": {
    "web": {
      "share_host": true,
      "command": ["/bin/sh"],
    }
  }
})",
     {"/etc/berth/containers.d/gen.json:6: invalid JSON: syntax error while parsing object key - "
      "unexpected '}'; expected string literal"}},
    {"JsonWrongType",
     kJson,
     R"({
  "containers": {
    "web": {
      "share_host": true,
      "command": ["/bin/sh"],
      "autostart": 1
    }
  }
})",
     {"/etc/berth/containers.d/gen.json:6: containers.web.autostart: expected true or false, got "
      "1"}},
    {"JsonUnknownKey",
     kJson,
     R"({"containers": {
  "web": {
    "share_host": true,
    "command": ["/bin/sh"],
    "privateNetwork": true
  }
}})",
     {"/etc/berth/containers.d/gen.json:5: containers.web.privateNetwork: unknown key (did you "
      "mean \"private_network\"?)"}},
    {"JsonDuplicateKey",
     kJson,
     R"({"containers": {
  "web": {
    "share_host": true,
    "command": ["/bin/sh"],
    "share_host": false
  }
}})",
     {"/etc/berth/containers.d/gen.json:5: invalid JSON: duplicate key \"share_host\""}},
    {"JsonBadAddress",
     kJson,
     R"({"containers": {
  "db": {
    "share_host": true,
    "command": ["/bin/sh"],
    "private_network": true,
    "forward_ports": [
      {"host_port": 5432}
    ],
    "local_address": "10.233.1.300"
  }
}})",
     {"/etc/berth/containers.d/gen.json:6: containers.db.forward_ports: needs a local_address (or "
      "local_address6) to forward to",
      "/etc/berth/containers.d/gen.json:9: containers.db.local_address: expected an IPv4 address, "
      "got \"10.233.1.300\""}},
    {"JsonContainerNotObject",
     kJson,
     R"({"containers": {"web": [1, 2]}})",
     {"/etc/berth/containers.d/gen.json:1: containers.web: expected an object, got an array"}},
    {"JsonNestedPortError",
     kJson,
     R"({"containers": {"web": {
  "share_host": true, "command": ["/bin/sh"], "private_network": true,
  "local_address": "10.233.1.2",
  "forward_ports": [
    {"host_port": 80},
    {"host_port": 0}
  ]
}}})",
     {"/etc/berth/containers.d/gen.json:6: containers.web.forward_ports[1].host_port: expected a "
      "port number (1-65535), got 0"}},
    {"ImageRecipeEveryBadValue",
     kToml,
     R"([images.deb]
distro = "arch"
suite = "Bookworm"
variant = "tiny"
packages = ["systemd", "Foo", "x"]
run = ["true", ""]
mirror = "ftp://mirror.example/debian"
colour = "red"
[images.deb.files]
"/etc/ok" = "fine"
"/etc/../passwd" = "x"
"etc/rel" = "x"
"/etc/it's" = "x"
"/etc/n" = 3
)",
     {"/etc/berth/containers.toml:2: images.deb.distro: expected \"debian\" (the one distribution "
      "berth builds, with mmdebstrap), got \"arch\"",
      "/etc/berth/containers.toml:3: images.deb.suite: expected a Debian suite like "
      "\"bookworm\", got \"Bookworm\"",
      "/etc/berth/containers.toml:4: images.deb.variant: expected one of \"minbase\", "
      "\"essential\", \"apt\", \"required\", \"important\", \"standard\" (mmdebstrap's "
      "variants), got \"tiny\"",
      "/etc/berth/containers.toml:5: images.deb.packages[1]: expected a Debian package name "
      "(lower-case letters, digits, '+', '-', '.'), got \"Foo\"",
      "/etc/berth/containers.toml:5: images.deb.packages[2]: expected a Debian package name "
      "(lower-case letters, digits, '+', '-', '.'), got \"x\"",
      "/etc/berth/containers.toml:6: images.deb.run[1]: expected a shell command, got \"\"",
      "/etc/berth/containers.toml:7: images.deb.mirror: expected a Debian mirror URL (http://, "
      "https:// or file:/), got \"ftp://mirror.example/debian\"",
      "/etc/berth/containers.toml:8: images.deb.colour: unknown key",
      "/etc/berth/containers.toml:11: images.deb.files.\"/etc/../passwd\": expected an absolute "
      "path without \".\", \"..\" or \"//\" parts, of letters, digits and ._+@:-",
      "/etc/berth/containers.toml:12: images.deb.files.\"etc/rel\": expected an absolute path "
      "without \".\", \"..\" or \"//\" parts, of letters, digits and ._+@:-",
      "/etc/berth/containers.toml:13: images.deb.files.\"/etc/it's\": expected an absolute path "
      "without \".\", \"..\" or \"//\" parts, of letters, digits and ._+@:-",
      "/etc/berth/containers.toml:14: images.deb.files.\"/etc/n\": expected a string, got 3"}},
    {"ImageRecipeWithoutSuiteAndBadName",
     kToml,
     R"([images.Deb]
packages = ["systemd"]
[images.ok]
suite = "bookworm"
packages = "systemd"
)",
     {"/etc/berth/containers.toml:1: images.Deb: invalid image name: expected lower-case "
      "letters, digits and '-' (not at either end)",
      "/etc/berth/containers.toml:1: images.Deb: expected \"suite\" (the Debian release to "
      "build, like \"bookworm\")",
      "/etc/berth/containers.toml:5: images.ok.packages: expected an array of strings, got "
      "\"systemd\""}},
    {"ImagesNotATable",
     kJson,
     R"({"images": ["deb"]})",
     {"/etc/berth/containers.d/gen.json:1: images: expected an object, got an array"}},
};

class InvalidDeclaration : public ::testing::TestWithParam<Case> {};

TEST_P(InvalidDeclaration, IsRejectedWithExactMessages) {
  const Case& c = GetParam();
  EXPECT_EQ(errors_of(c.file, c.text), c.errors);
}

INSTANTIATE_TEST_SUITE_P(Table, InvalidDeclaration, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(InvalidDeclarationTable, HasAtLeast35Cases) {
  EXPECT_GE(kCases.size(), 35u);
}

}  // namespace
}  // namespace berth::decl
