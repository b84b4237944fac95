#include "oci/spec.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace berth::oci {
namespace {

TEST(Spec, DefaultRoundTripsThroughJson) {
  Spec s = default_spec();
  auto j = to_json(s);
  auto back = parse_spec(j);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(to_json(*back), j);
  EXPECT_EQ(back->process->args, std::vector<std::string>{"sh"});
  EXPECT_EQ(back->linux->masked_paths.size(), 10u);
  EXPECT_EQ(back->linux->readonly_paths.size(), 5u);
}

TEST(Spec, DefaultMatchesRuncSpec) {
  auto j = to_json(default_spec());
  EXPECT_EQ(j["root"]["path"], "rootfs");
  EXPECT_EQ(j["root"]["readonly"], true);
  EXPECT_EQ(j["process"]["capabilities"]["bounding"],
            nlohmann::json({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}));
  EXPECT_FALSE(j["process"]["capabilities"].contains("inheritable"));
  EXPECT_EQ(j["process"]["rlimits"][0]["type"], "RLIMIT_NOFILE");
  EXPECT_EQ(j["linux"]["resources"]["devices"][0]["allow"], false);
  EXPECT_EQ(j["mounts"].size(), 7u);
}

TEST(Spec, ErrorsNameTheJsonPath) {
  auto j = to_json(default_spec());
  j["linux"]["resources"]["memory"] = {{"limit", "lots"}};
  auto r = parse_spec(j);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "linux.resources.memory.limit: expected an integer, got string");

  j = to_json(default_spec());
  j["mounts"][2]["options"][1] = 5;
  r = parse_spec(j);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "mounts[2].options[1]: expected a string, got number");

  j = to_json(default_spec());
  j.erase("ociVersion");
  EXPECT_EQ(parse_spec(j).error().message, "ociVersion: is required");
}

TEST(Spec, InvalidJsonIsReported) {
  auto r = parse_spec_text("{\"ociVersion\": ");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("invalid JSON"), std::string::npos);
}

// Found by fuzz_oci: nlohmann reports 1e999 as out_of_range, not as a
// parse_error, and it escaped parse_spec_text (berth-oci aborted).
TEST(Spec, NumberOverflowIsInvalidJsonNotAnAbort) {
  auto r = parse_spec_text(
      "{\"ociVersion\": \"1.0.2\", \"process\": {\"user\": {\"uid\": 1111e1111111}}}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("number overflow"), std::string::npos) << r.error().message;
}

TEST(Spec, HooksAndNamespacePaths) {
  auto j = to_json(default_spec());
  j["hooks"]["createRuntime"] = {{{"path", "/bin/true"}, {"args", {"true", "x"}}, {"timeout", 5}}};
  j["linux"]["namespaces"].push_back({{"type", "user"}, {"path", "/proc/1/ns/user"}});
  auto r = parse_spec(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->hooks.create_runtime.size(), 1u);
  EXPECT_EQ(*r->hooks.create_runtime[0].timeout, 5);
  ASSERT_NE(r->linux->find_namespace("user"), nullptr);
  EXPECT_EQ(r->linux->find_namespace("user")->path, "/proc/1/ns/user");
  j["hooks"]["poststop"] = {{{"path", "/bin/true"}, {"timeout", 0}}};
  EXPECT_EQ(parse_spec(j).error().message, "hooks.poststop[0].timeout: must be greater than zero");
}

}  // namespace
}  // namespace berth::oci
