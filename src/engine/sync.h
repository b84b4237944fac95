// The typed channel between the runtime and a container's init while it is
// being set up: short messages over a SOCK_SEQPACKET socketpair, optionally
// carrying one file descriptor (SCM_RIGHTS).
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace berth::engine {

enum class Msg : uint32_t {
  Go = 1,        // parent -> child: continue (maps written); payload: the init's host pid
  RunHooks,      // child -> parent: mounts are ready, run createRuntime hooks
  HooksDone,     // parent -> child
  ConsoleFd,     // child -> parent: the pty master (fd attached)
  Ready,         // child -> parent: blocked before exec; payload: pid in its ns
  ErrorMsg,      // child -> parent: setup failed, payload: the message
  CgroupJoined,  // parent -> child: the init is in its cgroup
  MountFd,       // parent -> child: payload mount index, fd an idmapped tree
  SeccompFd,     // child -> parent: the seccomp notify listener (fd attached)
  // A user-namespaced container's tree builder (see build_tree):
  InitPid,      // builder -> runtime: payload the init's pid
  TreeMounted,  // builder -> init: mounts made, write the sysctls
  SysctlsDone,  // init -> builder
  TreeReady,    // builder -> init: masked and read-only paths made, take the copy
};

class Channel {
 public:
  Channel() = default;
  explicit Channel(UniqueFd fd) : fd_(std::move(fd)) {}
  static Result<std::pair<Channel, Channel>> pair();

  Result<void> send(Msg type, std::string_view payload = {}, int fd = -1);
  struct Received {
    Msg type;
    std::string payload;
    UniqueFd fd;
  };
  // Returns an error with code EPIPE when the other side is gone.
  Result<Received> recv();
  // Receives the next message and checks its type; an ErrorMsg becomes the error.
  Result<Received> expect(Msg type);
  int fd() const { return fd_.get(); }
  void close() { fd_.reset(); }

 private:
  UniqueFd fd_;
};

}  // namespace berth::engine
