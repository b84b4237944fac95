// image::copy_tree: an exact copy of every kind of entry a container's layer
// or tree holds (compared by a listing of the two trees), nothing left at
// the destination when it fails.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "image/image.h"
#include "support/testenv.h"
#include "support/tree_listing.h"

namespace berth::test {
namespace {

std::string listing(const std::string& dir) {
  return tree_listing(dir, true);
}

TEST(CopyTree, CopiesEveryKindOfEntryExactly) {
  SKIP_UNLESS_ROOT();
  TempDir t("berth-test-copytree");
  std::string src = t / "src";
  ASSERT_EQ(::mkdir(src.c_str(), 0750), 0);
  ASSERT_EQ(::mkdir((src + "/d").c_str(), 0500), 0);  // read-only: filled before its mode
  ASSERT_EQ(::mkdir((src + "/e").c_str(), 0755), 0);
  std::ofstream(src + "/e/file") << "data\n";
  std::ofstream(src + "/e/setuid") << "x";
  ASSERT_EQ(::chown((src + "/e/setuid").c_str(), 1000, 1001), 0);
  ASSERT_EQ(::chmod((src + "/e/setuid").c_str(), 04755), 0);
  ASSERT_EQ(::link((src + "/e/file").c_str(), (src + "/e/hard").c_str()), 0);
  ASSERT_EQ(::symlink("../e/file", (src + "/e/link").c_str()), 0);
  ASSERT_EQ(::lchown((src + "/e/link").c_str(), 7, 8), 0);
  ASSERT_EQ(::mknod((src + "/e/whiteout").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
  ASSERT_EQ(::mknod((src + "/e/fifo").c_str(), S_IFIFO | 0640, 0), 0);
  ASSERT_EQ(::setxattr((src + "/e").c_str(), "user.overlay.opaque", "y", 1, 0), 0);
  ASSERT_EQ(::setxattr((src + "/e/file").c_str(), "trusted.x", "1", 1, 0), 0);
  std::string big(1 << 20, 'b');
  std::ofstream(src + "/big") << big;
  ASSERT_EQ(::chmod((src + "/d").c_str(), 0500), 0);

  auto r = image::copy_tree(src, t / "dst");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(listing(t / "dst"), listing(src));
  EXPECT_EQ(r->files, 3u);  // file, setuid, big (hard is a link)
  EXPECT_EQ(r->bytes, (1u << 20) + 6u);

  // An existing destination is refused and left as it is.
  auto again = image::copy_tree(src, t / "dst");
  EXPECT_FALSE(again.ok());
  EXPECT_EQ(listing(t / "dst"), listing(src));
  auto missing = image::copy_tree(t / "nothing", t / "out");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(::access((t / "out").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace berth::test
