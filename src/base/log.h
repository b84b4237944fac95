// Process-wide logging: text to stderr by default, or text/JSON lines to a
// file (the runc --log/--log-format contract: {"level","msg","time"}).
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace berth::log {

enum class Level { Debug, Info, Warn, Error };

struct Options {
  std::string file;  // empty: stderr
  bool json = false;
  bool debug = false;
};

void configure(const Options& o);
// The current time as RFC 3339 with nanoseconds, UTC (log lines, OCI state).
std::string now_rfc3339();
void write(Level level, std::string_view msg);
// Errors also go to stderr when a log file is configured, since callers
// (conmon) relay stderr and shims read the file.
void error_to_stderr_too(bool on);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... a) {
  write(Level::Debug, fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... a) {
  write(Level::Info, fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... a) {
  write(Level::Warn, fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... a) {
  write(Level::Error, fmt::format(f, std::forward<Args>(a)...));
}

}  // namespace berth::log
