// The image store's metadata.json and the SHA256SUMS lines a URL import reads.
#include <gtest/gtest.h>

#include "image/image.h"
#include "image/internal.h"

namespace berth::image {
namespace {

Metadata sample() {
  return {"debian",
          "https://example.org/debian.tar.xz",
          std::string(64, 'a'),
          123456,
          "2026-12-06T23:59:01Z",
          "tar.xz",
          4321,
          987654321};
}

TEST(ImageMetadata, RoundTrip) {
  auto m = parse_metadata(to_json(sample()));
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->name, "debian");
  EXPECT_EQ(m->origin, "https://example.org/debian.tar.xz");
  EXPECT_EQ(m->size, 123456u);
  EXPECT_EQ(m->entries, 4321u);
  EXPECT_EQ(m->tree_bytes, 987654321u);
  EXPECT_EQ(to_json(*m), to_json(sample()));
}

TEST(ImageMetadata, EachBadFieldNamed) {
  struct Case {
    const char* json;
    const char* what;
  };
  std::string ok = to_json(sample());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = ok;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not valid JSON"},
      {"[]", "not a JSON object"},
      {"{}", "name: expected a string"},
      {with("\"debian\"", "\"Debian!\""), "name: invalid image name"},
      {with(std::string(64, 'a'), "abc"), "sha256: expected 64 hex digits"},
      {with(std::string(64, 'a'), std::string(64, 'A')), "sha256: expected 64 hex digits"},
      {with("\"tar.xz\"", "\"zip\""), "format: expected"},
      {with("123456", "-1"), "size: expected a non-negative integer"},
      {with("123456", "1.5"), "size: expected a non-negative integer"},
      {with("4321", "\"many\""), "entries: expected"},
      {with("\"https://example.org/debian.tar.xz\"", "7"), "origin: expected a string"},
  };
  for (auto& [json, what] : cases) {
    auto m = parse_metadata(json);
    ASSERT_FALSE(m) << json;
    EXPECT_NE(m.error().message.find(what), std::string::npos) << m.error().message;
  }
}

TEST(ImageNames, AsContainerNames) {
  EXPECT_TRUE(check_name("debian-12"));
  for (const char* bad : {"", "Debian", "a_b", "-a", "a-", "a.b", "../x", ".tmp-x"})
    EXPECT_FALSE(check_name(bad)) << bad;
  EXPECT_FALSE(check_name(std::string(64, 'a')));
}

TEST(Sha256Sums, TextAndBinaryLines) {
  std::string a(64, 'a'), b(64, 'B');
  std::string sums = a + "  one.tar\r\n" + b + " *./two.tar.zst\nnonsense\n" + a + "  \n";
  EXPECT_EQ(*checksum_for(sums, "one.tar"), a);
  EXPECT_EQ(*checksum_for(sums, "two.tar.zst"), std::string(64, 'b'));
  auto missing = checksum_for(sums, "three.tar");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "SHA256SUMS has no line for three.tar");
  EXPECT_FALSE(checksum_for("", "one.tar"));
  EXPECT_FALSE(checksum_for(std::string(64, 'g') + "  one.tar\n", "one.tar"));
}

}  // namespace
}  // namespace berth::image
