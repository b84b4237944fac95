// What the CLI reads from a container's monitor (manager/runtime): the reply
// on the control socket (control_request, against a fake monitor answering
// with the input) and status.json (read_status, from the same bytes).
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "base/files.h"
#include "fuzz_util.h"
#include "manager/runtime.h"

using namespace berth;

namespace {

struct Env {
  decl::Paths paths;
  manager::RunDir rd;
  UniqueFd listener;
  Env() : paths(decl::Paths::under(make_root())), rd(paths, "fuzz") {
    FUZZ_CHECK(mkdir_p(rd.dir, 0700).ok(), "mkdir %s", rd.dir.c_str());
    listener.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::string p = rd.control();
    FUZZ_CHECK(p.size() < sizeof addr.sun_path, "path too long");
    std::memcpy(addr.sun_path, p.c_str(), p.size());
    FUZZ_CHECK(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0,
               "bind");
    FUZZ_CHECK(::listen(listener.get(), 4) == 0, "listen");
  }
  static std::string make_root() { return fuzz_scratch_dir() + "/root"; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Env env;
  std::string bytes(reinterpret_cast<const char*>(data), size);

  std::thread monitor([&] {
    UniqueFd c(::accept4(env.listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) return;
    char ch;
    while (::read(c.get(), &ch, 1) == 1 && ch != '\n') {
    }
    (void)write_all(c.get(), bytes);
  });
  auto reply = manager::control_request(env.rd, "ping", 5000);
  monitor.join();
  if (reply) {
    FUZZ_CHECK(reply->find('\n') == std::string::npos && !reply->empty(), "reply \"%s\"",
               reply->c_str());
    FUZZ_CHECK(bytes.rfind(*reply, 0) == 0, "the reply is not what the monitor sent");
  }

  FUZZ_CHECK(write_file_atomic(env.rd.status(), bytes, 0600).ok(), "write status.json");
  (void)manager::read_status(env.rd);
  return 0;
}
