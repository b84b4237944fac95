// Which personality a tree's program gets: ELF headers, lookups inside the
// tree (absolute symlinks, PATH, scripts) and the spec hook.
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "decl/personality.h"
#include "support/testenv.h"

namespace berth::decl {
namespace {

// The first 20 bytes of an ELF file: magic, class, byte order, machine.
std::string elf_header(uint8_t cls, uint16_t machine, bool big_endian = false) {
  std::string h(64, '\0');
  h[0] = 0x7f, h[1] = 'E', h[2] = 'L', h[3] = 'F';
  h[4] = static_cast<char>(cls);
  h[5] = big_endian ? 2 : 1;
  h[6] = 1;
  h[18] = static_cast<char>(big_endian ? machine >> 8 : machine & 0xff);
  h[19] = static_cast<char>(big_endian ? machine & 0xff : machine >> 8);
  return h;
}

void put(const std::string& path, const std::string& data, mode_t mode = 0755) {
  std::ofstream(path, std::ios::binary) << data;
  ::chmod(path.c_str(), mode);
}

constexpr uint16_t kEm386 = 3, kEmX86_64 = 62, kEmArm = 40, kEmAarch64 = 183;

TEST(Personality, ParsesElfHeaders) {
  auto a = parse_elf_id(elf_header(1, kEm386));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->elf_class, 1);
  EXPECT_EQ(a->machine, kEm386);
  auto b = parse_elf_id(elf_header(2, kEmX86_64, true));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->machine, kEmX86_64);
  EXPECT_FALSE(parse_elf_id("#!/bin/sh\n").ok());
  EXPECT_FALSE(parse_elf_id("\x7f"
                            "ELF")
                   .ok());  // too short
  EXPECT_FALSE(parse_elf_id(elf_header(3, kEm386)).ok());
}

TEST(Personality, Linux32OnlyForTheHostsOwn32BitSibling) {
#if defined(__x86_64__)
  auto p = personality_for({1, kEm386});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->domain, "LINUX32");
  EXPECT_FALSE(personality_for({2, kEmX86_64}).has_value());
  EXPECT_FALSE(personality_for({1, kEmX86_64}).has_value()) << "x32 is a 64-bit ABI";
  EXPECT_FALSE(personality_for({1, kEmArm}).has_value()) << "arm cannot run here at all";
#elif defined(__aarch64__)
  EXPECT_TRUE(personality_for({1, kEmArm}).has_value());
  EXPECT_FALSE(personality_for({2, kEmAarch64}).has_value());
#else
  GTEST_SKIP() << "no 32-bit sibling architecture known for this host";
#endif
  (void)kEmAarch64;
}

class PersonalityTree : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* d : {"bin", "sbin", "usr", "usr/bin", "lib", "lib/systemd"})
      ::mkdir((dir_ / d).c_str(), 0755);
    put(dir_ / "bin/busybox", elf_header(1, kEm386));
    put(dir_ / "lib/systemd/systemd", elf_header(2, kEmX86_64));
    // Absolute symlinks mean the tree's own files, never the host's.
    ::symlink("/bin/busybox", (dir_ / "bin/uname").c_str());
    ::symlink("/lib/systemd/systemd", (dir_ / "sbin/init").c_str());
    ::symlink("../../bin/busybox", (dir_ / "usr/bin/env").c_str());
    put(dir_ / "usr/bin/script", "#!/bin/uname -m\n");
    put(dir_ / "usr/bin/data", elf_header(1, kEm386), 0644);  // not executable
  }
  test::TempDir dir_{"berth-test-persona"};
};

TEST_F(PersonalityTree, FollowsSymlinksInsideTheTree) {
  auto a = elf_id_in_tree(dir_.path(), "/bin/uname", {});
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->machine, kEm386);
  auto b = elf_id_in_tree(dir_.path(), "/sbin/init", {});
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->machine, kEmX86_64);
  auto c = elf_id_in_tree(dir_.path(), "/usr/bin/env", {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->machine, kEm386);
}

TEST_F(PersonalityTree, SearchesPathForBareNamesAndFollowsScripts) {
  auto a = elf_id_in_tree(dir_.path(), "uname", {"PATH=/usr/bin:/bin"});
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->elf_class, 1);
  EXPECT_FALSE(elf_id_in_tree(dir_.path(), "data", {"PATH=/usr/bin"}).ok()) << "not executable";
  EXPECT_FALSE(elf_id_in_tree(dir_.path(), "uname", {"PATH=/nowhere"}).ok());
  auto s = elf_id_in_tree(dir_.path(), "/usr/bin/script", {});
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->machine, kEm386) << "a script runs with its interpreter's architecture";
}

TEST_F(PersonalityTree, SymlinkOutOfTheTreeStaysInside) {
  // "../../../../bin/busybox" climbs no higher than the tree's root.
  ::symlink("../../../../../../bin/busybox", (dir_ / "usr/bin/climb").c_str());
  auto a = elf_id_in_tree(dir_.path(), "/usr/bin/climb", {});
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->machine, kEm386) << "resolved to the tree's /bin/busybox, not the host's";
}

#if defined(__x86_64__)
// The kernel's answer is injected: both answers are tested on any machine.
class PersonalityProbe : public PersonalityTree {
 protected:
  void answer(bool runs_32bit) {
    set_32bit_probe([runs_32bit] { return runs_32bit; });
  }
  void TearDown() override { set_32bit_probe(nullptr); }
};

TEST_F(PersonalityProbe, DetectSetsLinux32ForA32BitProgramOnly) {
  answer(true);
  oci::Spec s = oci::default_spec(false);
  s.root.path = dir_.path();
  s.process->args = {"/bin/uname", "-m"};
  ASSERT_TRUE(detect_personality(s).ok());
  ASSERT_TRUE(s.linux && s.linux->personality);
  EXPECT_EQ(s.linux->personality->domain, "LINUX32");

  oci::Spec t = oci::default_spec(false);
  t.root.path = dir_.path();
  t.process->args = {"/sbin/init"};
  ASSERT_TRUE(detect_personality(t).ok());
  EXPECT_FALSE(t.linux && t.linux->personality) << "a 64-bit init keeps the host's personality";

  oci::Spec u = oci::default_spec(false);
  u.root.path = dir_.path();
  u.process->args = {"/missing"};
  ASSERT_TRUE(detect_personality(u).ok());
  EXPECT_FALSE(u.linux && u.linux->personality);

  // A personality the spec already has is kept.
  oci::Spec v = oci::default_spec(false);
  v.root.path = dir_.path();
  v.process->args = {"/bin/uname"};
  v.linux->personality = oci::Personality{"LINUX", {}};
  ASSERT_TRUE(detect_personality(v).ok());
  EXPECT_EQ(v.linux->personality->domain, "LINUX");
  EXPECT_FALSE(tree_needs_missing_32bit(dir_.path(), "/bin/uname", {}));
}

TEST_F(PersonalityProbe, A32BitTreeOnAKernelWithoutIa32EmulationIsOneLine) {
  answer(false);
  oci::Spec s = oci::default_spec(false);
  s.root.path = dir_.path();
  s.process->args = {"/bin/uname", "-m"};
  auto r = detect_personality(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "this kernel cannot run 32-bit x86 programs (IA-32 emulation is off)");
  EXPECT_TRUE(tree_needs_missing_32bit(dir_.path(), "/bin/uname", {}));
  EXPECT_TRUE(tree_needs_missing_32bit(dir_.path(), "/usr/bin/script", {}))
      << "a script's interpreter is 32-bit";
  // A 64-bit program, or one that is not there, needs nothing from the kernel.
  oci::Spec t = oci::default_spec(false);
  t.root.path = dir_.path();
  t.process->args = {"/sbin/init"};
  EXPECT_TRUE(detect_personality(t).ok());
  EXPECT_FALSE(tree_needs_missing_32bit(dir_.path(), "/sbin/init", {}));
  EXPECT_FALSE(tree_needs_missing_32bit(dir_.path(), "/missing", {}));
}

TEST(PersonalityKernel, RealProbeAgreesWithTheKernelsSettings) {
  // The real probe executes a 32-bit program; the independent oracle is the
  // kernel's configuration: no IA-32 loader without CONFIG_IA32_EMULATION
  // (its /proc/sys/abi/vsyscall32 is missing then), and since 6.7 one that
  // ia32_emulation= on the command line turns off or on.
  if (::getenv("BERTH_TEST_ASSUME_NO_IA32")) GTEST_SKIP() << "BERTH_TEST_ASSUME_NO_IA32 is set";
  set_32bit_probe(nullptr);
  if (::access("/proc/sys/abi/vsyscall32", F_OK) != 0) {
    EXPECT_FALSE(kernel_runs_32bit()) << "no IA-32 emulation in this kernel";
    return;
  }
  std::ifstream f("/proc/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  for (const char* off : {"ia32_emulation=0", "ia32_emulation=false", "ia32_emulation=n"})
    if (cmdline.find(off) != std::string::npos) {
      EXPECT_FALSE(kernel_runs_32bit()) << "booted with " << off;
      return;
    }
  bool explicit_on = cmdline.find("ia32_emulation=1") != std::string::npos ||
                     cmdline.find("ia32_emulation=true") != std::string::npos;
  if (!explicit_on) {
    // CONFIG_IA32_EMULATION_DEFAULT_DISABLED turns it off without a word on
    // the command line; only the kernel's config says so.
    struct utsname u;
    ::uname(&u);
    std::ifstream cfg(std::string("/boot/config-") + u.release);
    if (!cfg)
      GTEST_SKIP() << "no /boot/config-" << u.release
                   << " to tell whether IA-32 emulation is on by default";
    std::string text((std::istreambuf_iterator<char>(cfg)), std::istreambuf_iterator<char>());
    if (text.find("CONFIG_IA32_EMULATION_DEFAULT_DISABLED=y") != std::string::npos) {
      EXPECT_FALSE(kernel_runs_32bit());
      return;
    }
  }
  EXPECT_TRUE(kernel_runs_32bit());
}
#endif

}  // namespace
}  // namespace berth::decl
