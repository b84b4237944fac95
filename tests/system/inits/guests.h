// The guests of tests/system/inits: one tree per init, built from Debian
// packages by tests/fixtures/make-init-guest.sh, and what berth says and
// does with each.
#pragma once

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

#include "support/testenv.h"

namespace berth::test {

struct Guest {
  const char* kind;      // the fixture (build/test-init-KIND) and the init berth names
  const char* init;      // what berth status says
  const char* halt;      // the signal stop sends
  const char* reboot;    // a reboot from inside
  const char* poweroff;  // a poweroff from inside
};

inline const Guest kGuests[] = {
    {"busybox", "busybox", "SIGUSR1", "reboot", "poweroff"},
    {"sysvinit", "sysvinit", "SIGPWR", "/sbin/reboot", "/sbin/poweroff"},
    {"openrc", "openrc-init", "SIGTERM", "/sbin/openrc-shutdown -r now",
     "/sbin/openrc-shutdown -p now"},
    {"runit", "runit", "SIGCONT", "/sbin/reboot", "/sbin/poweroff"},
};

// The guest's tree (BERTH_TEST_INIT_KIND overrides where it is).
inline std::string fixture(const std::string& kind) {
  std::string var = "BERTH_TEST_INIT_" + kind;
  for (auto& ch : var) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const char* e = std::getenv(var.c_str());
  return e && *e ? e : build_dir() + "/test-init-" + kind;
}

inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

}  // namespace berth::test
