// What integration and system tests share: where the binaries and the test
// rootfs are, running a command and capturing its output, scratch dirs that
// clean up after themselves, and OCI bundles built on the busybox rootfs.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::test {

std::string build_dir();
std::string source_dir();
std::string berth_oci();    // path to the berth-oci binary
std::string berth();        // path to the berth binary
std::string test_rootfs();  // the shared busybox rootfs (never write to it)

bool is_root();

struct RunResult {
  int status = -1;  // exit code, or 128+signal
  std::string out, err;
};

struct RunOptions {
  std::string stdin_data;
  std::map<std::string, std::string> env;  // added to the environment
  int timeout_sec = 60;                    // killed (and status 137) after this
  std::string cwd;
};

// Runs argv (argv[0] looked up in PATH), waits, captures stdout and stderr.
RunResult run(const std::vector<std::string>& argv, const RunOptions& opts = {});
// Runs a shell command line with /bin/sh -c.
RunResult sh(const std::string& command, const RunOptions& opts = {});

// A fresh directory under /tmp, removed (after unmounting anything below it)
// when the object goes out of scope.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "berth-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// An OCI bundle in a temp dir: config.json is `berth-oci spec`'s default with
// root.path pointing at the shared read-only busybox rootfs, terminal off.
// Tests edit config() and call write() before using it.
class Bundle {
 public:
  explicit Bundle(std::vector<std::string> args = {"/bin/true"});
  nlohmann::json& config() { return config_; }
  const std::string& path() const { return dir_.path(); }
  void write() const;
  // Copies the busybox rootfs into the bundle (for tests that write to /).
  void use_private_rootfs();

 private:
  TempDir dir_;
  nlohmann::json config_;
};

// A berth-oci state root of the test's own, with every container still in it
// force-deleted when the object goes out of scope. Makes the test process a
// child subreaper (as conmon and containerd's shim are) and reaps at the end.
class OciRoot {
 public:
  OciRoot();
  ~OciRoot();
  const std::string& path() const { return dir_.path(); }
  // berth-oci --root <root> args...
  RunResult oci(const std::vector<std::string>& args, const RunOptions& opts = {}) const;

 private:
  TempDir dir_;
};

// Reaps exited children (container inits reparented to the test process).
void reap_children();

std::string unique_id(const std::string& prefix = "t");

// Lines of /proc/self/mountinfo (of this test process) that mention needle.
std::vector<std::string> host_mounts_matching(const std::string& needle);
bool pid_alive(pid_t pid);

}  // namespace berth::test

#define SKIP_UNLESS_ROOT()                                             \
  do {                                                                 \
    if (!berth::test::is_root()) GTEST_SKIP() << "needs root (uid 0)"; \
  } while (0)
