// The pure parts of the console verbs: users from a container's passwd and
// group files, and the ^]^]^] escape.
#include <gtest/gtest.h>

#include <thread>

#include "manager/console.h"
#include "manager/shell.h"
#include "manager/tty.h"

namespace berth::manager {
namespace {

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/bash\n"
    "alice:x:1000:1001:Alice:/home/alice:/bin/zsh\n"
    "svc:x:999:999::/:\n"
    "broken:x:abc:1:::/bin/sh\n";
constexpr const char* kGroup =
    "root:x:0:\n"
    "alice:x:1001:\n"
    "wheel:x:10:root,alice\n"
    "audio:x:29:bob,alice\n"
    "video:x:44:bob\n";

TEST(FindUser, ReadsPasswdAndSupplementaryGroups) {
  auto u = find_user(kPasswd, kGroup, "alice");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 1001u);
  EXPECT_EQ(u->home, "/home/alice");
  EXPECT_EQ(u->shell, "/bin/zsh");
  EXPECT_EQ(u->groups, (std::vector<uint32_t>{10, 29}));
}

TEST(FindUser, EmptyShellIsBinShAndMissingUserIsAnError) {
  auto s = find_user(kPasswd, kGroup, "svc");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->shell, "/bin/sh");
  EXPECT_TRUE(s->groups.empty());
  auto none = find_user(kPasswd, kGroup, "bob");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "no user \"bob\" in the container's /etc/passwd");
  EXPECT_FALSE(find_user(kPasswd, kGroup, "broken"));
  // A prefix of a name is not the name.
  EXPECT_FALSE(find_user(kPasswd, kGroup, "ali"));
}

TEST(EscapeDetector, ThreeInARowDetachAndTypeNothing) {
  EscapeDetector e;
  EXPECT_EQ(e.feed("ls\r"), "ls\r");
  EXPECT_EQ(e.feed("\x1d"), "");
  EXPECT_EQ(e.feed("\x1d"), "");
  EXPECT_FALSE(e.escaped());
  EXPECT_EQ(e.feed("\x1d"), "");
  EXPECT_TRUE(e.escaped());
}

TEST(EscapeDetector, AnythingElseInBetweenPassesTheHeldOnesOn) {
  EscapeDetector e;
  EXPECT_EQ(e.feed("\x1d\x1dx\x1d"), "\x1d\x1dx");
  EXPECT_FALSE(e.escaped());
  EXPECT_GE(e.timeout_ms(), 0);
}

TEST(EscapeDetector, SlowerThanASecondIsNoEscape) {
  EscapeDetector e;
  EXPECT_EQ(e.feed("\x1d\x1d"), "");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(e.expire(), "\x1d\x1d");
  EXPECT_EQ(e.timeout_ms(), -1);
  EXPECT_EQ(e.feed("\x1d"), "");
  EXPECT_FALSE(e.escaped());
}

}  // namespace
}  // namespace berth::manager
