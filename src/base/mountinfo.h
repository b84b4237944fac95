// /proc/PID/mountinfo fields.
#pragma once

#include <string>

namespace berth {

// A mountinfo field with its \ooo escapes (space, tab, newline, backslash)
// undone.
std::string unescape_mountinfo(const std::string& field);

}  // namespace berth
