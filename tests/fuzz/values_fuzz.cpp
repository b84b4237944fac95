// Sizes, durations and addresses as declarations write them
// (decl::parse_size, parse_duration, parse_cidr).
#include <string_view>

#include "decl/decl.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto s = berth::decl::parse_size(text)) {
    FUZZ_CHECK(*s <= 18000000000000000000ull, "size %llu out of range",
               static_cast<unsigned long long>(*s));
  }
  if (auto d = berth::decl::parse_duration(text)) {
    FUZZ_CHECK(d->count() >= 0 && d->count() <= 1000000000000000LL, "duration %lld ms out of range",
               static_cast<long long>(d->count()));
  }
  for (int family : {4, 6}) {
    if (auto c = berth::decl::parse_cidr(text, family)) {
      FUZZ_CHECK(c->prefix <= (family == 6 ? 128u : 32u), "prefix %u", c->prefix);
      // What it prints parses back to itself.
      auto again = berth::decl::parse_cidr(c->str(), family);
      FUZZ_CHECK(again && *again == *c, "%s does not parse back", c->str().c_str());
    }
  }
  return 0;
}
