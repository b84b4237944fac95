// Signal names and numbers as `berth-oci kill` and the declarations take them
// (engine::parse_signal): a valid answer is a real signal number.
#include <signal.h>

#include <string>

#include "engine/container.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (auto s = berth::engine::parse_signal(text)) {
    FUZZ_CHECK(*s >= 1 && *s <= SIGRTMAX, "signal %d from \"%s\"", *s, text.c_str());
  }
  return 0;
}
