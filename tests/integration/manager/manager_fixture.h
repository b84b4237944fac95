// What the manager's integration tests share: a fixture with a private
// --root per test that runs the berth CLI on it and, after the test, checks
// that every container it named left nothing behind; and small file helpers.
#pragma once

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/testenv.h"

namespace berth::test {

inline std::string slurp(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

inline int count_lines(const std::string& path) {
  auto s = slurp(path);
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

// How many times needle is in text.
inline int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) n++;
  return n;
}

// Exit 1 and one line on stderr holding what.
inline void expect_one_line(const RunResult& r, const std::string& what) {
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(count(r.err, "\n"), 1) << r.err;
  EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
}

// Lines of every process's mountinfo (all mount namespaces) that mention
// needle: what "nothing stays mounted" means, not only in the test's view.
inline std::vector<std::string> mounts_anywhere(const std::string& needle) {
  std::vector<std::string> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    std::string pid = e->d_name;
    if (pid.empty() || !std::all_of(pid.begin(), pid.end(), ::isdigit)) continue;
    std::istringstream in(slurp("/proc/" + pid + "/mountinfo"));
    std::string line;
    while (std::getline(in, line))
      if (line.find(needle) != std::string::npos) out.push_back(pid + ": " + line);
  }
  ::closedir(d);
  return out;
}

class ManagerTest : public ::testing::Test {
 protected:
  // root_prefix names the test's --root dir, so a leftover tells which suite made it.
  explicit ManagerTest(const std::string& root_prefix) : root_(root_prefix) {}

  void SetUp() override {
    SKIP_UNLESS_ROOT();
    // Booted containers run in a user namespace by default: their root
    // reaches its tree through the --root dir (mkdtemp makes it 0700).
    ::chmod(root_.path().c_str(), 0755);
    ::mkdir((root_.path() + "/etc").c_str(), 0755);
    ::mkdir((root_.path() + "/etc/berth").c_str(), 0755);
  }
  void TearDown() override {
    for (auto& n : names_) berth({"terminate", n});
    for (auto& n : names_) {
      // Nothing left: no runtime files, no cgroup, no mounts.
      EXPECT_FALSE(exists(root_ / ("run/berth/" + n))) << n;
      for (const char* ctl : {"memory", "pids", "cpu", "freezer", "devices"})
        EXPECT_FALSE(exists(std::string("/sys/fs/cgroup/") + ctl + "/berth/" + n))
            << ctl << " " << n;
    }
    expect_nothing_mounted();
  }
  // The mount check of TearDown; a suite with more places to watch extends it.
  virtual void expect_nothing_mounted() { EXPECT_TRUE(host_mounts_matching(root_.path()).empty()); }

  static bool exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

  std::string name(const std::string& base) {
    names_.push_back(unique_id(base));
    return names_.back();
  }
  void declare(const std::string& toml) {
    std::ofstream(root_ / "etc/berth/containers.toml") << toml;
  }
  std::vector<std::string> berth_argv(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {test::berth(), "--root", root_.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  RunResult berth(const std::vector<std::string>& args, const RunOptions& o = {}) {
    return run(berth_argv(args), o);
  }
  nlohmann::json status(const std::string& n) {
    return nlohmann::json::parse(berth({"status", n, "--json"}).out);
  }
  int pid_of(const std::string& n) {
    auto p = status(n)["pid"];
    return p.is_number() ? p.get<int>() : 0;
  }
  // A private copy of the busybox rootfs in dir, for containers that write to it.
  std::string copy_tree(const TempDir& dir) {
    std::string t = dir / "tree";
    EXPECT_EQ(run({"cp", "-a", test_rootfs(), t}).status, 0);
    ::chmod(dir.path().c_str(), 0755);
    return t;
  }
  // Waits until pred() holds, up to timeout.
  template <class F>
  bool eventually(F pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return pred();
  }
  // A container of the shared busybox rootfs (or of tree) running cmd, with the extra TOML lines.
  std::string busybox_decl(const std::string& n, const std::string& cmd,
                           const std::string& extra = "", const std::string& tree = "") {
    return "[containers." + n + "]\npath = \"" + (tree.empty() ? test_rootfs() : tree) +
           "\"\ncommand = [\"/bin/sh\", \"-c\", " + nlohmann::json(cmd).dump() + "]\n" + extra +
           "\n";
  }

  TempDir root_;
  std::vector<std::string> names_;
};

}  // namespace berth::test
