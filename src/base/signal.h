// Signal names and numbers as runc, crun and LXC take them: "TERM",
// "SIGTERM", "sigterm", "15", "RTMIN", "SIGRTMIN+4", "RTMAX-2". One table
// for berth-oci kill, the stop/halt/reboot signals of declarations and the
// monitor's log.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace berth {

// The signal number, or nullopt for anything else (out of 1..SIGRTMAX,
// trailing text, a sign before a number).
std::optional<int> parse_signal_name(std::string_view text);
// "SIGTERM", "SIGRTMIN+4"; "signal N" for a number with no name.
std::string signal_name(int sig);

}  // namespace berth
