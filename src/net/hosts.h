// The hosts-file block through which the host resolves NAME.containers:
// lines between "# BEGIN berth" and "# END berth", one container's entries
// added or removed at a time, the rest of the file left byte-identical.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "net/ip.h"

namespace berth::net {

inline constexpr std::string_view kHostsBegin = "# BEGIN berth";
inline constexpr std::string_view kHostsEnd = "# END berth";

// "NAME.containers"
std::string container_hostname(std::string_view container);

// Pure edits of a hosts file's content. set replaces the container's lines
// with one "ADDR NAME.containers" line per address (creating the block at the
// end when missing); remove drops them, and the whole block once it is empty.
std::string hosts_block_set(std::string_view content, std::string_view container,
                            const std::vector<IpAddress>& addresses);
std::string hosts_block_remove(std::string_view content, std::string_view container);
// The (address, hostname) lines inside the block.
std::vector<std::pair<std::string, std::string>> hosts_block_entries(std::string_view content);

// The same on the file at path, written atomically (to the target when path
// is a symlink); a missing file counts as empty (and is created by add, left
// absent by remove). Callers serialise concurrent edits.
Result<void> hosts_add(const std::string& path, std::string_view container,
                       const std::vector<IpAddress>& addresses);
Result<void> hosts_remove(const std::string& path, std::string_view container);

}  // namespace berth::net
