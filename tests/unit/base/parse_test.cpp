// base/parse.h: whole-string, range-checked numbers without exceptions.
#include <gtest/gtest.h>

#include "base/parse.h"

namespace berth {
namespace {

TEST(ParseInt, WholeStringInRange) {
  EXPECT_EQ(parse_int<int>("42"), 42);
  EXPECT_EQ(parse_int<int>("-42"), -42);
  EXPECT_EQ(parse_int<uint32_t>("4294967295"), 4294967295u);
  for (const char* bad : {"", " 1", "1 ", "+1", "1x", "0x10", "99999999999"})
    EXPECT_EQ(parse_int<int>(bad), std::nullopt) << bad;
  EXPECT_EQ(parse_int<uint32_t>("-1"), std::nullopt);  // std::stoul took it for ULONG_MAX
  EXPECT_EQ(parse_int<uint32_t>("4294967296"), std::nullopt);
}

TEST(ParseDouble, FiniteOnly) {
  EXPECT_EQ(parse_double("1.5"), 1.5);
  EXPECT_EQ(parse_double("2e3"), 2000.0);
  for (const char* bad : {"", "inf", "nan", "1e999", "0x10", "1.5x", " 1"})
    EXPECT_EQ(parse_double(bad), std::nullopt) << bad;
}

}  // namespace
}  // namespace berth
