// A container's terminal: a pty opened from the devpts of the container (or
// the host's), sized and made the controlling terminal of a new session.
// The master goes to the caller (console_out) or to a console socket
// (send_fd_to_socket, declared in container.h).
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "base/result.h"
#include "base/unique_fd.h"
#include "oci/spec.h"

namespace berth::engine {

// {master, peer} from the ptmx at `ptmx`; the peer is opened through the
// master (TIOCGPTPEER), never by a path the container could replace.
Result<std::pair<UniqueFd, UniqueFd>> open_pty(const std::string& ptmx);
Result<void> set_console_size(int fd, const std::optional<oci::ConsoleSize>& size);
// setsid, the peer as controlling terminal (unless !ctty) and as fds 0-2.
Result<void> become_session_leader_on(int peer, bool ctty = true);

}  // namespace berth::engine
