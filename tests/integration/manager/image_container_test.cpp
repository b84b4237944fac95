// Containers on an image of the store (`image = "NAME"`), end to end with the
// berth binary: the image as the read-only lower layer of an overlay, the
// container's own layer kept under its state dir across restarts (ids of a
// user-namespaced one as the container sees them), reset-state, ephemeral,
// pages shared between containers, a re-imported image restarting its
// containers on `apply`, `image remove` refused while used, bad declarations.
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <regex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "integration/manager/manager_fixture.h"
#include "support/testenv.h"

namespace berth::test {
namespace {

constexpr const char* kLoop = "while :; do sleep 0.1; done";

class ImageContainer : public ManagerTest {
 protected:
  ImageContainer() : ManagerTest("berth-test-imgc") {}

  void SetUp() override {
    ManagerTest::SetUp();
    if (IsSkipped()) return;
    ::chmod(data_.path().c_str(), 0755);
  }
  void expect_nothing_mounted() override {
    auto left = mounts_anywhere(root_.path());
    EXPECT_TRUE(left.empty()) << left.front();
  }

  // The busybox rootfs (plus extra files) as a tar, imported as image.
  void import(const std::string& image, const std::string& extra_file = "") {
    std::string src = data_ / ("src-" + image);
    ASSERT_EQ(run({"cp", "-a", test_rootfs(), src}).status, 0);
    if (!extra_file.empty()) std::ofstream(src + "/" + extra_file) << extra_file << "\n";
    std::string tar = data_ / (image + ".tar");
    ASSERT_EQ(run({"tar", "-C", src, "-cf", tar, "."}).status, 0);
    auto r = berth({"image", "import", image, tar, "--force"});
    ASSERT_EQ(r.status, 0) << r.err;
  }
  std::string image_tree(const std::string& image) {
    return root_ / ("var/lib/berth/images/" + image + "/rootfs");
  }
  std::string upper(const std::string& n) {
    return root_ / ("var/lib/berth/containers/" + n + "/layer/upper");
  }
  std::string on_image(const std::string& n, const std::string& image,
                       const std::string& extra = "") {
    return "[containers." + n + "]\nimage = \"" + image + "\"\ncommand = [\"/bin/sh\", \"-c\", \"" +
           kLoop + "\"]\ntimeout_stop = \"2s\"\n" + extra + "\n";
  }
  std::string in(const std::string& n, const std::string& cmd) {
    auto r = berth({"run", n, "--", "/bin/sh", "-c", cmd});
    EXPECT_EQ(r.status, 0) << cmd << ": " << r.err;
    return r.out;
  }
  std::string fingerprint(const std::string& tree) {
    return sh("cd " + tree + " && find . -printf '%p %s %m %U %G %T@\\n' | sort").out;
  }
  static std::string owner(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return "missing";
    return std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid);
  }
  // The container's root is an overlay in its own mount namespace.
  bool root_is_overlay(const std::string& n) {
    std::istringstream lines(slurp("/proc/" + std::to_string(pid_of(n)) + "/mountinfo"));
    for (std::string l; std::getline(lines, l);)
      if (l.find(" / / ") != std::string::npos && l.find(" - overlay ") != std::string::npos)
        return true;
    return false;
  }

  TempDir data_{"berth-test-imgd"};
};

TEST_F(ImageContainer, KeepsItsOwnLayerOverTheImage) {
  import("base");
  auto plain = name("ia"), userns = name("iu");
  declare(on_image(plain, "base") + on_image(userns, "base", "private_users = \"pick\""));
  auto before = fingerprint(image_tree("base"));
  ASSERT_EQ(berth({"start", plain}).status, 0);
  ASSERT_EQ(berth({"start", userns}).status, 0);
  EXPECT_TRUE(root_is_overlay(plain));
  EXPECT_TRUE(root_is_overlay(userns));
  EXPECT_TRUE(host_mounts_matching(root_.path()).empty());

  for (auto& n : {plain, userns})
    in(n, "echo " + n + " > /new; mkdir /d; touch /d/f; chown 5:6 /d/f; rm /etc/passwd");
  // Each has its own layer; the image is the same as before.
  EXPECT_EQ(in(plain, "cat /new; ls /etc/passwd 2>&1; true"),
            plain + "\nls: /etc/passwd: No such file or directory\n");
  EXPECT_EQ(slurp(upper(plain) + "/new"), plain + "\n");
  EXPECT_EQ(slurp(upper(userns) + "/new"), userns + "\n");
  EXPECT_EQ(fingerprint(image_tree("base")), before);
  // On disk, the user-namespaced one's files have the ids it sees: its
  // root's are 0, not the host's uid of that root.
  EXPECT_EQ(owner(upper(userns) + "/new"), "0:0");
  EXPECT_EQ(owner(upper(userns) + "/d/f"), "5:6");
  EXPECT_EQ(owner(upper(plain) + "/d/f"), "5:6");
  EXPECT_EQ(in(userns, "stat -c '%u:%g' /new /d/f /bin/busybox"), "0:0\n5:6\n0:0\n");

  // Kept across a restart and a stop/start; reset-state returns to the image.
  ASSERT_EQ(berth({"restart", userns}).status, 0);
  EXPECT_EQ(in(userns, "cat /new; ls /etc/passwd 2>&1; true"),
            userns + "\nls: /etc/passwd: No such file or directory\n");
  ASSERT_EQ(berth({"stop", plain}).status, 0);
  EXPECT_TRUE(mounts_anywhere(root_.path() + "/run/berth/" + plain).empty());
  ASSERT_EQ(berth({"start", plain}).status, 0);
  EXPECT_EQ(in(plain, "cat /new"), plain + "\n");
  ASSERT_EQ(berth({"stop", plain}).status, 0);
  EXPECT_NE(berth({"reset-state", userns}).status, 0);  // running
  ASSERT_EQ(berth({"reset-state", plain}).status, 0);
  EXPECT_FALSE(exists(upper(plain)));
  ASSERT_EQ(berth({"start", plain}).status, 0);
  EXPECT_EQ(in(plain, "ls /new 2>&1; ls /etc/passwd; true"),
            "ls: /new: No such file or directory\n/etc/passwd\n");
  EXPECT_EQ(fingerprint(image_tree("base")), before);
}

TEST_F(ImageContainer, EphemeralOnAnImageKeepsNothing) {
  import("base");
  auto n = name("ie");
  declare(on_image(n, "base", "ephemeral = true\nprivate_users = \"pick\""));
  ASSERT_EQ(berth({"start", n}).status, 0);
  EXPECT_TRUE(root_is_overlay(n));
  in(n, "echo x > /new");
  ASSERT_EQ(berth({"restart", n}).status, 0);
  EXPECT_EQ(in(n, "ls /new 2>&1; true"), "ls: /new: No such file or directory\n");
  EXPECT_FALSE(exists(root_ / ("var/lib/berth/containers/" + n + "/layer")));
}

// Rss and Pss (kB) of the mappings of path in pid's smaps.
std::pair<long, long> rss_pss(int pid, const std::string& path) {
  std::istringstream lines(slurp("/proc/" + std::to_string(pid) + "/smaps"));
  long rss = 0, pss = 0;
  bool inside = false;
  static const std::regex header("^[0-9a-f]+-[0-9a-f]+ .*");
  for (std::string l; std::getline(lines, l);) {
    if (std::regex_match(l, header)) {
      inside = l.size() >= path.size() && l.compare(l.size() - path.size(), path.size(), path) == 0;
      continue;
    }
    if (!inside) continue;
    if (l.starts_with("Rss:")) rss += std::stol(l.substr(4));
    if (l.starts_with("Pss:")) pss += std::stol(l.substr(4));
  }
  return {rss, pss};
}

TEST_F(ImageContainer, ContainersOnOneImageShareItsPages) {
  import("base");
  std::vector<std::string> ns = {name("is"), name("is"), name("is")};
  // The shell is PID 1 (no stub init), the process measured.
  declare(on_image(ns[0], "base", "stub_init = false") +
          on_image(ns[1], "base", "stub_init = false\nprivate_users = \"pick\"") +
          on_image(ns[2], "base", "stub_init = false\nprivate_users = \"pick\""));
  for (auto& n : ns) ASSERT_EQ(berth({"start", n}).status, 0);
  // Each shell runs the image's busybox: one page cache for the three (as
  // NixOS containers share /nix/store), where three copies would not share.
  for (auto& n : ns) {
    auto [rss, pss] = rss_pss(pid_of(n), "/bin/busybox");
    ASSERT_GT(rss, 0) << n;
    EXPECT_LE(pss * 2, rss) << n << ": rss " << rss << " kB, pss " << pss << " kB";
  }
}

TEST_F(ImageContainer, AReplacedImageRestartsItsContainersAndRemoveIsRefused) {
  import("base");
  auto n = name("ir"), other = name("ir");
  declare(on_image(n, "base", "private_users = \"pick\"") + on_image(other, "base"));
  ASSERT_EQ(berth({"start", n}).status, 0);
  in(n, "echo kept > /mine");

  auto rm = berth({"image", "remove", "base"});
  expect_one_line(rm, "image base is used by ");
  EXPECT_NE(rm.err.find(n), std::string::npos) << rm.err;
  EXPECT_NE(rm.err.find(other), std::string::npos) << rm.err;
  EXPECT_TRUE(exists(image_tree("base")));

  // Re-imported under the same name: the running container keeps its tree
  // until `apply` restarts it, and plan says why.
  import("base", "version-2");
  EXPECT_EQ(in(n, "ls /version-2 2>&1; cat /mine"),
            "ls: /version-2: No such file or directory\nkept\n");
  auto plan = berth({"plan"});
  EXPECT_NE(plan.out.find("restart " + n + ": its spec changed (image base replaced in the store)"),
            std::string::npos)
      << plan.out;
  ASSERT_EQ(berth({"apply"}).status, 0);
  EXPECT_EQ(in(n, "cat /version-2 /mine"), "version-2\nkept\n");
  EXPECT_EQ(berth({"plan"}).out.find("restart"), std::string::npos);

  // Unused, it goes, and with it the tree the container ran on before.
  ASSERT_EQ(berth({"stop", n}).status, 0);
  declare("");
  auto gone = berth({"image", "remove", "base"});
  EXPECT_EQ(gone.status, 0) << gone.err;
  EXPECT_EQ(sh("ls -A " + (root_ / "var/lib/berth/images")).out, "");
}

TEST_F(ImageContainer, BadDeclarationsSayWhatIsWrong) {
  import("base");
  auto n = name("ib");
  declare("[containers." + n + "]\nimage = \"Base_1\"\ncommand = [\"/bin/true\"]\n");
  expect_one_line(berth({"start", n}), "containers." + n + ".image: expected an image name");
  declare("[containers." + n + "]\nimage = \"nothere\"\ncommand = [\"/bin/true\"]\n");
  expect_one_line(berth({"start", n}), "no image \"nothere\"");
  declare("[containers." + n + "]\nimage = \"base\"\npath = \"/\"\ncommand = [\"/bin/true\"]\n");
  expect_one_line(berth({"start", n}), "\"path\" and \"image\" are exclusive");
  declare("[containers." + n +
          "]\nimage = \"base\"\nshare_host = true\ncommand = [\"/bin/true\"]\n");
  expect_one_line(berth({"start", n}), "\"image\" and \"share_host = true\" are exclusive");
  std::string bare = data_ / "bare";
  ::mkdir(bare.c_str(), 0755);
  std::ofstream(bare + "/file") << "x\n";
  ASSERT_EQ(run({"tar", "-C", bare, "-cf", bare + ".tar", "."}).status, 0);
  ASSERT_EQ(berth({"image", "import", "bare", bare + ".tar"}).status, 0);
  declare("[containers." + n + "]\nimage = \"bare\"\nboot = true\n");
  expect_one_line(berth({"start", n}), "image \"bare\" has no sbin/init");
  EXPECT_FALSE(exists(root_ / ("var/lib/berth/containers/" + n)));
}

TEST_F(ImageContainer, CreateDeclaresAContainerOnAnImage) {
  import("base");
  auto n = name("ic");
  auto r = berth(
      {"create", n, "--image", "base", "--private-users", "no", "--", "/bin/sh", "-c", kLoop});
  ASSERT_EQ(r.status, 0) << r.err;
  auto text = slurp(root_ / ("etc/berth/containers.d/" + n + ".toml"));
  EXPECT_NE(text.find("image = \"base\""), std::string::npos) << text;
  EXPECT_EQ(text.find("share_host"), std::string::npos) << text;
  ASSERT_EQ(berth({"start", n}).status, 0);
  EXPECT_TRUE(root_is_overlay(n));
  auto both = berth({"create", name("ic"), "--image", "base", "--path", "/"});
  EXPECT_NE(both.status, 0);
}

// ---- snapshots and clones ----

TEST_F(ImageContainer, SnapshotChangeRestoreRoundTrip) {
  import("base");
  auto n = name("sn");
  declare(on_image(n, "base", "private_users = \"pick\""));
  ASSERT_EQ(berth({"start", n}).status, 0);
  in(n, "echo one > /f; mkdir -p /srv/d; ln /f /srv/d/hard; mknod /fifo p; rm /etc/group");
  // Only of a stopped container.
  expect_one_line(berth({"snapshot", n, "first"}), "it is running; stop it first");
  ASSERT_EQ(berth({"stop", n}).status, 0);
  auto taken = berth({"snapshot", n, "first"});
  ASSERT_EQ(taken.status, 0) << taken.err;
  EXPECT_NE(taken.out.find("snapshot first of " + n), std::string::npos) << taken.out;
  expect_one_line(berth({"snapshot", n, "first"}), "already has a snapshot first");
  expect_one_line(berth({"snapshot", n, "Bad/Name"}), "bad snapshot name");

  ASSERT_EQ(berth({"start", n}).status, 0);
  in(n, "echo two > /f; echo new > /g; touch /etc/group");
  ASSERT_EQ(berth({"stop", n}).status, 0);
  auto list = nlohmann::json::parse(berth({"snapshots", n, "--json"}).out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "first");
  EXPECT_NE(list[0]["image"].get<std::string>().find("base@sha256:"), std::string::npos);

  ASSERT_EQ(berth({"restore", n, "first"}).status, 0);
  ASSERT_EQ(berth({"start", n}).status, 0);
  // As it was: the file, its hard link, the fifo, the deleted file (an
  // overlay whiteout in the layer) deleted again, the later file gone.
  EXPECT_EQ(in(n, "cat /f /srv/d/hard; stat -c '%h %F' /f /fifo; ls /g /etc/group 2>&1; true"),
            "one\none\n2 regular file\n1 fifo\nls: /g: No such file or directory\n"
            "ls: /etc/group: No such file or directory\n");
  ASSERT_EQ(berth({"stop", n}).status, 0);
  ASSERT_EQ(berth({"snapshot-remove", n, "first"}).status, 0);
  EXPECT_EQ(berth({"snapshots", n}).out, "");
  expect_one_line(berth({"restore", n, "first"}), "has no snapshot first");
}

TEST_F(ImageContainer, ACloneGetsItsOwnFilesMachineIdAndAddresses) {
  import("base");
  auto src = name("cs"), dst = name("cd");
  // Among others in one file: clone copies SRC's table only.
  declare(on_image(name("cx"), "base") +
          on_image(src, "base",
                   "private_users = \"pick\"\nprivate_network = true\nhost_address = "
                   "\"10.231.7.1\"\nlocal_address = \"10.231.7.2/24\"\n"));
  ASSERT_EQ(berth({"start", src}).status, 0);
  in(src, "echo 0123456789abcdef0123456789abcdef > /etc/machine-id; echo mine > /data");
  expect_one_line(berth({"clone", src, dst}), "is running; stop it first");
  ASSERT_EQ(berth({"stop", src}).status, 0);
  auto made = berth({"clone", src, dst});
  ASSERT_EQ(made.status, 0) << made.err;
  EXPECT_EQ(made.out, dst + "\n");
  auto text = slurp(root_ / ("etc/berth/containers.d/" + dst + ".toml"));
  EXPECT_NE(text.find("image = \"base\""), std::string::npos) << text;
  EXPECT_EQ(text.find("10.231.7."), std::string::npos) << text;  // new addresses
  EXPECT_NE(text.find("local_address = "), std::string::npos) << text;

  ASSERT_EQ(berth({"start", dst}).status, 0);
  ASSERT_EQ(berth({"start", src}).status, 0);
  EXPECT_EQ(in(dst, "cat /data"), "mine\n");
  auto id = in(dst, "cat /etc/machine-id");
  EXPECT_EQ(id.size(), 33u) << id;
  EXPECT_NE(id, "0123456789abcdef0123456789abcdef\n");
  // Their own files from now on.
  in(dst, "echo theirs > /data");
  EXPECT_EQ(in(src, "cat /data /etc/machine-id"), "mine\n0123456789abcdef0123456789abcdef\n");
  ASSERT_EQ(berth({"stop", dst}).status, 0);
  expect_one_line(berth({"clone", src, dst}), "is running; stop it first");
  ASSERT_EQ(berth({"stop", src}).status, 0);
  expect_one_line(berth({"clone", src, dst}), "already declared");
  ASSERT_EQ(berth({"destroy", dst}).status, 0);
  EXPECT_FALSE(exists(root_ / ("var/lib/berth/containers/" + dst)));
}

TEST_F(ImageContainer, ACloneOfAPathContainerCopiesItsTree) {
  std::string tree = copy_tree(data_);
  auto src = name("ps"), dst = name("pd");
  declare(busybox_decl(src, kLoop, "", tree));
  ASSERT_EQ(berth({"start", src}).status, 0);
  in(src, "echo mine > /data");
  ASSERT_EQ(berth({"stop", src}).status, 0);
  ASSERT_EQ(berth({"snapshot", src, "s1"}).status, 0);
  auto made = berth({"clone", src, dst});
  ASSERT_EQ(made.status, 0) << made.err;
  std::string copy = root_ / ("var/lib/berth/containers/" + dst + "/tree");
  EXPECT_NE(slurp(root_ / ("etc/berth/containers.d/" + dst + ".toml")).find(copy),
            std::string::npos);
  EXPECT_EQ(fingerprint(copy), fingerprint(tree));
  ASSERT_EQ(berth({"start", dst}).status, 0);
  in(dst, "echo theirs > /data");
  EXPECT_EQ(slurp(tree + "/data"), "mine\n");
  ASSERT_EQ(berth({"stop", dst}).status, 0);
  // The path tree's snapshot restores it in place.
  std::ofstream(tree + "/data") << "changed\n";
  ASSERT_EQ(berth({"restore", src, "s1"}).status, 0);
  EXPECT_EQ(slurp(tree + "/data"), "mine\n");
  EXPECT_FALSE(exists(tree + ".berth-restore"));
}

// ---- export and import ----

TEST_F(ImageContainer, ExportAndImportMoveAContainerToAnotherRoot) {
  import("base");
  auto n = name("mv"), p = name("mp");
  std::string tree = copy_tree(data_);
  declare(on_image(n, "base", "private_users = \"pick\"") + busybox_decl(p, kLoop, "", tree));
  ASSERT_EQ(berth({"start", n}).status, 0);
  ASSERT_EQ(berth({"start", p}).status, 0);
  in(n, "echo moved > /data; rm /etc/group; mkdir -p /srv/x; chown 7:8 /srv/x");
  in(p, "echo path > /data");
  expect_one_line(berth({"export", n, data_ / "n.tar.zst"}), "it is running; stop it first");
  ASSERT_EQ(berth({"stop", n}).status, 0);
  ASSERT_EQ(berth({"stop", p}).status, 0);
  auto ex = berth({"export", n, data_ / "n.tar.zst"});
  ASSERT_EQ(ex.status, 0) << ex.err;

  // Another berth root: the same container, its image added with the same SHA-256.
  TempDir other("berth-test-imgc2");
  ::chmod(other.path().c_str(), 0755);
  auto there = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {test::berth(), "--root", other.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  };
  struct Cleanup {
    std::function<void()> f;
    ~Cleanup() { f(); }
  } cleanup{[&] {
    for (auto& c : {n, p, n + "-2"}) there({"terminate", c});
  }};
  auto im = there({"import", data_ / "n.tar.zst"});
  ASSERT_EQ(im.status, 0) << im.err;
  EXPECT_EQ(im.out, n + "\n");
  EXPECT_NE(im.err.find("added image base"), std::string::npos) << im.err;
  auto here_img = nlohmann::json::parse(berth({"image", "list", "--json"}).out);
  auto there_img = nlohmann::json::parse(there({"image", "list", "--json"}).out);
  ASSERT_EQ(there_img.size(), 1u);
  EXPECT_EQ(there_img[0]["sha256"], here_img[0]["sha256"]);
  ASSERT_EQ(there({"start", n}).status, 0);
  auto r = there(
      {"run", n, "--", "/bin/sh", "-c", "cat /data; ls /etc/group 2>&1; stat -c %u:%g /srv/x"});
  EXPECT_EQ(r.out, "moved\nls: /etc/group: No such file or directory\n7:8\n") << r.err;
  ASSERT_EQ(there({"stop", n}).status, 0);

  // Through a pipe, under another name: the image already there is used.
  auto piped = sh(berth_argv({"export", n, "-"})[0] + " --root " + root_.path() + " export " + n +
                  " - | " + test::berth() + " --root " + other.path() + " import - " + n + "-2");
  ASSERT_EQ(piped.status, 0) << piped.err;
  EXPECT_EQ(piped.err.find("added image"), std::string::npos) << piped.err;
  EXPECT_EQ(nlohmann::json::parse(there({"image", "list", "--json"}).out).size(), 1u);

  // A path container: its tree comes along, under the new root's state.
  ASSERT_EQ(berth({"export", p, data_ / "p.tar"}).status, 0);
  ASSERT_EQ(there({"import", data_ / "p.tar"}).status, 0);
  std::string moved = other / ("var/lib/berth/containers/" + p + "/tree");
  EXPECT_EQ(slurp(moved + "/data"), "path\n");
  EXPECT_NE(slurp(other / ("etc/berth/containers.d/" + p + ".toml")).find(moved),
            std::string::npos);
  ASSERT_EQ(there({"start", p}).status, 0);
  EXPECT_EQ(there({"run", p, "--", "/bin/cat", "/data"}).out, "path\n");
}

TEST_F(ImageContainer, ImportRefusesWhatIsNotAnExportAndLeavesNothing) {
  TempDir other("berth-test-imgc3");
  auto there = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {test::berth(), "--root", other.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  };
  // An image tarball, not an export.
  std::string plain = data_ / "plain.tar";
  ASSERT_EQ(run({"tar", "-C", test_rootfs(), "-cf", plain, "."}).status, 0);
  // What a killed import left goes with the next one.
  ::mkdir((other / "var").c_str(), 0755);
  ::mkdir((other / "var/lib").c_str(), 0755);
  ::mkdir((other / "var/lib/berth").c_str(), 0755);
  ::mkdir((other / "var/lib/berth/.import-dead").c_str(), 0700);
  expect_one_line(there({"import", plain}), "not a berth export");
  EXPECT_FALSE(exists(other / "var/lib/berth/.import-dead"));
  // A hostile one: an export whose tree writes through a symlink.
  std::string evil = data_ / "evil";
  ::mkdir(evil.c_str(), 0755);
  std::ofstream(evil + "/berth-export.json")
      << R"({"format": "berth-container/1", "name": "evil", "kind": "path"})";
  std::ofstream(evil + "/declaration.toml") << "[containers.evil]\npath = \"/x\"\n";
  ASSERT_EQ(::symlink("/etc", (evil + "/tree").c_str()), 0);
  std::string outside = data_ / "outside";
  ::mkdir(outside.c_str(), 0755);
  std::ofstream(outside + "/passwd") << "x\n";
  ASSERT_EQ(run({"tar", "-C", evil, "-cf", evil + ".tar", ".", "-C", outside, "./passwd",
                 "--transform", "s,^\\./passwd,./tree/passwd,"})
                .status,
            0);
  expect_one_line(there({"import", evil + ".tar"}), "symlink");
  // Nothing but locks: no image, no state, no declaration, no temporary.
  EXPECT_EQ(sh("ls -A " + (other / "var/lib/berth") + " " + (other / "etc/berth/containers.d") +
               " 2>/dev/null | grep -v -e '^\\.' -e '^$' -e ':$'")
                .out,
            "");
}

}  // namespace
}  // namespace berth::test
