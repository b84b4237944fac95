#include "net/names.h"

#include <gtest/gtest.h>

#include <set>

namespace berth::net {
namespace {

TEST(Names, ShortNamesAreKept) {
  EXPECT_EQ(host_link_name("ve-", "web"), "ve-web");
  EXPECT_EQ(host_link_name("vb-", "abcdefghijkl"), "vb-abcdefghijkl");  // exactly 15
}

TEST(Names, LongNamesAreShortenedStably) {
  std::string a = host_link_name("ve-", "abcdefghijklm");  // 16 bytes unshortened
  EXPECT_EQ(a.size(), 15u);
  EXPECT_EQ(a.substr(0, 11), "ve-abcdefgh");
  EXPECT_EQ(a, host_link_name("ve-", "abcdefghijklm"));
  for (char c : a.substr(11)) EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c))) << a;
  // A frozen value: a change here would rename links of running containers.
  EXPECT_EQ(host_link_name("ve-", "a-very-long-container-name"), "ve-a-very-l9d36");
}

TEST(Names, LongNamesSharingABeginningDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i)
    seen.insert(host_link_name("ve-", "container-number-" + std::to_string(i)));
  EXPECT_EQ(seen.size(), 50u);
  for (const auto& s : seen) EXPECT_TRUE(validate_link_name(s).ok()) << s;
  EXPECT_NE(host_link_name("ve-", "longcontainer1"), host_link_name("vb-", "longcontainer1"));
}

TEST(Names, ValidatesLinkNames) {
  EXPECT_TRUE(validate_link_name("eth0").ok());
  EXPECT_TRUE(validate_link_name("mv-enp0s31f6").ok());
  EXPECT_FALSE(validate_link_name("").ok());
  EXPECT_FALSE(validate_link_name("sixteen-chars-xx").ok());
  EXPECT_FALSE(validate_link_name("a/b").ok());
  EXPECT_FALSE(validate_link_name("a b").ok());
  EXPECT_FALSE(validate_link_name("eth0:1").ok());
  EXPECT_FALSE(validate_link_name("..").ok());
}

}  // namespace
}  // namespace berth::net
