#include "support/notify_ready.h"

#include <unistd.h>

#include <fstream>

#include "support/testenv.h"

namespace berth::test {

namespace {
constexpr const char* kNotifySource = R"(#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
int main(void) {
  const char* p = getenv("NOTIFY_SOCKET");
  if (!p) p = "/run/host/notify/notify.sock";
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path, p, sizeof a.sun_path - 1);
  return sendto(fd, "READY=1\n", 8, 0, (struct sockaddr*)&a, sizeof a) == 8 ? 0 : 1;
}
)";
}  // namespace

std::string build_notify_ready(const std::string& dest) {
  std::string src = dest + ".c";
  std::ofstream(src) << kNotifySource;
  auto cc = sh("cc -static -Os -o " + dest + " " + src);
  ::unlink(src.c_str());
  if (cc.status != 0) return "no static C compiler for the guest's sd_notify helper: " + cc.err;
  return "";
}

}  // namespace berth::test
