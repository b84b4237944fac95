// A rootless berth's layout (XDG directories) and what its declarations may
// say (every container user-namespaced, nothing it cannot do yet).
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
      "[containers.a]\nshare_host = true\ncommand = [\"/bin/true\"]\nprivate_network = true\n"
      "ephemeral = true\n");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_TRUE(
      e[0].starts_with("/h/containers.toml:4: containers.a.private_network: not "
                       "supported by a rootless berth yet: expected false"))
      << e[0];
  EXPECT_TRUE(e[1].starts_with("/h/containers.toml:5: containers.a.ephemeral: not supported"))
      << e[1];
  e = rootless_errors("[containers.b]\npath = \"/t\"\nboot = true\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_TRUE(e[0].starts_with("/h/containers.toml:3: containers.b.boot: not supported")) << e[0];
}

}  // namespace
}  // namespace berth::decl
