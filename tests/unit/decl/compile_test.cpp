// The one compile step: to_spec with the host's part of the spec (notify
// socket, grantable capabilities, default seccomp profile); and the TOML
// that `berth create` writes (decl/render.h).
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "base/files.h"
#include "decl/decl.h"
#include "decl/render.h"
#include "decl/spec.h"
#include "support/testenv.h"
#include "unit/decl/spec_helpers.h"

namespace berth::decl {
namespace {

namespace fs = std::filesystem;

using spec_testing::find_mount;
using spec_testing::has;
using spec_testing::parse_one;

// A tree with or without /run, and a command container of it.
struct Tree {
  explicit Tree(bool with_run) {
    fs::create_directories(dir.path() + "/bin");
    if (with_run) fs::create_directories(dir.path() + "/run");
  }
  Container container(const std::string& extra = "") const {
    return parse_one("[containers.t]\npath = \"" + dir.path() + "\"\ncommand = [\"/bin/true\"]\n" +
                     extra);
  }
  test::TempDir dir;
};

SpecContext host_ctx(const test::TempDir& root) {
  SpecContext ctx;
  ctx.paths = Paths::under(root.path());
  ctx.notify_dir = root.path() + "/run/berth/t/notify";
  return ctx;
}

TEST(Compile, WithoutTheHostsPartTheSpecHasNone) {
  Tree tree(true);
  auto s = to_spec(tree.container(), SpecContext{});
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(find_mount(*s, "/run/host/notify"), nullptr);
  EXPECT_FALSE(s->linux->seccomp.has_value());
  for (auto& e : s->process->env) EXPECT_FALSE(e.starts_with("NOTIFY_SOCKET=")) << e;
}

TEST(Compile, NotifySocketOnARunTmpfsWhenTheTreeHasRun) {
  test::TempDir root;
  Tree tree(true);
  auto s = to_spec(tree.container(), host_ctx(root));
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto* run = find_mount(*s, "/run");
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->type, "tmpfs");
  auto* notify = find_mount(*s, "/run/host/notify");
  ASSERT_NE(notify, nullptr);
  EXPECT_EQ(notify->source, root.path() + "/run/berth/t/notify");
  EXPECT_EQ(notify->options, (std::vector<std::string>{"rbind", "rw"}));
  // The tmpfs comes before the bind into it.
  EXPECT_LT(run - s->mounts.data(), notify - s->mounts.data());
  EXPECT_TRUE(has(s->process->env, "NOTIFY_SOCKET=/run/host/notify/notify.sock"));
}

TEST(Compile, NoNotifySocketInATreeWithoutRun) {
  test::TempDir root;
  Tree tree(false);
  auto s = to_spec(tree.container(), host_ctx(root));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(find_mount(*s, "/run"), nullptr);  // nothing made in the tree
  EXPECT_EQ(find_mount(*s, "/run/host/notify"), nullptr);
}

TEST(Compile, CapabilitiesTheHostCannotGrantAreLeftOut) {
  test::TempDir root;
  Tree tree(true);
  auto ctx = host_ctx(root);
  auto c = tree.container("additional_capabilities = [\"CAP_SYS_RESOURCE\", \"CAP_NET_ADMIN\"]");
  auto all = to_spec(c, ctx);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_TRUE(has(all->process->capabilities->bounding, "CAP_SYS_RESOURCE"));
  auto sys_resource = capability_number("CAP_SYS_RESOURCE");
  ASSERT_TRUE(sys_resource);
  EXPECT_EQ(*sys_resource, 24);
  EXPECT_EQ(capability_number("cap_sys_resource"), sys_resource);
  EXPECT_FALSE(capability_number("CAP_NO_SUCH"));
  ctx.grantable_capabilities = ~uint64_t{0} & ~(uint64_t{1} << *sys_resource);
  auto some = to_spec(c, ctx);
  ASSERT_TRUE(some.ok()) << some.error().message;
  auto& caps = *some->process->capabilities;
  for (auto* set :
       {&caps.bounding, &caps.effective, &caps.permitted, &caps.inheritable, &caps.ambient})
    EXPECT_FALSE(has(*set, "CAP_SYS_RESOURCE"));
  EXPECT_TRUE(has(caps.bounding, "CAP_NET_ADMIN"));
  EXPECT_EQ(caps.bounding.size() + 1, all->process->capabilities->bounding.size());
}

TEST(Compile, DefaultSeccompOnlyWhereSeccompIsOn) {
  test::TempDir root;
  Tree tree(true);
  auto ctx = host_ctx(root);
  oci::Seccomp profile;
  profile.default_action = "SCMP_ACT_ERRNO";
  ctx.default_seccomp = profile;
  auto on = to_spec(tree.container(), ctx);
  ASSERT_TRUE(on.ok()) << on.error().message;
  ASSERT_TRUE(on->linux->seccomp.has_value());
  EXPECT_EQ(on->linux->seccomp->default_action, "SCMP_ACT_ERRNO");
  auto off = to_spec(tree.container("seccomp = false"), ctx);
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_FALSE(off->linux->seccomp.has_value());
}

// ---- decl/render.h ----

TEST(Render, StringsKeysAndArrays) {
  EXPECT_EQ(toml_string("a\"b\\c\n\t\x01"), "\"a\\\"b\\\\c\\n\\t\\u0001\"");
  EXPECT_EQ(toml_key("host_address"), "host_address");
  EXPECT_EQ(toml_key("a.b"), "\"a.b\"");
  EXPECT_EQ(toml_key(""), "\"\"");
  EXPECT_EQ(toml_string_array({"/bin/sh", "-c", "echo \"hi\""}),
            "[\"/bin/sh\", \"-c\", \"echo \\\"hi\\\"\"]");
}

TEST(Render, WhatIsRenderedParsesBackToTheSameContainer) {
  KeyValues kv;
  set_key(kv, "share_host", "true");
  set_key(kv, "command", toml_string_array({"/bin/sh", "-c", "x=\"$1\"; echo \\ done"}));
  set_key(kv, "environment", "{ LANG = \"C\", \"odd.key\" = \"v\" }");
  set_key(kv, "share_host", "true");  // replaces, never duplicates
  EXPECT_EQ(kv.size(), 3u);
  EXPECT_TRUE(has_key(kv, "command"));
  erase_key(kv, "command");
  EXPECT_FALSE(has_key(kv, "command"));
  set_key(kv, "command", toml_string_array({"/bin/sh", "-c", "x=\"$1\"; echo \\ done"}));
  auto c = parse_one(render_container("web-2", kv));
  EXPECT_EQ(c.name, "web-2");
  EXPECT_EQ(c.command, (std::vector<std::string>{"/bin/sh", "-c", "x=\"$1\"; echo \\ done"}));
  EXPECT_EQ(c.environment.at("odd.key"), "v");
}

TEST(Render, SettingsFileOfTomlOrJson) {
  test::TempDir dir;
  std::string toml = dir.path() + "/s.toml", json = dir.path() + "/s.json";
  std::ofstream(toml) << "command = [\"/bin/true\"]\nresources = { memory = \"64M\", cpu = 1.5 }\n";
  std::ofstream(json) << R"({"command": ["/bin/true"], "resources": {"pids": 10, "cpu": 2.0}})";
  auto t = settings_file(toml);
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[1].second, "{ cpu = 1.5, memory = \"64M\" }");  // toml++ sorts tables
  auto j = settings_file(json);
  ASSERT_TRUE(j.ok()) << j.error().message;
  EXPECT_EQ((*j)[1].second, "{ pids = 10, cpu = 2.0 }");
}

TEST(Render, SettingsFileErrorsNameTheFileAndLine) {
  test::TempDir dir;
  std::string nested = dir.path() + "/n.toml", broken = dir.path() + "/b.toml",
              list = dir.path() + "/l.json";
  std::ofstream(nested) << "command = [\"/bin/true\"]\n[containers.x]\nboot = true\n";
  std::ofstream(broken) << "command = [\"/bin/true\"\n";
  std::ofstream(list) << "[1, 2]";
  auto n = settings_file(nested);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().message.find(nested + ":2: expected the settings of one container"), 0u)
      << n.error().message;
  auto b = settings_file(broken);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().message.find(broken + ":"), 0u) << b.error().message;
  auto l = settings_file(list);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().message, list + ": expected a table of settings");
  auto missing = settings_file(dir.path() + "/none.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("--config-file"), std::string::npos);
}

}  // namespace
}  // namespace berth::decl
