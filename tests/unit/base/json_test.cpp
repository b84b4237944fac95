// base/json.h: integers out of JSON only when they are integers the target
// type holds (a float or an out-of-range number was undefined behaviour).
#include <gtest/gtest.h>

#include "base/json.h"

namespace berth {
namespace {

using nlohmann::json;

TEST(JsonInteger, ExactIntegersInRangeOnly) {
  EXPECT_EQ(json_integer<int>(json(42)), 42);
  EXPECT_EQ(json_integer<int>(json(-42)), -42);
  EXPECT_EQ(json_integer<uint64_t>(json::parse("18446744073709551615")), UINT64_MAX);
  EXPECT_EQ(json_integer<int>(json::parse("12320000000")), std::nullopt);
  EXPECT_EQ(json_integer<int>(json::parse("12320000000.5")), std::nullopt);
  EXPECT_EQ(json_integer<int>(json::parse("1.0")), std::nullopt);
  EXPECT_EQ(json_integer<uint32_t>(json(-1)), std::nullopt);
  EXPECT_EQ(json_integer<int64_t>(json::parse("18446744073709551615")), std::nullopt);
  EXPECT_EQ(json_integer<int>(json("7")), std::nullopt);
  EXPECT_EQ(json_integer<int>(json(nullptr)), std::nullopt);
}

TEST(JsonIntegerField, AbsentIsTheFallbackWrongIsAnErrorNamingTheKey) {
  auto j = json::parse(R"({"pid": 12, "monitor_pid": 12320000000.5})");
  EXPECT_EQ(json_integer_field<int>(j, "pid", 0), 12);
  EXPECT_EQ(json_integer_field<int>(j, "restarts", 3), 3);
  try {
    json_integer_field<int>(j, "monitor_pid", 0);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("monitor_pid"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace berth
