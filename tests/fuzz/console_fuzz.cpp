// The console protocol (manager/console): a client sends the monitor's
// ConsoleServer arbitrary packets ('i'nput, 'w'indow size, anything else)
// while the container writes arbitrary output to its console; and the
// escape detector of `berth login` reads the same bytes as typed keys. The
// real server runs on a real SOCK_SEQPACKET socket and pty.
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "manager/console.h"
#include "manager/tty.h"

using namespace berth;

namespace {

std::string socket_path() {
  return fuzz_scratch_dir() + "/console.sock";
}

void pump(manager::ConsoleServer& srv, int rounds) {
  for (int i = 0; i < rounds; i++) {
    std::vector<struct pollfd> pfds;
    srv.add_pollfds(pfds);
    if (::poll(pfds.data(), pfds.size(), 0) < 0) return;
    srv.handle(pfds);
  }
}

void drain(int fd) {
  char buf[65536];
  while (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string log;
  manager::ConsoleServer srv("fuzz", [&](std::string_view s) { log.append(s); });
  auto l = srv.listen(socket_path());
  FUZZ_CHECK(l.ok(), "listen: %s", l ? "" : l.error().message.c_str());

  // The console: a pty whose other end stands for the container.
  UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  FUZZ_CHECK(master.get() >= 0, "posix_openpt");
  ::unlockpt(master.get());
  UniqueFd peer(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK));
  FUZZ_CHECK(peer.get() >= 0, "TIOCGPTPEER");
  srv.set_master(std::move(master));

  UniqueFd client(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::string path = socket_path();
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  FUZZ_CHECK(::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0,
             "connect");
  pump(srv, 1);

  // The input: records of [kind][length][bytes]; kind even = a packet from
  // the client, odd = output of the container.
  manager::EscapeDetector esc;
  size_t i = 0;
  while (i + 2 <= size) {
    uint8_t kind = data[i], len = data[i + 1];
    i += 2;
    size_t n = std::min<size_t>(len, size - i);
    std::string_view chunk(reinterpret_cast<const char*>(data + i), n);
    i += n;
    if (kind % 2 == 0) {
      if (!chunk.empty())
        (void)::send(client.get(), chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      (void)esc.feed(chunk);
    } else {
      (void)::write(peer.get(), chunk.data(), chunk.size());
    }
    pump(srv, 2);
    drain(client.get());
    char buf[4096];
    while (::read(peer.get(), buf, sizeof buf) > 0) {
    }
  }
  (void)esc.expire();
  client.reset();
  pump(srv, 2);
  srv.drop_master();
  srv.close("fuzz done");
  return 0;
}
