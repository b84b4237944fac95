// The Debian guest booted from an image of the store (#13): imported from a
// tar of the test's Debian tree, booted (systemd to READY=1, user-namespaced
// by default) over a layer of its own that keeps what it wrote across
// boots while the image stays as imported; a snapshot restores the layer,
// a clone boots with its files and a new machine-id, and an export imported
// on another berth root boots there as it was.
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "guest_support.h"

namespace berth::test::guest {
namespace {

class ImageGuest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!is_root()) return;
    std::string fixture = debian_fixture();
    if (::access((fixture + "/.berth-debian-recipe").c_str(), F_OK) != 0) return;
    dir_ = new TempDir("berth-test-imgguest");
    tar_ = dir_->path() + "/debian.tar";
    auto r = run({"tar", "-C", fixture, "--xattrs", "-cf", tar_, "."}, {.timeout_sec = 300});
    if (r.status != 0) tar_error_ = r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    SKIP_UNLESS_ROOT();
    if (!dir_)
      GTEST_SKIP() << "no Debian tree at " << debian_fixture()
                   << " (ctest fixture_debian builds it: tests/fixtures/make-debian.sh)";
    ASSERT_TRUE(tar_error_.empty()) << tar_error_;
    ASSERT_TRUE(host_.ok()) << "cannot create a network namespace";
  }
  void TearDown() override {
    for (auto& n : names_) {
      host_.berth({"terminate", n});
      EXPECT_NE(::access((host_ / ("run/berth/" + n)).c_str(), F_OK), 0) << n;
    }
    auto left = mounts_in_any_process(host_.root());
    EXPECT_TRUE(left.empty()) << left.front();
  }
  std::string name(const std::string& base) {
    names_.push_back(unique_id(base));
    host_.track(names_.back());
    return names_.back();
  }
  static void expect_up_on(Host& h, const std::string& n) {
    auto r = h.in_guest(n, "systemctl is-system-running --wait");
    EXPECT_TRUE(r.out == "running" || r.out == "degraded") << r.out << h.berth({"logs", n}).out;
  }
  void expect_up(const std::string& n) { expect_up_on(host_, n); }

  static TempDir* dir_;
  static std::string tar_, tar_error_;
  Host host_;
  std::vector<std::string> names_;
};

TempDir* ImageGuest::dir_ = nullptr;
std::string ImageGuest::tar_, ImageGuest::tar_error_;

TEST_F(ImageGuest, BootsOverItsOwnLayerSnapshotsClonesAndMoves) {
  auto imported = host_.berth({"image", "import", "debian", tar_}, 300);
  ASSERT_EQ(imported.status, 0) << imported.err;
  std::string image = host_ / "var/lib/berth/images/debian/rootfs";
  auto n = name("ig"), copy = name("igc");
  host_.declare("[containers." + n +
                "]\nimage = \"debian\"\nboot = true\nprivate_network = true\nhost_address = "
                "\"10.233.70.1\"\nlocal_address = \"10.233.70.2\"\ntimeout_start = \"90s\"\n");
  auto started = host_.berth({"start", n});
  ASSERT_EQ(started.status, 0) << started.err << host_.berth({"logs", n}).out;
  expect_up(n);
  EXPECT_EQ(host_.in_guest(n, "stat -f -c %T /").out, "overlayfs");
  // Its root is its user namespace's: what it writes is stored as root's (0).
  auto w = host_.in_guest(n, "echo kept > /root/marker && stat -c %u:%g /root/marker");
  EXPECT_EQ(w.out, "0:0") << w.err;
  std::string layer = host_ / ("var/lib/berth/containers/" + n + "/layer/upper");
  EXPECT_EQ(run({"stat", "-c", "%u:%g", layer + "/root/marker"}).out, "0:0\n");
  EXPECT_NE(::access((image + "/root/marker").c_str(), F_OK), 0);

  ASSERT_EQ(host_.berth({"stop", n}).status, 0);
  ASSERT_EQ(host_.berth({"snapshot", n, "booted"}).status, 0);
  ASSERT_EQ(host_.berth({"start", n}).status, 0) << host_.berth({"logs", n}).out;
  expect_up(n);
  EXPECT_EQ(host_.in_guest(n, "cat /root/marker && rm /root/marker && echo x > /etc/later").out,
            "kept");
  auto id = host_.in_guest(n, "cat /etc/machine-id").out;
  ASSERT_EQ(host_.berth({"stop", n}).status, 0);
  ASSERT_EQ(host_.berth({"restore", n, "booted"}).status, 0);

  // The clone boots on the same image with the restored files and its own machine-id.
  auto cloned = host_.berth({"clone", n, copy});
  ASSERT_EQ(cloned.status, 0) << cloned.err;
  ASSERT_EQ(host_.berth({"start", copy}).status, 0) << host_.berth({"logs", copy}).out;
  ASSERT_EQ(host_.berth({"start", n}).status, 0) << host_.berth({"logs", n}).out;
  expect_up(copy);
  EXPECT_EQ(host_.in_guest(copy, "cat /root/marker; ls /etc/later 2>&1").out,
            "kept\nls: cannot access '/etc/later': No such file or directory");
  EXPECT_EQ(host_.in_guest(n, "cat /root/marker").out, "kept");
  auto other = host_.in_guest(copy, "cat /etc/machine-id").out;
  EXPECT_EQ(other.size(), 32u) << other;
  if (!id.empty()) {
    EXPECT_NE(other, id);
  }
  EXPECT_EQ(host_.in_guest(n, "cat /etc/machine-id").out, id);
  ASSERT_EQ(host_.berth({"stop", copy}).status, 0);
  ASSERT_EQ(host_.berth({"destroy", copy}).status, 0);

  // Moved to another berth root in one archive: the same guest boots there
  // and finds what it wrote, its machine-id unchanged.
  ASSERT_EQ(host_.berth({"stop", n}).status, 0);
  Host there;
  ASSERT_TRUE(there.ok());
  there.track(n);
  std::string archive = dir_->path() + "/guest.tar.zst";
  auto exported = host_.berth({"export", n, archive}, 300);
  ASSERT_EQ(exported.status, 0) << exported.err;
  auto moved = there.berth({"import", archive, "--keep-setid"}, 300);
  ASSERT_EQ(moved.status, 0) << moved.err;
  ASSERT_EQ(there.berth({"start", n}).status, 0) << there.berth({"logs", n}).out;
  expect_up_on(there, n);
  EXPECT_EQ(there.in_guest(n, "cat /root/marker").out, "kept");
  EXPECT_EQ(there.in_guest(n, "cat /etc/machine-id").out, id);
  ASSERT_EQ(there.berth({"stop", n}).status, 0);
  auto left = mounts_in_any_process(there.root());
  EXPECT_TRUE(left.empty()) << left.front();
}

}  // namespace
}  // namespace berth::test::guest
