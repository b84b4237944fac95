// The declaration parser, through the code `berth check --no-host-checks`
// runs: each input as a TOML file and as a JSON file. Every problem must be
// one line naming the file; an input either loads or has errors.
#include <string>

#include "decl/decl.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  for (const char* file : {"/etc/berth/containers.toml", "/etc/berth/containers.d/fuzz.json"}) {
    berth::decl::LoadOptions o;
    o.check_host = false;
    auto r = berth::decl::load_documents({{file, text}}, o);
    for (auto& e : r.errors) {
      std::string line = e.str();
      FUZZ_CHECK(line.find('\n') == std::string::npos, "a diagnostic spans lines: %s",
                 line.c_str());
      FUZZ_CHECK(line.rfind(file, 0) == 0, "a diagnostic does not name the file: %s", line.c_str());
    }
    FUZZ_CHECK(r.ok() || !r.error_text().empty(), "errors without text");
    for (auto& [name, image] : r.decls.images) (void)berth::decl::recipe_text(image);
  }
  return 0;
}
