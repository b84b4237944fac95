#include "base/log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace berth::log {
namespace {
Options g_opts;
int g_fd = 2;
bool g_err_stderr = true;

const char* name(Level l) {
  switch (l) {
    case Level::Debug:
      return "debug";
    case Level::Info:
      return "info";
    case Level::Warn:
      return "warning";
    case Level::Error:
      return "error";
  }
  return "info";
}

void emit(int fd, bool json, Level level, std::string_view msg) {
  std::string line;
  if (json) {
    nlohmann::json j = {{"level", name(level)}, {"msg", msg}, {"time", now_rfc3339()}};
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else if (fd == 2) {
    line = level == Level::Error ? fmt::format("{}\n", msg)
                                 : fmt::format("{}: {}\n", name(level), msg);
  } else {
    line = fmt::format("time=\"{}\" level={} msg=\"{}\"\n", now_rfc3339(), name(level), msg);
  }
  (void)!::write(fd, line.data(), line.size());
}
}  // namespace

std::string now_rfc3339() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf, n) + fmt::format(".{:09d}Z", ts.tv_nsec);
}

void configure(const Options& o) {
  bool same_file = o.file == g_opts.file && g_fd != 2;
  g_opts = o;
  if (same_file) return;
  if (g_fd != 2) {
    ::close(g_fd);
    g_fd = 2;
  }
  if (!o.file.empty()) {
    int fd = ::open(o.file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) g_fd = fd;
  }
}

void error_to_stderr_too(bool on) {
  g_err_stderr = on;
}

void write(Level level, std::string_view msg) {
  if (level == Level::Debug && !g_opts.debug) return;
  emit(g_fd, g_opts.json && g_fd != 2, level, msg);
  if (g_fd != 2 && level == Level::Error && g_err_stderr) emit(2, false, level, msg);
}

}  // namespace berth::log
