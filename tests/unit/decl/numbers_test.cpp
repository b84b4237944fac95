// Numbers too large for a double or an int in sizes, durations and prefixes
// are rejected, not thrown (std::stod threw std::out_of_range, which
// `berth check` could not catch across libtomlplusplus) and not wrapped.
#include <sys/capability.h>

#include <gtest/gtest.h>

#include "decl/decl.h"

namespace berth::decl {
namespace {

TEST(Numbers, HugeSizeIsRejected) {
  EXPECT_EQ(parse_size(std::string(400, '9')), std::nullopt);
  EXPECT_EQ(parse_size(std::string(400, '9') + "M"), std::nullopt);
  EXPECT_EQ(parse_size("1" + std::string(300, '0') + ".5G"), std::nullopt);
  EXPECT_EQ(parse_size("16777216T"), std::nullopt);  // 2^64
}

TEST(Numbers, SizesAbove2To63AreExact) {
  // llround() overflowed here and gave 2^63 for anything larger.
  EXPECT_EQ(parse_size("9000000T"), uint64_t{9000000} << 40);
  EXPECT_EQ(parse_size("15E"), std::nullopt);
}

TEST(Numbers, HugeDurationIsRejected) {
  EXPECT_EQ(parse_duration(std::string(400, '9')), std::nullopt);
  EXPECT_EQ(parse_duration(std::string(400, '9') + "ms"), std::nullopt);
  EXPECT_EQ(parse_duration("1s " + std::string(400, '9') + "us"), std::nullopt);
  EXPECT_EQ(parse_duration("90"), std::chrono::milliseconds(90000));
}

TEST(Numbers, CidrPrefixOutOfRange) {
  EXPECT_FALSE(parse_cidr("10.0.0.1/999", 4));
  EXPECT_FALSE(parse_cidr("10.0.0.1/33", 4));
  EXPECT_FALSE(parse_cidr("10.0.0.1/-1", 4));
  ASSERT_TRUE(parse_cidr("10.0.0.1/32", 4));
}

TEST(Numbers, HugeValuesInADeclarationAreOneErrorEach) {
  LoadOptions o;
  o.check_host = false;
  auto r = load_documents({{"/etc/berth/containers.toml",
                            "[containers.a]\nshare_host = true\ncommand = [\"/bin/true\"]\n"
                            "resources.memory = \"" +
                                std::string(400, '9') +
                                "\"\n"
                                "timeout_stop = \"" +
                                std::string(400, '9') + "s\"\n"}},
                          o);
  ASSERT_EQ(r.errors.size(), 2u) << r.error_text();
  EXPECT_EQ(r.errors[0].line, 4);
  EXPECT_EQ(r.errors[0].key, "containers.a.resources.memory");
  EXPECT_EQ(r.errors[1].line, 5);
  EXPECT_EQ(r.errors[1].key, "containers.a.timeout_stop");
}

TEST(Numbers, TomlSyntaxErrorIsAValueNotAnException) {
  // The declaration of issue 11's crash, parsed in-process.
  LoadOptions o;
  o.check_host = false;
  auto r = load_documents({{"/etc/berth/containers.toml",
                            "[containers.a]\nshare_host = true\ncommand = [\"/bin/true\"\n\n"}},
                          o);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 4);  // toml++ places it at the end of the file
  EXPECT_EQ(r.errors[0].message.rfind("invalid TOML: ", 0), 0u) << r.errors[0].message;
}

TEST(Numbers, JsonNumberOverflowIsASyntaxErrorWithItsLine) {
  // nlohmann throws out_of_range (not parse_error) for 1e999; it escaped
  // load_documents.
  LoadOptions o;
  o.check_host = false;
  auto r = load_documents({{"/etc/berth/containers.d/a.json",
                            "{\"containers\": {\"a\": {\"share_host\": true,\n"
                            "\"resources\": {\"pids\": 1e999}}}}\n"}},
                          o);
  ASSERT_EQ(r.errors.size(), 1u) << r.error_text();
  EXPECT_EQ(r.errors[0].str(),
            "/etc/berth/containers.d/a.json:2: invalid JSON: number overflow parsing '1e999'");
}

TEST(Numbers, JsonWithAByteOrderMarkParses) {
  // Found by fuzz_decl: nlohmann skips a leading UTF-8 BOM, the line finder
  // did not, and its own nlohmann call threw out of load_documents.
  LoadOptions o;
  o.check_host = false;
  auto r = load_documents({{"/etc/berth/containers.d/a.json",
                            "\xEF\xBB\xBF{\"containers\": {\"a\": {\"share_host\": true,\n"
                            "\"command\": [\"/bin/true\"], \"resources\": {\"pids\": 7}}}}\n"}},
                          o);
  ASSERT_TRUE(r.errors.empty()) << r.error_text();
  ASSERT_EQ(r.decls.containers.size(), 1u);
}

TEST(Capabilities, TheNamesAreLibcapsInTheKernelsOrder) {
  const auto& caps = known_capabilities();
  ASSERT_EQ(caps.size(), static_cast<size_t>(CAP_LAST_CAP) + 1);
  EXPECT_EQ(caps.front(), "CAP_CHOWN");
  EXPECT_EQ(caps[CAP_SYS_ADMIN], "CAP_SYS_ADMIN");
  EXPECT_EQ(caps[CAP_NET_BIND_SERVICE], "CAP_NET_BIND_SERVICE");
  for (auto& c : caps) {
    cap_value_t v;
    EXPECT_EQ(cap_from_name(c.c_str(), &v), 0) << c;  // what the engine will look up
  }
}

}  // namespace
}  // namespace berth::decl
