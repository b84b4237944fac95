// The image store's metadata.json (image::parse_metadata): never crashes, and
// what it accepts serializes to text it parses back the same; and the
// SHA256SUMS lines of a URL import (image::checksum_for); and the
// berth-export.json of a container export (image::parse_export_info).
#include <string>

#include "fuzz_util.h"
#include "image/image.h"
#include "image/internal.h"

using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (auto m = image::parse_metadata(text)) {
    std::string again = image::to_json(*m);
    auto m2 = image::parse_metadata(again);
    FUZZ_CHECK(m2.ok(), "serialized metadata does not parse: %s", again.c_str());
    FUZZ_CHECK(image::to_json(*m2) == again, "metadata round trip differs");
  }
  if (auto h = image::checksum_for(text, "rootfs.tar.xz"))
    FUZZ_CHECK(image::is_sha256_hex(*h), "a checksum that is not 64 hex digits");
  if (auto e = image::parse_export_info(text)) {
    FUZZ_CHECK(e->kind == "image" || e->kind == "path" || e->kind == "share_host", "bad kind");
    FUZZ_CHECK(e->kind != "image" || image::is_sha256_hex(e->sha256), "bad sha256 accepted");
  }
  return 0;
}
