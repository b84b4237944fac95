// A rootless berth's layout (XDG directories) and what its declarations may
// say (every container user-namespaced, nothing it cannot do yet).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>

#include "decl/decl.h"
#include "decl/paths.h"

namespace berth::decl {
namespace {

std::map<std::string, std::string> g_env;
const char* fake_getenv(const char* name) {
  auto it = g_env.find(name);
  return it == g_env.end() ? nullptr : it->second.c_str();
}

TEST(RootlessPaths, DefaultsUnderHomeAsPodman) {
  g_env = {{"HOME", "/home/u"}, {"XDG_RUNTIME_DIR", "/run/user/1000"}};
  auto p = user_paths(&fake_getenv);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(p->user);
  EXPECT_EQ(p->etc, "/home/u/.config/berth");
  EXPECT_EQ(p->state, "/home/u/.local/share/berth");
  EXPECT_EQ(p->run, "/run/user/1000/berth");
  EXPECT_EQ(p->log, "/home/u/.local/share/berth/log");
  EXPECT_EQ(p->root, "/");  // the host's own files (hosts, resolv.conf)
  EXPECT_EQ(p->declarations_file(), "/home/u/.config/berth/containers.toml");
  EXPECT_EQ(p->container_run("web"), "/run/user/1000/berth/web");
  EXPECT_EQ(p->container_log("web"), "/home/u/.local/share/berth/log/web.log");
}

TEST(RootlessPaths, XdgVariablesWinAndRelativeOnesAreIgnored) {
  g_env = {{"HOME", "/home/u"},
           {"XDG_CONFIG_HOME", "/cfg"},
           {"XDG_DATA_HOME", "relative/data"},
           {"XDG_RUNTIME_DIR", "/xdg"}};
  auto p = user_paths(&fake_getenv);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->etc, "/cfg/berth");
  EXPECT_EQ(p->state, "/home/u/.local/share/berth");
  EXPECT_EQ(p->run, "/xdg/berth");
}

TEST(RootlessPaths, NoRuntimeDirIsOneLineNamingIt) {
  for (const char* value : {"", "relative"}) {
    g_env = {{"HOME", "/home/u"}};
    if (*value) g_env["XDG_RUNTIME_DIR"] = value;
    auto p = user_paths(&fake_getenv);
    ASSERT_FALSE(p);
    EXPECT_TRUE(p.error().message.starts_with("XDG_RUNTIME_DIR is not set")) << p.error().message;
    EXPECT_EQ(p.error().message.find('\n'), std::string::npos);
  }
  g_env = {{"XDG_RUNTIME_DIR", "/xdg"}};
  auto p = user_paths(&fake_getenv);
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().message.starts_with("HOME is not set")) << p.error().message;
}

std::vector<std::string> rootless_errors(const std::string& text) {
  LoadOptions o;
  o.check_host = false;
  o.rootless = true;
  auto r = load_documents({{"/h/containers.toml", text}}, o);
  std::vector<std::string> out;
  for (auto& e : r.errors) out.push_back(e.str());
  return out;
}

TEST(RootlessDecl, EveryContainerIsUserNamespaced) {
  LoadOptions o;
  o.check_host = false;
  o.rootless = true;
  auto r = load_documents(
      {{"/h/containers.toml", "[containers.a]\npath = \"/t\"\ncommand = [\"/bin/true\"]\n"}}, o);
  ASSERT_TRUE(r.ok()) << r.error_text();
  EXPECT_EQ(r.decls.containers.at("a").private_users.mode, PrivateUsers::Mode::Pick);
  // As root the same command container has none.
  o.rootless = false;
  r = load_documents(
      {{"/h/containers.toml", "[containers.a]\npath = \"/t\"\ncommand = [\"/bin/true\"]\n"}}, o);
  EXPECT_EQ(r.decls.containers.at("a").private_users.mode, PrivateUsers::Mode::No);
}

TEST(RootlessDecl, PrivateUsersNoOrABaseIsRefusedOnItsLine) {
  EXPECT_EQ(rootless_errors("[containers.a]\npath = \"/t\"\ncommand = [\"/bin/true\"]\n"
                            "private_users = \"no\"\n"),
            std::vector<std::string>{
                "/h/containers.toml:4: containers.a.private_users: expected \"pick\": a rootless "
                "berth runs every container in a user namespace of the caller's ids "
                "(/etc/subuid, /etc/subgid)"});
  EXPECT_EQ(rootless_errors("[containers.a]\npath = \"/t\"\ncommand = [\"/bin/true\"]\n"
                            "private_users = 100000\n")
                .size(),
            1u);
  auto e = rootless_errors(
      "[settings]\nprivate_users = \"no\"\n[containers.a]\npath = \"/t\"\n"
      "command = [\"/bin/true\"]\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].find("containers.a.private_users: expected \"pick\" (not [settings] "
                      "private_users)"),
            std::string::npos)
      << e[0];
}

TEST(RootlessDecl, WhatIsNotYetRootlessIsRefusedOnItsKey) {
  auto e = rootless_errors(
      "[containers.a]\nshare_host = true\ncommand = [\"/bin/true\"]\nnetwork_namespace = "
      "\"/run/netns/x\"\nephemeral = true\n");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_TRUE(
      e[0].starts_with("/h/containers.toml:4: containers.a.network_namespace: not "
                       "supported by a rootless berth yet: expected none"))
      << e[0];
  EXPECT_TRUE(e[1].starts_with("/h/containers.toml:5: containers.a.ephemeral: not supported"))
      << e[1];
  // boot = true is checked at start (the tree's init decides: systemd not yet).
  EXPECT_EQ(rootless_errors("[containers.b]\npath = \"/t\"\nboot = true\n"),
            std::vector<std::string>{});
}

TEST(RootlessDecl, APrivateNetworkIsSlirpsWithForwardsAndNoHostSide) {
  // A private network with forwards: no local_address needed (slirp4netns's).
  EXPECT_EQ(rootless_errors("[containers.a]\npath = \"/t\"\ncommand = [\"/bin/true\"]\n"
                            "private_network = true\nforward_ports = [{ host_port = 8080, "
                            "container_port = 80 }]\n"),
            std::vector<std::string>{});
  // As root the same declaration needs one.
  LoadOptions o;
  o.check_host = false;
  auto r = load_documents({{"/h/containers.toml",
                            "[containers.a]\npath = \"/t\"\ncommand = [\"/bin/true\"]\n"
                            "private_network = true\nforward_ports = [{ host_port = 8080 }]\n"}},
                          o);
  EXPECT_FALSE(r.ok());
  // Each key of a host side is one line on its own key.
  auto e = rootless_errors(
      "[containers.a]\npath = \"/t\"\ncommand = [\"/bin/true\"]\nprivate_network = true\n"
      "host_address = \"10.1.0.1\"\nlocal_address = \"10.1.0.2\"\nnat = true\n"
      "macvlans = [\"eth0\"]\n");
  ASSERT_EQ(e.size(), 4u) << e[0];
  const char* keys[] = {"host_address", "local_address", "nat", "macvlans"};
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(e[i], fmt::format("/h/containers.toml:{}: containers.a.{}: not with a rootless "
                                "berth: its private network is slirp4netns's (eth0 "
                                "10.0.2.100/24, gateway 10.0.2.2), reached from the host by "
                                "forward_ports",
                                i + 5, keys[i]));
}

}  // namespace
}  // namespace berth::decl
