// engine::parse_signal (berth-oci kill, stop signals): names, numbers and
// RTMIN+N/RTMAX-N; numbers out of int's range are an error, never an
// exception (std::stoi's std::out_of_range aborted `berth-oci kill ID 99999999999`).
#include <signal.h>

#include <gtest/gtest.h>

#include "engine/container.h"

namespace berth::engine {
namespace {

TEST(ParseSignal, NamesAndNumbers) {
  EXPECT_EQ(parse_signal("TERM").value(), SIGTERM);
  EXPECT_EQ(parse_signal("sigkill").value(), SIGKILL);
  EXPECT_EQ(parse_signal("9").value(), 9);
  EXPECT_EQ(parse_signal("RTMIN+3").value(), SIGRTMIN + 3);
  EXPECT_EQ(parse_signal("SIGRTMAX-2").value(), SIGRTMAX - 2);
  EXPECT_EQ(parse_signal("RTMIN").value(), SIGRTMIN);
}

TEST(ParseSignal, OutOfRangeIsAnError) {
  for (const char* s : {"99999999999", "2147483648", "0", "65", "-9", "+9", "RTMIN+99999999999",
                        "RTMAX-99999999999", "RTMAX-2147483647", "RTMIN-1", "RTMIN+", "RTMIN+-3",
                        "", "SIG", "NOPE", "9 ", " 9"}) {
    auto r = parse_signal(s);
    EXPECT_FALSE(r) << s;
    if (!r) {
      EXPECT_NE(r.error().message.find("invalid signal"), std::string::npos) << s;
    }
  }
}

}  // namespace
}  // namespace berth::engine
