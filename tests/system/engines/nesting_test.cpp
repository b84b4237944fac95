// nesting = true (#14): podman, from the host's packages through share_host,
// runs `podman run --rm` inside a user-namespaced berth container; without
// nesting the same attempt fails inside with the runtime's error. Each test
// has its own --root; podman's store lives in the container's private root
// under it, and nothing of podman's runs after the container stops.
#include <sys/stat.h>

#include <string>

#include <gtest/gtest.h>

#include "integration/manager/manager_fixture.h"
#include "support/escape_probe.h"
#include "support/testenv.h"

namespace berth::test {
namespace {

constexpr const char* kLoop = "trap 'exit 0' TERM; while :; do sleep 0.1; done";

// What podman inside needs and the host may lack, or "".
std::string missing_tools() {
  for (auto tool : {"podman", "crun"})
    if (sh(std::string("command -v ") + tool + " >/dev/null").status != 0)
      return std::string(tool) + " (scripts/install-deps.sh system)";
  return "";
}

class Nesting : public ManagerTest {
 protected:
  Nesting() : ManagerTest("berth-test-nest") {}
  void SetUp() override {
    ManagerTest::SetUp();
    if (IsSkipped()) return;
    if (auto m = missing_tools(); !m.empty()) GTEST_SKIP() << "not installed: " << m;
    ::chmod(images_.path().c_str(), 0755);
    auto t = sh("tar -C " + test_rootfs() + " -cf " + (images_ / "busybox.tar") + " .");
    ASSERT_EQ(t.status, 0) << t.err;
  }
  std::string decl(const std::string& n, const std::string& extra) {
    return "[containers." + n + "]\nshare_host = true\nprivate_users = \"pick\"\n" +
           "command = [\"/bin/busybox\", \"sh\", \"-c\", " + nlohmann::json(kLoop).dump() +
           "]\nbind_mounts.\"/images\" = \"" + images_.path() + "\"\n" + extra + "\n";
  }
  // podman as root inside: its store (vfs: no overlay needed), the busybox
  // image imported from the host's tar, one container run and removed.
  RunResult podman_run(const std::string& n) {
    const std::string script =
        "mkdir -p /etc/containers && "
        "echo '{\"default\": [{\"type\": \"insecureAcceptAnything\"}]}' "
        "> /etc/containers/policy.json && "
        "podman --storage-driver vfs import /images/busybox.tar localhost/bb >/dev/null && "
        "podman --storage-driver vfs run --rm --network=none localhost/bb "
        "/bin/echo nested-hello";
    return berth({"run", n, "--", "/bin/sh", "-c", script}, {.timeout_sec = 180});
  }

  TempDir images_{"berth-test-nestimg"};
};

TEST_F(Nesting, PodmanRunsInsideAUserNamespacedContainerOnlyWithNesting) {
  auto nest = name("nest"), plain = name("nonest");
  declare(decl(nest, "nesting = true") + decl(plain, ""));
  auto c = berth({"check"});
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.err.find("warning"), std::string::npos) << c.err;
  for (auto& n : {nest, plain}) {
    auto s = berth({"start", n});
    ASSERT_EQ(s.status, 0) << s.err << slurp(root_ / ("var/log/berth/" + n + ".log"));
  }
  auto ok = podman_run(nest);
  EXPECT_EQ(ok.status, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("nested-hello"), std::string::npos) << ok.out << ok.err;
  // Gone with --rm: podman's list inside is empty.
  auto ps = berth({"run", nest, "--", "podman", "--storage-driver", "vfs", "ps", "-aq"});
  EXPECT_EQ(ps.status, 0) << ps.err;
  EXPECT_EQ(ps.out, "");

  // Without nesting: the runtime inside is refused its keyring.
  auto no = podman_run(plain);
  EXPECT_NE(no.status, 0) << no.out;
  EXPECT_NE(no.err.find("keyring"), std::string::npos) << no.err;
  EXPECT_EQ(no.out.find("nested-hello"), std::string::npos) << no.out;

  // Nesting gives nothing of the host's away: root inside (with podman's
  // rights) still cannot write the host's kernel settings, devices or /usr.
  EscapeProbe p;
  p.remount = {"/usr", "/", "/sys"};
  p.create_in = {"/usr"};
  auto r = berth({"run", nest, "--", p.busybox, "sh", "-c", p.script()}, {.timeout_sec = 60});
  auto m = parse_probe(r.out);
  EXPECT_EQ(m["done"], "yes") << r.out << r.err;
  for (auto& [k, v] : m) {
    if (k != "done" && k != "capeff") {
      EXPECT_EQ(v, "no") << "root in the nesting container could: " << k;
    }
  }
  EXPECT_FALSE(exists("/usr/" + p.marker));

  // The spec: keyrings allowed, /proc and /sys unmasked, only with nesting.
  auto spec = nlohmann::json::parse(berth({"spec", nest}).out);
  EXPECT_FALSE(spec["linux"].contains("maskedPaths") && !spec["linux"]["maskedPaths"].empty())
      << spec["linux"].dump();
  auto plain_spec = nlohmann::json::parse(berth({"spec", plain}).out);
  EXPECT_FALSE(plain_spec["linux"]["maskedPaths"].empty());
  for (auto& n : {nest, plain}) ASSERT_EQ(berth({"stop", n}).status, 0);
}

// nesting without a user namespace is refused in one line.
TEST_F(Nesting, NeedsAUserNamespace) {
  auto n = name("nestno");
  declare(
      "[containers." + n +
      "]\nshare_host = true\nprivate_users = \"no\"\nnesting = true\ncommand = [\"/bin/true\"]\n");
  auto r = berth({"check"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("containers." + n + ".nesting: needs a user namespace"), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace berth::test
