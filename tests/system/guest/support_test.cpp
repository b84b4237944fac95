// Not a test: the harness of guest_support.h (named *_test.cpp so the tier
// build picks it up).
#include "guest_support.h"

#include <sys/stat.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace berth::test::guest {

std::string debian_fixture() {
  const char* v = std::getenv("BERTH_TEST_DEBIAN");
  return v && *v ? v : build_dir() + "/test-debian";
}

NetNs::NetNs() : name_(unique_id("berth-test-gns")) {
  ok_ = run({"ip", "netns", "add", name_}).status == 0;
  if (ok_) run({"ip", "-n", name_, "link", "set", "lo", "up"});
}

NetNs::~NetNs() {
  if (ok_) run({"ip", "netns", "del", name_});
}

Host::Host() {
  ::chmod(root_.path().c_str(), 0755);  // a user-namespaced guest reaches its tree through it
  run({"mkdir", "-p", root_ / "etc/berth"});
  std::ofstream(root_ / "etc/hosts") << "127.0.0.1 localhost\n";
}

Host::~Host() {
  for (auto& n : names_) berth({"terminate", n});
}

void Host::declare(const std::string& toml) {
  std::ofstream(root_ / "etc/berth/containers.toml") << toml;
}

RunResult Host::berth(const std::vector<std::string>& args, int timeout_sec) {
  std::vector<std::string> argv = {"nsenter", "--net=" + ns_.path(), test::berth(), "--root",
                                   root_.path()};
  argv.insert(argv.end(), args.begin(), args.end());
  RunOptions o;
  o.timeout_sec = timeout_sec;
  return run(argv, o);
}

RunResult Host::on_host(const std::string& shell_command, int timeout_sec) {
  RunOptions o;
  o.timeout_sec = timeout_sec;
  return run(
      {"nsenter", "--net=" + ns_.path(), "unshare", "--mount", "--propagation", "private", "sh",
       "-c", "mount --bind " + (root_ / "etc/hosts") + " /etc/hosts && " + shell_command},
      o);
}

nlohmann::json Host::status(const std::string& name) {
  auto r = berth({"status", name, "--json"});
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

RunResult Host::in_guest(const std::string& name, const std::string& cmd, int timeout_sec) {
  auto r = berth({"run", name, "--", "sh", "-c", cmd}, timeout_sec);
  r.out = trim(r.out);
  return r;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

std::vector<std::string> mounts_in_any_process(const std::string& needle) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::string pid = e.path().filename();
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f(e.path() / "mountinfo");  // gone if it exited meanwhile
    for (std::string line; std::getline(f, line);)
      if (line.find(needle) != std::string::npos) out.push_back(pid + ": " + line);
  }
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace berth::test::guest
