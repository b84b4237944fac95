// `berth check`'s questions to the host, answered by injected probes so both
// answers are tested on any machine: a block I/O weight the host cannot
// apply, and a 32-bit tree on a kernel that cannot run 32-bit programs.
#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "decl/decl.h"
#include "decl/host.h"
#include "decl/personality.h"
#include "support/testenv.h"

namespace berth::decl {
namespace {

class HostChecks : public ::testing::Test {
 protected:
  void SetUp() override {
    ::mkdir((tree_ / "bin").c_str(), 0755);
    // An i386 ELF header is all elf_id_in_tree reads.
    std::string h(64, '\0');
    h[0] = 0x7f, h[1] = 'E', h[2] = 'L', h[3] = 'F', h[4] = 1, h[5] = 1, h[6] = 1, h[18] = 3;
    std::ofstream(tree_ / "bin/busybox", std::ios::binary) << h;
    ::chmod((tree_ / "bin/busybox").c_str(), 0755);
  }
  void TearDown() override {
    set_io_weight_probe(nullptr);
    set_32bit_probe(nullptr);
  }
  std::vector<std::string> errors(const std::string& extra) {
    LoadOptions o;
    o.check_host = true;
    std::string text = "[containers.x]\npath = \"" + tree_.path() +
                       "\"\ncommand = [\"/bin/busybox\", \"true\"]\n" + extra;
    auto r = load_documents({{"c.toml", text}}, o);
    std::vector<std::string> out;
    for (auto& e : r.errors) out.push_back(e.str());
    return out;
  }
  test::TempDir tree_{"berth-test-hostchecks"};
};

TEST_F(HostChecks, IoWeightTheHostCannotApplyIsOneLineNamingTheKey) {
  set_32bit_probe([] { return true; });
  set_io_weight_probe([]() -> Result<void> {
    return make_error("this host cannot apply block I/O weights (probe)");
  });
  auto e = errors("[containers.x.resources]\nio_weight = 500\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0],
            "c.toml:5: containers.x.resources.io_weight: this host cannot apply block I/O weights "
            "(probe)");
  EXPECT_TRUE(errors("").empty()) << "no io_weight, no question";

  set_io_weight_probe([]() -> Result<void> { return ok(); });
  EXPECT_TRUE(errors("[containers.x.resources]\nio_weight = 500\n").empty());
}

#if defined(__x86_64__)
TEST_F(HostChecks, A32BitTreeOnAKernelWithoutIa32EmulationIsOneLine) {
  set_32bit_probe([] { return false; });
  auto e = errors("");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "c.toml:2: containers.x.path: \"" + tree_.path() +
                      "\": this kernel cannot run 32-bit x86 programs (IA-32 emulation is off)");
  set_32bit_probe([] { return true; });
  EXPECT_TRUE(errors("").empty());
}
#endif

}  // namespace
}  // namespace berth::decl
