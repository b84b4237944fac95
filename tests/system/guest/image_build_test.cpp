// A Debian image built from its declaration ([images.NAME], #13): `apply`
// builds it with mmdebstrap from the host's apt mirror before it starts the
// container that boots it (systemd to READY=1); the declared files and run
// commands are in it; a second build is "up to date"; a changed recipe is
// rebuilt by the next apply, which restarts the container on it.
//
// The build needs the host's network (the apt mirror, as the Debian fixture
// does), so berth runs in the machine's namespace here; the container joins
// the test's own network namespace (network_namespace), never the host's.
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "guest_support.h"

namespace berth::test::guest {
namespace {

class ImageBuild : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_UNLESS_ROOT();
    if (run({"sh", "-c", "command -v mmdebstrap"}).status != 0)
      GTEST_SKIP() << "mmdebstrap is not installed (scripts/install-deps.sh system)";
    if (sh("grep -rqsw bookworm /etc/apt/sources.list /etc/apt/sources.list.d").status != 0)
      GTEST_SKIP() << "the host's apt sources have no bookworm entry to build from";
    ASSERT_TRUE(host_.ok()) << "cannot create a network namespace";
    image_ = unique_id("ib");
    name_ = unique_id("ibg");
    host_.track(name_);
  }
  void TearDown() override {
    if (name_.empty()) return;
    host_.berth({"terminate", name_});
    EXPECT_NE(::access((host_ / ("run/berth/" + name_)).c_str(), F_OK), 0);
    auto left = mounts_in_any_process(host_.root());
    EXPECT_TRUE(left.empty()) << left.front();
  }
  void declare(const std::string& note) {
    host_.declare("[images." + image_ +
                  "]\n"
                  "suite = \"bookworm\"\n"
                  "packages = [\"systemd\", \"systemd-sysv\", \"dbus\"]\n"
                  "run = [\"ln -sf /dev/null /etc/systemd/system/systemd-firstboot.service\", "
                  "\"echo LANG=C.UTF-8 > /etc/locale.conf\", \"mkdir -p /srv/made\"]\n"
                  "[images." +
                  image_ + ".files]\n\"/etc/berth/note\" = \"" + note +
                  "\"\n"
                  "[containers." +
                  name_ + "]\nimage = \"" + image_ +
                  "\"\nboot = true\nautostart = true\ntimeout_start = \"90s\"\n"
                  "network_namespace = \"" +
                  host_.netns_path() + "\"\n");
  }
  // berth --root ROOT ARGS in the machine's network namespace.
  RunResult berth_here(const std::vector<std::string>& args, int timeout_sec = 120) {
    std::vector<std::string> argv = {berth(), "--root", host_.root()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, {.timeout_sec = timeout_sec});
  }
  void expect_up() {
    auto r = host_.in_guest(name_, "systemctl is-system-running --wait");
    EXPECT_TRUE(r.out == "running" || r.out == "degraded")
        << r.out << host_.berth({"logs", name_}).out;
  }

  Host host_;
  std::string image_, name_;
};

TEST_F(ImageBuild, ApplyBuildsBootsAndRebuildsOnlyOnChange) {
  declare("first");
  auto plan = berth_here({"plan"});
  ASSERT_EQ(plan.status, 0) << plan.err;
  EXPECT_EQ(plan.out, "build image " + image_ + ": not built yet\nstart " + name_ +
                          ": autostart, not running\n");

  auto applied = berth_here({"apply"}, 1200);
  ASSERT_EQ(applied.status, 0) << applied.out << applied.err;
  EXPECT_NE(applied.out.find("image " + image_ + ": I: downloading packages"), std::string::npos)
      << applied.out;
  EXPECT_NE(applied.out.find("built image " + image_ + " in "), std::string::npos) << applied.out;
  expect_up();
  EXPECT_EQ(host_.in_guest(name_, "cat /etc/berth/note").out, "first");
  EXPECT_EQ(
      host_.in_guest(name_, "test -d /srv/made && test ! -e /berth-build-run.sh && echo ok").out,
      "ok");
  // Its own identity: no machine-id, host name or resolver of the build's.
  std::string rootfs = host_ / ("var/lib/berth/images/" + image_ + "/rootfs");
  EXPECT_EQ(sh("test -s " + rootfs + "/etc/machine-id").status, 1);
  EXPECT_NE(::access((rootfs + "/etc/hostname").c_str(), F_OK), 0);
  EXPECT_NE(::access((rootfs + "/etc/resolv.conf").c_str(), F_OK), 0);
  auto id = host_.in_guest(name_, "cat /etc/machine-id");
  EXPECT_EQ(id.out.size(), 32u) << id.out;

  auto again = berth_here({"image", "build", image_});
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(again.out.rfind("image " + image_ + " is up to date (recipe sha256 ", 0), 0u)
      << again.out;
  auto list = berth_here({"image", "list", "--json"});
  auto images = nlohmann::json::parse(list.out, nullptr, false);
  ASSERT_TRUE(images.is_array() && images.size() == 1u) << list.out;
  EXPECT_EQ(images[0].value("format", ""), "build");
  EXPECT_EQ(berth_here({"plan"}).out, "nothing to do: the host matches the declarations\n");

  declare("second");
  plan = berth_here({"plan"});
  EXPECT_EQ(plan.out, "build image " + image_ + ": its recipe changed\nrestart " + name_ +
                          ": image " + image_ + " is rebuilt\n");
  applied = berth_here({"apply"}, 1200);
  ASSERT_EQ(applied.status, 0) << applied.out << applied.err;
  expect_up();
  EXPECT_EQ(host_.in_guest(name_, "cat /etc/berth/note").out, "second");
  EXPECT_EQ(berth_here({"plan"}).out, "nothing to do: the host matches the declarations\n");
  EXPECT_EQ(sh("ls -a " + host_ / "var/lib/berth/images").out, ".\n..\n" + image_ + "\n")
      << "a build left its staging directory";
}

}  // namespace
}  // namespace berth::test::guest
