// base/signal.h: one table of signal names for berth-oci and declarations.
#include <signal.h>

#include <gtest/gtest.h>

#include "base/signal.h"

namespace berth {
namespace {

TEST(SignalNames, AliasesParseAndTheCanonicalNameIsPrinted) {
  EXPECT_EQ(parse_signal_name("IOT"), SIGABRT);
  EXPECT_EQ(parse_signal_name("sigpoll"), SIGIO);
  EXPECT_EQ(signal_name(SIGABRT), "SIGABRT");
  EXPECT_EQ(signal_name(SIGIO), "SIGIO");
  EXPECT_EQ(signal_name(SIGRTMAX), "SIGRTMIN+" + std::to_string(SIGRTMAX - SIGRTMIN));
  EXPECT_EQ(signal_name(0), "signal 0");
  for (int s = 1; s <= SIGRTMAX; s++) {
    if (s == 32 || s == 33) continue;  // glibc's own, below SIGRTMIN: no name
    EXPECT_EQ(parse_signal_name(signal_name(s)), s) << signal_name(s);
  }
}

}  // namespace
}  // namespace berth
