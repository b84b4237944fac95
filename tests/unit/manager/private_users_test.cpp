// private_users = "pick": the base comes from the name, lies in nspawn's
// range, avoids other containers' ranges and stays the same once recorded.
#include <gtest/gtest.h>

#include <fstream>

#include "base/files.h"
#include "manager/private_root.h"
#include "support/testenv.h"

namespace berth::manager {
namespace {

decl::Container pick(const std::string& name) {
  decl::Container c;
  c.name = name;
  c.private_users.mode = decl::PrivateUsers::Mode::Pick;
  return c;
}

bool overlaps(uint32_t a, uint32_t b) {
  return a < b + 65536 && b < a + 65536;
}

class Pick : public ::testing::Test {
 protected:
  test::TempDir dir_{"berth-test-pick"};
  decl::Paths paths_ = decl::Paths::under(dir_.path());
  decl::Declarations decls_;
};

TEST_F(Pick, DerivedFromTheNameInRangeAndRecorded) {
  auto b = pick_uid_base(paths_, pick("web"), decls_);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(*b % 0x10000, 0u);
  EXPECT_GE(*b, kPickMin);
  EXPECT_LT(*b, kPickMax);
  EXPECT_EQ(recorded_uid_base(paths_, "web"), *b);
  // Another root, same name: the same base (it depends on the name only).
  test::TempDir other("berth-test-pick");
  auto again = pick_uid_base(decl::Paths::under(other.path()), pick("web"), decls_);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *b);
  auto db = pick_uid_base(paths_, pick("db"), decls_);
  ASSERT_TRUE(db);
  EXPECT_FALSE(overlaps(*b, *db));
}

TEST_F(Pick, RepickedOnCollisionAndStableOnceRecorded) {
  // Where "web" would go is taken by another container's recorded range.
  test::TempDir probe("berth-test-pick");
  uint32_t natural = *pick_uid_base(decl::Paths::under(probe.path()), pick("web"), decls_);
  ASSERT_TRUE(mkdir_p(paths_.container_state("other")));
  ASSERT_TRUE(write_file_atomic(uid_range_file(paths_, "other"), std::to_string(natural) + "\n"));
  auto b = pick_uid_base(paths_, pick("web"), decls_);
  ASSERT_TRUE(b);
  EXPECT_FALSE(overlaps(*b, natural));
  // Recorded: the same base next time, even with the other one gone.
  ASSERT_TRUE(remove_tree(paths_.container_state("other")));
  EXPECT_EQ(*pick_uid_base(paths_, pick("web"), decls_), *b);
  // A fixed base declared for another container over it forces a new pick.
  decl::Container fixed;
  fixed.name = "fixed";
  fixed.private_users = {decl::PrivateUsers::Mode::Base, *b + 4096};
  decls_.containers["fixed"] = fixed;
  auto moved = pick_uid_base(paths_, pick("web"), decls_);
  ASSERT_TRUE(moved);
  EXPECT_FALSE(overlaps(*moved, *b + 4096));
  EXPECT_EQ(recorded_uid_base(paths_, "web"), *moved);
}

TEST_F(Pick, GarbageInTheRecordIsIgnored) {
  ASSERT_TRUE(mkdir_p(paths_.container_state("web")));
  for (const char* bad : {"12\n", "not a number\n", "524289\n", "4294901760\n"}) {
    ASSERT_TRUE(write_file_atomic(uid_range_file(paths_, "web"), bad));
    EXPECT_FALSE(recorded_uid_base(paths_, "web")) << bad;
  }
  auto b = pick_uid_base(paths_, pick("web"), decls_);
  ASSERT_TRUE(b);
  EXPECT_EQ(recorded_uid_base(paths_, "web"), *b);
}

}  // namespace
}  // namespace berth::manager
