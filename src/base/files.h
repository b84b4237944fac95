// Small file helpers: whole-file reads and atomic (write, fsync, rename) writes.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace berth {

Result<std::string> read_file(const std::string& path);
Result<std::string> read_fd(int fd);
// Writes all of data to fd, retrying on EINTR and short writes.
Result<void> write_all(int fd, std::string_view data);
// Writes path.tmp and renames it over path, so a crash leaves either the old
// or the new content, never a mix. durable also fsyncs the file and its
// directory (for what must survive power loss; runtime state under /run
// does not need it, and the fsyncs cost milliseconds on the start path).
Result<void> write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644,
                               bool durable = true);
// Plain write (O_WRONLY|O_TRUNC, no create): for /proc and /sys files.
Result<void> write_existing(const std::string& path, std::string_view data);
Result<void> mkdir_p(const std::string& path, mode_t mode = 0755);
// The names in the directory dir_fd (an open directory; "." and ".."
// left out), in the order readdir gives them.
Result<std::vector<std::string>> dir_names(int dir_fd);
// Removes path and everything below it; a missing path is not an error.
Result<void> remove_tree(const std::string& path);
bool path_exists(const std::string& path);
// Opens path (open_flags | O_CLOEXEC) and takes an exclusive flock on it,
// waiting for it; the lock goes with the returned fd.
Result<UniqueFd> lock_exclusive(const std::string& path, int open_flags);

}  // namespace berth
