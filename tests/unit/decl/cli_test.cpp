// `berth check` as a user runs it: exit status, stdout, one error per line on
// stderr. Skipped when the berth binary has not been built.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "support/testenv.h"

namespace berth::test {
namespace {

namespace fs = std::filesystem;

class BerthCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(berth())) GTEST_SKIP() << "berth binary not built at " << berth();
    fs::create_directories(root_ / "etc/berth/containers.d");
  }
  RunResult check(std::vector<std::string> extra = {},
                  std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv = {berth()};
    if (env.empty()) argv.insert(argv.end(), {"--root", root_.path()});
    argv.push_back("check");
    argv.insert(argv.end(), extra.begin(), extra.end());
    RunOptions o;
    o.env = env;
    return run(argv, o);
  }
  std::string toml() const { return root_ / "etc/berth/containers.toml"; }
  TempDir root_;
};

TEST_F(BerthCheck, NoFilesIsOk) {
  auto r = check();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "ok: 0 containers declared (no declaration files in " + root_.path() + "/etc/berth)\n");
}

TEST_F(BerthCheck, ValidDeclarationsUnderRoot) {
  std::ofstream(toml()) << "[containers.web]\nshare_host = true\ncommand = [\"/bin/sh\"]\n";
  std::ofstream(root_ / "etc/berth/containers.d/db.json")
      << R"({"containers": {"db": {"share_host": true, "command": ["/bin/true"]}}})";
  auto r = check();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "ok: 2 containers declared\n");
  EXPECT_EQ(r.err, "");
  // BERTH_ROOT does the same as --root.
  auto e = check({}, {{"BERTH_ROOT", root_.path()}});
  EXPECT_EQ(e.status, 0) << e.err;
  EXPECT_EQ(e.out, "ok: 2 containers declared\n");
}

TEST_F(BerthCheck, EveryErrorOnItsOwnLine) {
  std::ofstream(toml())
      << "[containers.web]\nshare_host = true\ncommand = [\"/bin/sh\"]\nmemory = \"256M\"\n"
         "private_network = true\nhost_address = \"10.233.1.300\"\n\n"
         "[containers.db]\npath = \"/nonexistent-berth-test\"\nboot = true\n";
  auto r = check();
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(
      r.err,
      toml() + ":4: containers.web.memory: unknown key (did you mean \"resources.memory\"?)\n" +
          toml() +
          ":6: containers.web.host_address: expected an IPv4 address, got \"10.233.1.300\"\n" +
          toml() + ":9: containers.db.path: \"/nonexistent-berth-test\" does not exist\n");
  // --no-host-checks leaves the filesystem alone.
  auto n = check({"--no-host-checks"});
  EXPECT_EQ(n.status, 1);
  EXPECT_EQ(n.err.find("nonexistent"), std::string::npos) << n.err;
}

TEST_F(BerthCheck, GivenFilesInsteadOfTheDefaults) {
  std::ofstream(toml()) << "this is not toml\n";
  std::string mine = root_ / "mine.toml";
  std::ofstream(mine) << "[containers.a]\nshare_host = true\ncommand = [\"/bin/sh\"]\n";
  auto r = check({mine});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "ok: 1 container declared\n");
  auto m = check({root_ / "missing.toml"});
  EXPECT_EQ(m.status, 1);
  EXPECT_EQ(m.err, root_ / "missing.toml" + ": cannot read: No such file or directory\n");
}

TEST_F(BerthCheck, UsageErrorExitsTwo) {
  auto r = run({berth(), "--root", root_.path(), "no-such-command"});
  EXPECT_EQ(r.status, 2);
}

}  // namespace
}  // namespace berth::test
