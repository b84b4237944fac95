// 32-bit x86 guests on this 64-bit host: the berth manager sees that a tree's
// program is i386 and runs it with the LINUX32 personality, so `uname -m`
// inside says i686; a 64-bit tree keeps x86_64. berth-oci does what
// linux.personality says and nothing more (an OCI runtime does not guess).
// The tree is Debian's i386 busybox-static (tests/fixtures/make-rootfs-i386.sh).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/testenv.h"

namespace berth::test {
namespace {

using namespace std::chrono_literals;

std::string i386_rootfs() {
  const char* e = std::getenv("BERTH_TEST_ROOTFS_I386");
  return e && *e ? e : build_dir() + "/test-rootfs-i386";
}

bool exists(const std::string& p) {
  return ::access(p.c_str(), F_OK) == 0;
}

// Whether this kernel runs the tree's 32-bit busybox, asked the way a
// container meets it: by executing it (a kernel without IA-32 emulation, or
// booted with ia32_emulation=0, fails the execve with ENOEXEC). "" when it
// does, else what is missing.
std::string missing_ia32() {
  const char* assume = std::getenv("BERTH_TEST_ASSUME_NO_IA32");
  if (assume && std::string(assume) == "1")
    return "BERTH_TEST_ASSUME_NO_IA32=1 says IA-32 emulation is off";
  auto r = run({i386_rootfs() + "/bin/busybox", "true"});
  if (r.status == 0) return "";
  return "this kernel cannot run 32-bit x86 programs (IA-32 emulation is off): " + r.err;
}

class I386Base : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_UNLESS_ROOT();
#if !defined(__x86_64__)
    GTEST_SKIP() << "the host is not x86_64";
#endif
    if (!exists(i386_rootfs() + "/.berth-rootfs-complete"))
      GTEST_SKIP()
          << "i386 tree " << i386_rootfs()
          << " missing (ctest's fixture_rootfs_i386 builds it; it needs the Debian mirror)";
    if (::access(berth().c_str(), X_OK) != 0) GTEST_SKIP() << "berth binary missing: " << berth();
    ::mkdir((root_.path() + "/etc").c_str(), 0755);
    ::mkdir((root_.path() + "/etc/berth").c_str(), 0755);
  }
  void TearDown() override {
    for (auto& n : names_) berth_cmd({"terminate", n});
    for (auto& n : names_) {
      EXPECT_FALSE(exists(root_ / ("run/berth/" + n))) << n;
      for (const char* ctl : {"memory", "pids", "cpu", "freezer", "devices"})
        EXPECT_FALSE(exists(std::string("/sys/fs/cgroup/") + ctl + "/berth/" + n))
            << ctl << " " << n;
    }
    EXPECT_TRUE(host_mounts_matching(root_.path()).empty());
  }

  std::string name(const std::string& base) {
    names_.push_back(unique_id(base));
    return names_.back();
  }
  void declare(const std::string& toml) {
    std::ofstream(root_ / "etc/berth/containers.toml") << toml;
  }
  RunResult berth_cmd(std::vector<std::string> args, const RunOptions& o = {}) {
    std::vector<std::string> argv = {berth(), "--root", root_.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, o);
  }
  std::string state_of(const std::string& n) {
    auto r = berth_cmd({"status", n, "--json"});
    try {
      return nlohmann::json::parse(r.out).value("state", "");
    } catch (...) {
      return "";
    }
  }
  bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 15s) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return pred();
  }
  static std::string decl(const std::string& n, const std::string& tree,
                          const std::string& command_json, const std::string& extra = "") {
    return "[containers." + n + "]\npath = \"" + tree + "\"\ncommand = " + command_json +
           "\nrestart = \"no\"\n" + extra + "\n";
  }
  // Runs a one-shot declared container and returns its log once it is down.
  std::string run_once(const std::string& n) {
    auto r = berth_cmd({"start", n});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(eventually([&] { return state_of(n) == "down"; })) << state_of(n);
    return berth_cmd({"logs", n}).out;
  }

  TempDir root_{"berth-test-i386"};
  std::vector<std::string> names_;
};

// The tests that run the 32-bit tree need a kernel that runs it.
class I386 : public I386Base {
 protected:
  void SetUp() override {
    I386Base::SetUp();
    if (IsSkipped()) return;
    if (auto m = missing_ia32(); !m.empty()) GTEST_SKIP() << m;
  }
};

// A 32-bit tree on a kernel that cannot run it: one line from `berth check`
// and from `berth start`, not an exit 127 in the log. On a machine with
// IA-32 emulation the product's probe is told otherwise by
// BERTH_TEST_ASSUME_NO_IA32=1 (read only by that probe).
class I386Refused : public I386Base {};

TEST_F(I386Refused, CheckAndStartSayTheKernelCannotRun32BitPrograms) {
  const std::string line = "this kernel cannot run 32-bit x86 programs (IA-32 emulation is off)";
  RunOptions o;
  if (!missing_ia32().empty() && std::getenv("BERTH_TEST_ASSUME_NO_IA32") == nullptr) {
    // Really missing: nothing to pretend.
  } else {
    o.env["BERTH_TEST_ASSUME_NO_IA32"] = "1";
  }
  auto n = name("xno32");
  declare(decl(n, i386_rootfs(), R"(["/bin/uname", "-m"])"));
  auto c = berth_cmd({"check"}, o);
  EXPECT_NE(c.status, 0);
  EXPECT_NE(c.err.find(line), std::string::npos) << c.err;
  EXPECT_NE(c.err.find("containers." + n + ".path"), std::string::npos) << c.err;
  EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << c.err;

  auto s = berth_cmd({"start", n}, o);
  EXPECT_NE(s.status, 0);
  EXPECT_NE(s.err.find(line), std::string::npos) << s.err;
  EXPECT_EQ(berth_cmd({"logs", n}).out.find("127"), std::string::npos);

  // A 64-bit tree is none of the kernel's 32-bit business.
  auto n64 = name("x64ok");
  declare(decl(n64, test_rootfs(), R"(["/bin/true"])"));
  auto c64 = berth_cmd({"check"}, o);
  EXPECT_EQ(c64.status, 0) << c64.err;
}

TEST_F(I386, DeclaredCommandOfA32BitTreeSeesI686) {
  auto n = name("x32");
  declare(decl(n, i386_rootfs(), R"(["/bin/uname", "-m"])"));
  auto log = run_once(n);
  EXPECT_NE(log.find("i686"), std::string::npos) << log;
  EXPECT_EQ(log.find("x86_64"), std::string::npos) << log;
}

TEST_F(I386, DeclaredCommandOfA64BitTreeStaysX86_64) {
  auto n = name("x64");
  declare(decl(n, test_rootfs(), R"(["/bin/uname", "-m"])"));
  auto log = run_once(n);
  EXPECT_NE(log.find("x86_64"), std::string::npos) << log;
  EXPECT_EQ(log.find("i686"), std::string::npos) << log;
}

TEST_F(I386, BareCommandAndExecIntoItSeeI686) {
  // A bare command name is looked up in the tree's PATH; `berth run` (exec
  // into the running container) gets the same personality.
  auto n = name("xsh");
  declare(decl(n, i386_rootfs(), R"(["sh", "-c", "uname -m; exec sleep 1000"])"));
  auto r = berth_cmd({"start", n});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(eventually([&] {
    return berth_cmd({"logs", n}).out.find("i686") != std::string::npos;
  })) << berth_cmd({"logs", n}).out;
  auto x = berth_cmd({"run", n, "--", "uname", "-m"});
  EXPECT_EQ(x.status, 0) << x.err;
  EXPECT_EQ(x.out, "i686\n");
}

TEST_F(I386, BootedBusyboxInitSeesI686) {
  // boot = true runs the tree's /sbin/init (busybox init, 32-bit) with an
  // inittab that reports the machine on the console. berth knows busybox
  // init sends no READY=1: start returns once it runs.
  TempDir tree("berth-test-i386-tree");
  auto cp = run({"cp", "-a", i386_rootfs() + "/.", tree.path()});
  ASSERT_EQ(cp.status, 0) << cp.err;
  // A booted tree runs user-namespaced by default: its root (an unprivileged
  // uid outside) must traverse the tree's and the berth root's directories.
  run({"chmod", "755", tree.path(), root_.path()});
  std::ofstream(tree / "etc/inittab") << "::sysinit:/bin/sh -c 'echo machine=$(uname -m)'\n"
                                         "::once:/bin/sleep 1000\n";
  auto n = name("xboot");
  declare("[containers." + n + "]\npath = \"" + tree.path() +
          "\"\nboot = true\nrestart = \"no\"\n" + "timeout_stop = \"1s\"\n");
  auto r = berth_cmd({"start", n}, {.timeout_sec = 30});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(eventually([&] {
    return berth_cmd({"logs", n}).out.find("machine=i686") != std::string::npos;
  })) << berth_cmd({"logs", n}).out;
  EXPECT_EQ(berth_cmd({"logs", n}).out.find("machine=x86_64"), std::string::npos);
  berth_cmd({"terminate", n});
}

// berth-oci on the same tree: linux.personality decides, the tree does not.
class I386Oci : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_UNLESS_ROOT();
    if (!exists(i386_rootfs() + "/.berth-rootfs-complete"))
      GTEST_SKIP() << "i386 tree " << i386_rootfs() << " missing";
    if (::access(berth_oci().c_str(), X_OK) != 0) GTEST_SKIP() << "berth-oci missing";
    if (auto m = missing_ia32(); !m.empty()) GTEST_SKIP() << m;
  }
  RunResult run_uname(bool linux32) {
    Bundle b({"/bin/uname", "-m"});
    auto& c = b.config();
    c["root"]["path"] = i386_rootfs();
    std::string id = "berth-test-" + unique_id("i386oci");
    c["linux"]["cgroupsPath"] = "/" + id;
    if (linux32) c["linux"]["personality"] = {{"domain", "LINUX32"}};
    b.write();
    OciRoot root;
    return root.oci({"run", "--bundle", b.path(), id});
  }
};

TEST_F(I386Oci, PersonalityLinux32GivesI686) {
  auto r = run_uname(true);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "i686\n");
}

TEST_F(I386Oci, WithoutPersonalityA32BitProgramSeesTheHostMachine) {
  auto r = run_uname(false);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "x86_64\n");
}

}  // namespace
}  // namespace berth::test
