// The OCI config parser (config.json, and the --process and --resources
// files of exec and update): oci::parse_spec_text and the section parsers.
// A spec that parses serialises to JSON that parses again.
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "oci/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto s = berth::oci::parse_spec_text(text)) {
    auto j = berth::oci::to_json(*s);
    auto again = berth::oci::parse_spec(j);
    FUZZ_CHECK(again.ok(), "to_json of a parsed spec does not parse: %s",
               again ? "" : again.error().message.c_str());
  }
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  (void)berth::oci::parse_process(j);
  (void)berth::oci::parse_resources(j, "resources");
  (void)berth::oci::parse_seccomp(j);
  return 0;
}
