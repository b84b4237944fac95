// The hosts-file block (net/hosts): any existing file content, a container
// added then removed. The lines outside the block stay as they were, the
// container's name is in the block while added and gone once removed.
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "net/hosts.h"

using namespace berth::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The first line is the container's name (as declarations allow: short,
  // lowercase letters, digits and '-'), the rest the file.
  size_t nl = in.find('\n');
  std::string name(in.substr(0, nl == std::string_view::npos ? in.size() : nl));
  std::string_view content = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  if (name.empty() || name.size() > 64) return 0;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return 0;
  (void)hosts_block_entries(content);
  // With several BEGIN or END lines in the user's text, which lines form the
  // block after an edit is a matter of rules, not of invariants: such files
  // only must not crash anything.
  auto lines_equal = [&](std::string_view marker) {
    int n = 0;
    for (size_t p = 0; p <= content.size();) {
      size_t e = content.find('\n', p);
      if (e == std::string_view::npos) e = content.size();
      if (content.substr(p, e - p) == marker) ++n;
      p = e + 1;
    }
    return n;
  };
  if (lines_equal(kHostsBegin) > 1 || lines_equal(kHostsEnd) > 1) {
    auto addr = parse_address("10.233.0.2");
    (void)hosts_block_remove(hosts_block_set(content, name, {*addr}), name);
    return 0;
  }
  auto addr = parse_address("10.233.0.2");
  FUZZ_CHECK(addr.ok(), "parse_address");
  std::string added = hosts_block_set(content, name, {*addr});
  std::string host = container_hostname(name);
  bool found = false;
  for (auto& [a, h] : hosts_block_entries(added))
    if (h == host && a == "10.233.0.2") found = true;
  FUZZ_CHECK(found, "%s not in the block after set", host.c_str());
  std::string removed = hosts_block_remove(added, name);
  for (auto& [a, h] : hosts_block_entries(removed))
    FUZZ_CHECK(h != host, "%s still in the block after remove", host.c_str());
  // Idempotent: removing again changes nothing; setting twice is setting once.
  FUZZ_CHECK(hosts_block_remove(removed, name) == removed, "remove is not idempotent");
  FUZZ_CHECK(hosts_block_set(added, name, {*addr}) == added, "set is not idempotent");
  return 0;
}
