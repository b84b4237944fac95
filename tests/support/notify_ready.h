// A static sd_notify("READY=1") program for busybox trees booted as systems
// (their init runs it from inittab, so `berth start` returns).
#pragma once

#include <string>

namespace berth::test {

// Compiles it to `dest` (an executable path inside a tree). Returns "" or why
// it could not (no static C compiler: the caller skips).
std::string build_notify_ready(const std::string& dest);

}  // namespace berth::test
