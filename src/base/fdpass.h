// Passing a file descriptor over an AF_UNIX socket (SCM_RIGHTS).
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace berth {

// sendmsg(2) of data with fd attached when fd >= 0, retried on EINTR.
// Returns what sendmsg returns (-1 with errno on failure).
ssize_t send_with_fd(int sock, const void* data, size_t len, int fd);
// recvmsg(2) of up to len bytes and the fd sent with them (O_CLOEXEC; *fd
// -1 when none came), retried on EINTR. Returns what recvmsg returns.
ssize_t recv_with_fd(int sock, void* data, size_t len, int* fd);

}  // namespace berth
