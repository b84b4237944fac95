// The runtime command lines conmon and containerd's shim build (oci-runtimes.md
// 4.3/4.4), on a container that does not exist: the runtime must parse them
// and fail on the container, with the error in the json log the engines read.
#include <fstream>

#include <gtest/gtest.h>

#include "engines_support.h"

namespace berth::test::engines {
namespace {

class RuntimeCliShape : public ::testing::TestWithParam<Runtime> {
 protected:
  void SetUp() override {
    SKIP_UNLESS_ROOT();
    if (access(GetParam().path.c_str(), X_OK) != 0) GTEST_SKIP() << GetParam().path << " missing";
  }

  // RUNTIME --root R --log L --log-format json ARGS..., then L's last error.
  RunResult call(std::vector<std::string> args, std::string* last_error) {
    std::vector<std::string> v = {GetParam().path,   "--root",       dir_ / "root", "--log",
                                  dir_ / "log.json", "--log-format", "json"};
    v.insert(v.end(), args.begin(), args.end());
    auto r = run(v);
    std::ifstream f(dir_ / "log.json");
    std::string line;
    last_error->clear();
    while (std::getline(f, line))
      if (line.find("\"error\"") != std::string::npos) *last_error = line;
    return r;
  }

  TempDir dir_{"berth-test-clishape"};
};

TEST_P(RuntimeCliShape, ConmonExecOnMissingContainer) {
  { std::ofstream(dir_ / "process.json") << "{\"args\":[\"true\"],\"cwd\":\"/\"}"; }
  std::string err;
  auto r = call({"exec", "--pid-file", dir_ / "exec.pid", "--process", dir_ / "process.json",
                 "--detach", "nosuch"},
                &err);
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_EQ(r.err.find("not expected"), std::string::npos)
      << "argument parsing failed: " << describe(r);
  EXPECT_NE(err.find("nosuch"), std::string::npos)
      << "log.json has no error naming the container: [" << err << "] " << describe(r);
}

TEST_P(RuntimeCliShape, ShimCallsOnMissingContainer) {
  std::string err;
  for (std::vector<std::string> args : {std::vector<std::string>{"kill", "--all", "nosuch", "9"},
                                        {"delete", "nosuch"},
                                        {"pause", "nosuch"},
                                        {"ps", "--format", "json", "nosuch"},
                                        {"state", "nosuch"}}) {
    auto r = call(args, &err);
    EXPECT_NE(r.status, 0) << args[0] << ": " << describe(r);
    EXPECT_EQ(r.err.find("not expected"), std::string::npos) << args[0] << ": " << describe(r);
    EXPECT_NE(err.find("nosuch"), std::string::npos) << args[0] << ": log.json: [" << err << "]";
  }
}

INSTANTIATE_TEST_SUITE_P(Cli, RuntimeCliShape, ::testing::ValuesIn(runtimes()),
                         [](const auto& info) { return runtime_param_name(info.param); });

}  // namespace
}  // namespace berth::test::engines
