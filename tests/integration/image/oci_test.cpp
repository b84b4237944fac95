// `berth image import-oci`: an OCI image layout written here (two layers,
// one gzip'd, the second with a whiteout and an opaque directory, a config
// with Env, Entrypoint, Cmd, WorkingDir and User), as a directory and as an
// oci-archive tar; the tree it gives, and a command container on it that
// runs what the config says. Refusals: a wrong tag, a layer whose content
// does not match its digest; nothing left. With podman on the host: an
// oci-archive podman saves of an image it committed with a deleted file.
#include <unistd.h>

#include <fstream>
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/image/image_fixture.h"

namespace berth::test {
namespace {

// Writes an OCI layout at out from the busybox tree at rootfs.
const char* kMakeLayout = R"(
import gzip, hashlib, io, json, os, sys, tarfile
out, rootfs = sys.argv[1], sys.argv[2]
blobs = os.path.join(out, 'blobs', 'sha256')
os.makedirs(blobs)
def put(data):
    h = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, h), 'wb').write(data)
    return 'sha256:' + h, len(data)
def layer(add):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as t:
        add(t)
    return buf.getvalue()
def file(t, name, text, mode=0o644):
    i = tarfile.TarInfo(name); data = text.encode(); i.size = len(data); i.mode = mode
    t.addfile(i, io.BytesIO(data))
def dir(t, name):
    i = tarfile.TarInfo(name); i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
def one(t):
    t.add(rootfs, arcname='.', filter=lambda i: None if i.name.endswith('.berth-rootfs-complete') else i)
    file(t, 'etc/old-file', 'old\n')
    dir(t, 'opt'); dir(t, 'opt/dir'); file(t, 'opt/dir/a', 'a\n'); file(t, 'opt/dir/b', 'b\n')
def two(t):
    file(t, 'etc/.wh.old-file', '')
    dir(t, 'opt/dir'); file(t, 'opt/dir/.wh..wh..opq', ''); file(t, 'opt/dir/c', 'c\n')
    dir(t, 'app'); file(t, 'app/run.sh', 'echo run\n', 0o755)
raw1, raw2 = layer(one), layer(two)
d1, s1 = put(gzip.compress(raw1))
d2, s2 = put(raw2)
config = {'architecture': 'amd64', 'os': 'linux',
          'config': {'Env': ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'GREETING=hello'],
                     'Entrypoint': ['/bin/sh', '-c'],
                     'Cmd': ['echo $GREETING > /tmp/out; pwd >> /tmp/out; id -u >> /tmp/out; '
                             'id -g >> /tmp/out; exec sleep 1000'],
                     'WorkingDir': '/app', 'User': 'daemon:users'},
          'rootfs': {'type': 'layers', 'diff_ids': ['sha256:' + hashlib.sha256(raw1).hexdigest(),
                                                    'sha256:' + hashlib.sha256(raw2).hexdigest()]}}
dc, sc = put(json.dumps(config).encode())
manifest = {'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
            'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'digest': dc, 'size': sc},
            'layers': [{'mediaType': 'application/vnd.oci.image.layer.v1.tar+gzip', 'digest': d1, 'size': s1},
                       {'mediaType': 'application/vnd.oci.image.layer.v1.tar', 'digest': d2, 'size': s2}]}
dm, sm = put(json.dumps(manifest).encode())
json.dump({'schemaVersion': 2, 'manifests': [{'mediaType': 'application/vnd.oci.image.manifest.v1+json',
           'digest': dm, 'size': sm,
           'annotations': {'org.opencontainers.image.ref.name': 'latest'}}]},
          open(os.path.join(out, 'index.json'), 'w'))
json.dump({'imageLayoutVersion': '1.0.0'}, open(os.path.join(out, 'oci-layout'), 'w'))
print(d2)
)";

class OciImport : public ImageTest {
 protected:
  // The layout's directory; second_layer gets the digest of its second layer.
  std::string layout(std::string* second_layer = nullptr) {
    std::string dir = work_ / "layout";
    if (!fs::exists(dir)) {
      auto r = run({"python3", "-c", kMakeLayout, dir, test_rootfs()});
      EXPECT_EQ(r.status, 0) << r.err;
      second_ = r.out.substr(0, r.out.find('\n'));
    }
    if (second_layer) *second_layer = second_;
    return dir;
  }
  std::string second_;
};

TEST_F(OciImport, LayersWhiteoutsAndConfigMakeTheImage) {
  auto r = berth({"image", "import-oci", "app", layout()});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string t = rootfs("app");
  EXPECT_FALSE(fs::exists(t + "/etc/old-file"));  // whited out
  EXPECT_TRUE(fs::exists(t + "/etc/passwd"));
  std::vector<std::string> opt;
  for (auto& e : fs::directory_iterator(t + "/opt/dir")) opt.push_back(e.path().filename());
  EXPECT_EQ(opt, std::vector<std::string>{"c"});  // opaque: a and b went
  EXPECT_EQ(slurp_file(t + "/app/run.sh"), "echo run\n");
  EXPECT_FALSE(fs::exists(t + "/etc/.wh.old-file"));
  auto list = nlohmann::json::parse(berth({"image", "list", "--json"}).out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["format"], "oci");

  // The same as an oci-archive, by its tag.
  std::string archive = work_ / "app.tar";
  ASSERT_EQ(run({"tar", "-C", layout(), "-cf", archive, "."}).status, 0);
  auto a = berth({"image", "import-oci", "app2", archive + ":latest"});
  ASSERT_EQ(a.status, 0) << a.err;
  // The same tree, but for the times of the directories the second layer
  // changed (".", etc, opt/dir: the second in which each import applied it).
  auto without_dir_times = [](std::string l) {
    static const std::regex dir_time(R"((^|\n)(\S+ 40[0-7]+ \S+) [0-9]+)");
    return std::regex_replace(l, dir_time, "$1$2");
  };
  EXPECT_EQ(without_dir_times(listing(rootfs("app2"))), without_dir_times(listing(t)));
  EXPECT_EQ(store_entries(), (std::vector<std::string>{"app", "app2"}));

  // A command container on it runs the config's command, environment,
  // working directory and user.
  ::mkdir((root_ / "etc").c_str(), 0755);
  ::mkdir((root_ / "etc/berth").c_str(), 0755);
  std::string n = unique_id("oc");
  std::ofstream(root_ / "etc/berth/containers.toml")
      << "[containers." << n << "]\nimage = \"app\"\nprivate_users = \"pick\"\n";
  struct Stop {
    std::vector<std::string> argv;
    ~Stop() { run(argv); }
  } stop{{test::berth(), "--root", root_.path(), "terminate", n}};
  auto started = berth({"start", n});
  ASSERT_EQ(started.status, 0) << started.err;
  std::string out;
  for (int i = 0; i < 100 && out.size() < 12; i++) {
    out = berth({"run", n, "--", "/bin/cat", "/tmp/out"}).out;
    if (out.size() < 12) ::usleep(50'000);
  }
  EXPECT_EQ(out, "hello\n/app\n1\n100\n");
  EXPECT_EQ(berth({"run", n, "--", "/bin/sh", "-c", "echo $GREETING"}).out, "hello\n");
}

TEST_F(OciImport, AWrongTagOrADamagedLayerIsRefusedLeavingNothing) {
  std::string second;
  std::string dir = layout(&second);
  auto tag = berth({"image", "import-oci", "app", dir + ":v2"});
  EXPECT_EQ(tag.status, 1);
  EXPECT_NE(tag.err.find("no manifest tagged v2 (the layout has: latest)"), std::string::npos)
      << tag.err;
  // The last byte of the second layer changed (in the tar's padding, so it
  // still reads as a tar): its digest no longer holds.
  std::string blob = dir + "/blobs/sha256/" + second.substr(7);
  {
    std::fstream f(blob, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('X');
  }
  auto bad = berth({"image", "import-oci", "app", dir});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("does not match its digest"), std::string::npos) << bad.err;
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  for (auto& e : store_entries()) EXPECT_TRUE(e.starts_with(".")) << e;  // locks only
  EXPECT_FALSE(fs::exists(images() + "/app"));
}

// What podman itself writes: an image imported from the busybox tree, a file
// deleted in a container of it and committed (a whiteout in a second layer),
// saved as an oci-archive. podman runs on stores of the test's own.
TEST_F(OciImport, ImportsWhatPodmanSaves) {
  if (run({"sh", "-c", "command -v podman"}).status != 0) GTEST_SKIP() << "podman is not installed";
  std::string store = work_ / "podman";
  std::vector<std::string> podman = {
      "podman",       "--root",           store + "/root", "--runroot",
      store + "/run", "--storage-driver", "vfs",           "--cgroup-manager",
      "cgroupfs",     "--events-backend", "none",          "--tmpdir",
      store + "/tmp"};
  auto p = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = podman;
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, {.timeout_sec = 120});
  };
  std::string tar = work_ / "bb.tar";
  ASSERT_EQ(run({"tar", "-C", test_rootfs(), "-cf", tar, "."}).status, 0);
  auto imp = p({"import", tar, "localhost/bb:1"});
  ASSERT_EQ(imp.status, 0) << imp.err;
  auto created = p({"create", "--name", "edit", "localhost/bb:1", "/bin/true"});
  ASSERT_EQ(created.status, 0) << created.err;
  auto mnt = p({"mount", "edit"});
  ASSERT_EQ(mnt.status, 0) << mnt.err;
  std::string merged = mnt.out.substr(0, mnt.out.find('\n'));
  ASSERT_EQ(::unlink((merged + "/etc/group").c_str()), 0);
  std::ofstream(merged + "/etc/added") << "added\n";
  ASSERT_EQ(p({"umount", "edit"}).status, 0);
  auto commit = p({"commit", "edit", "localhost/bb:2"});
  ASSERT_EQ(commit.status, 0) << commit.err;
  std::string archive = work_ / "bb-oci.tar";
  auto saved = p({"save", "--format", "oci-archive", "-o", archive, "localhost/bb:2"});
  ASSERT_EQ(saved.status, 0) << saved.err;
  p({"rm", "-f", "edit"});
  p({"rmi", "-a", "-f"});

  auto r = berth({"image", "import-oci", "bb", archive});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(fs::exists(rootfs("bb") + "/etc/group"));
  EXPECT_EQ(slurp_file(rootfs("bb") + "/etc/added"), "added\n");
  EXPECT_TRUE(fs::exists(rootfs("bb") + "/bin/busybox"));
}

}  // namespace
}  // namespace berth::test
