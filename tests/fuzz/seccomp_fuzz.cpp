// Seccomp profiles (linux.seccomp of config.json) compiled to BPF with
// libseccomp, as the runtime does before clone; nothing is installed.
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "oci/spec.h"
#include "seccomp/seccomp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  auto profile = berth::oci::parse_seccomp(j);
  if (!profile) return 0;
  if (auto prog = berth::seccomp::compile(*profile)) {
    FUZZ_CHECK(!prog->filter.empty() && prog->filter.size() <= 65535,
               "a program of %zu instructions", prog->filter.size());
  }
  return 0;
}
