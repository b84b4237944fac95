// Harness of the booted-guest tier: the cached Debian tree (a private copy
// per test binary, so boots never change the fixture), a network namespace
// that plays the host, and berth run inside it with a --root of its own.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/testenv.h"

namespace berth::test::guest {

// Where tests/fixtures/make-debian.sh put the tree (BERTH_TEST_DEBIAN overrides).
std::string debian_fixture();

// A named network namespace with lo up, deleted when destroyed.
class NetNs {
 public:
  NetNs();
  ~NetNs();
  NetNs(const NetNs&) = delete;
  NetNs& operator=(const NetNs&) = delete;
  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }
  std::string path() const { return "/run/netns/" + name_; }

 private:
  std::string name_;
  bool ok_ = false;
};

// One berth --root in a host network namespace: declarations, commands, the
// host side of ssh. Every container it declared is terminated at the end.
class Host {
 public:
  Host();
  ~Host();
  bool ok() const { return ns_.ok(); }
  const std::string& root() const { return root_.path(); }
  std::string netns_path() const { return ns_.path(); }
  std::string operator/(const std::string& rel) const { return root_ / rel; }
  void declare(const std::string& toml);
  void track(const std::string& name) { names_.push_back(name); }
  // berth --root ROOT ARGS..., in the host namespace.
  RunResult berth(const std::vector<std::string>& args, int timeout_sec = 120);
  // ARGV in the host namespace with berth's hosts file as /etc/hosts (a
  // mount namespace of its own), as a user of the host would resolve names.
  RunResult on_host(const std::string& shell_command, int timeout_sec = 60);
  nlohmann::json status(const std::string& name);
  // `berth run NAME -- sh -c CMD`, stdout trimmed of the trailing newline.
  RunResult in_guest(const std::string& name, const std::string& cmd, int timeout_sec = 60);

 private:
  NetNs ns_;
  TempDir root_{"berth-test-guest"};
  std::vector<std::string> names_;
};

// Polls pred every 100 ms until it holds or timeout passes.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// Lines of every process's /proc/PID/mountinfo that contain needle, each
// prefixed "PID: " (mounts made in private mount namespaces show up here
// too, unlike in the test's own /proc/self/mountinfo).
std::vector<std::string> mounts_in_any_process(const std::string& needle);

std::string slurp(const std::string& path);
std::string trim(std::string s);

}  // namespace berth::test::guest
