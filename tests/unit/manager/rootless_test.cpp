// A rootless berth's id maps: /etc/subuid lines as newuidmap reads them, and
// root inside mapped to the caller (podman's rootless maps).
#include <gtest/gtest.h>

#include "manager/rootless.h"

namespace berth::manager {
namespace {

TEST(RootlessIds, SubuidLinesByNameOrUidInFileOrder) {
  std::string text =
      "alice:100000:65536\n"
      "bob:165536:65536\n"
      "# a comment\n"
      "\n"
      "1001:300000:1000\n"
      "bob:bad:10\n"
      "bob:400000:0\n"
      "bob:500000\n"
      "bob:600000:10";  // no final newline
  EXPECT_EQ(parse_subids(text, "bob", 1001),
            (std::vector<SubidRange>{{165536, 65536}, {300000, 1000}, {600000, 10}}));
  EXPECT_EQ(parse_subids(text, "alice", 1000), (std::vector<SubidRange>{{100000, 65536}}));
  EXPECT_TRUE(parse_subids(text, "carol", 1002).empty());
  // A range past 2^32 is not one newuidmap would grant.
  EXPECT_TRUE(parse_subids("dave:4294967000:1000\n", "dave", 1003).empty());
}

TEST(RootlessIds, RootIsTheCallerAndTheRangesFollow) {
  auto m = maps_of(1001, {{165536, 65536}, {300000, 1000}});
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].container_id, 0u);
  EXPECT_EQ(m[0].host_id, 1001u);
  EXPECT_EQ(m[0].size, 1u);
  EXPECT_EQ(m[1].container_id, 1u);
  EXPECT_EQ(m[1].host_id, 165536u);
  EXPECT_EQ(m[1].size, 65536u);
  EXPECT_EQ(m[2].container_id, 65537u);
  EXPECT_EQ(m[2].host_id, 300000u);
  EXPECT_EQ(describe_maps(m), "0 -> 1001, 1-65536 -> 165536-231071, 65537-66536 -> 300000-300999");
  // The kernel takes at most 340 lines.
  std::vector<SubidRange> many(400, {1000000, 1});
  EXPECT_EQ(maps_of(1001, many).size(), 340u);
}

TEST(RootlessIds, NoRangeIsOneLineNamingTheFileAndTheUser) {
  auto r = rootless_maps("/nonexistent/subuid", "/nonexistent/subgid");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("in /nonexistent/subuid"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("no subordinate ids for user "), std::string::npos);
  EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace berth::manager
