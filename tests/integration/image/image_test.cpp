// berth image import/list/remove/export on files: each format gives the
// tree tar made it from, checksums, names, the store's temporaries, and the
// export -> import round trip.
#include <sys/file.h>

#include <map>

#include <nlohmann/json.hpp>

#include "image_fixture.h"

namespace berth::test {
namespace {

int lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

void expect_one_line(const RunResult& r, const std::string& what) {
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
}

class ImageFormats : public ImageTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(ImageFormats, ImportGivesTheTreeTarMade) {
  std::string fmt = GetParam();
  std::string a = archive(fmt);
  auto r = berth({"image", "import", "img", a, "--keep-setid"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("imported image img: " + fmt + ","), std::string::npos) << r.out;
  // The fifo, the hard link, the owners, modes, times, sparse file, xattr.
  EXPECT_EQ(listing(rootfs("img")), listing(source()));
  struct stat st1, st2;
  ASSERT_EQ(::stat((rootfs("img") + "/etc/motd").c_str(), &st1), 0);
  ASSERT_EQ(::stat((rootfs("img") + "/etc/motd.link").c_str(), &st2), 0);
  EXPECT_EQ(st1.st_ino, st2.st_ino) << "the hard link is one file";
  auto meta = nlohmann::json::parse(slurp_file(images() + "/img/metadata.json"));
  EXPECT_EQ(meta["format"], fmt);
  EXPECT_EQ(meta["sha256"], sha256_of(a));
  EXPECT_EQ(meta["size"], fs::file_size(a));
  EXPECT_EQ(meta["origin"], a);
  EXPECT_EQ(meta["name"], "img");
  EXPECT_EQ(store_entries(), std::vector<std::string>{"img"});
}

INSTANTIATE_TEST_SUITE_P(Image, ImageFormats,
                         ::testing::Values("tar", "tar.gz", "tar.xz", "tar.zst"),
                         [](const auto& i) {
                           std::string s = i.param;
                           std::replace(s.begin(), s.end(), '.', '_');
                           return s;
                         });

TEST_F(ImageTest, SetIdBitsDroppedUnlessKept) {
  auto r = berth({"image", "import", "img", archive("tar.gz")});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("skipped set-uid/set-gid bits of 1 file(s)"), std::string::npos) << r.err;
  struct stat st;
  ASSERT_EQ(::stat((rootfs("img") + "/bin/su-like").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(berth({"image", "import", "kept", archive("tar"), "--keep-setid"}).status, 0);
  ASSERT_EQ(::stat((rootfs("kept") + "/bin/su-like").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
}

TEST_F(ImageTest, Checksums) {
  std::string a = archive("tar.xz");
  expect_one_line(berth({"image", "import", "img", a, "--checksum", "abc"}), "expected a SHA-256");
  EXPECT_FALSE(fs::exists(images())) << "bad input changed nothing";
  expect_one_line(berth({"image", "import", "img", a, "--checksum", std::string(64, '0')}),
                  "checksum mismatch");
  EXPECT_TRUE(store_entries().empty());
  std::string upper = sha256_of(a);
  for (auto& c : upper) c = static_cast<char>(std::toupper(c));
  auto r = berth({"image", "import", "img", a, "--checksum", upper});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(sha256_of(a)), std::string::npos);
}

TEST_F(ImageTest, BadArgumentsChangeNothing) {
  std::string a = archive("tar");
  expect_one_line(berth({"image", "import", "Bad_Name", a}), "invalid image name");
  expect_one_line(berth({"image", "import", "img", work_ / "missing.tar"}),
                  "No such file or directory");
  expect_one_line(berth({"image", "import", "img", "ftp://127.0.0.1/x.tar", "--no-verify"}),
                  "only http:// and https://");
  expect_one_line(berth({"image", "import", "img", a, "--max-size", "lots"}), "--max-size");
  expect_one_line(berth({"image", "remove", "nosuch"}), "no image nosuch");
  expect_one_line(berth({"image", "export", "nosuch", work_ / "x.tar"}), "no image nosuch");
  EXPECT_FALSE(fs::exists(images()));
  std::ofstream(work_ / "junk.tar") << "this is not an archive at all\n";
  expect_one_line(berth({"image", "import", "img", work_ / "junk.tar"}), "not a tar archive");
  expect_one_line(berth({"image", "import", "img", work_.path()}), "a directory");
  EXPECT_TRUE(store_entries().empty());
}

TEST_F(ImageTest, ExistingImageNeedsForce) {
  ASSERT_EQ(berth({"image", "import", "img", archive("tar")}).status, 0);
  expect_one_line(berth({"image", "import", "img", archive("tar.gz")}), "exists (--force");
  auto r = berth({"image", "import", "img", archive("tar.gz"), "--force"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("replaced image img: tar.gz"), std::string::npos) << r.out;
  EXPECT_EQ(store_entries(), std::vector<std::string>{"img"});
}

// An import killed half-way leaves its temporary; the next one removes it,
// but not that of an import still running (it holds a lock on it).
TEST_F(ImageTest, TemporariesOfDeadImportsAreRemoved) {
  fs::create_directories(images() + "/.tmp-dead-abc123/rootfs/etc");
  fs::create_directories(images() + "/.tmp-live-def456/rootfs");
  int fd = ::open((images() + "/.tmp-live-def456").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  ASSERT_EQ(berth({"image", "import", "img", archive("tar")}).status, 0);
  EXPECT_EQ(store_entries(), (std::vector<std::string>{".tmp-live-def456", "img"}));
  ::close(fd);
  ASSERT_EQ(berth({"image", "import", "img2", archive("tar")}).status, 0);
  EXPECT_EQ(store_entries(), (std::vector<std::string>{"img", "img2"}));
}

// ^C (or SIGTERM) stops an import, which removes what it made; a SIGKILL
// leaves its temporary, which the next import removes. A 1 GiB file of
// zeros (a small archive) keeps the import busy long enough.
TEST_F(ImageTest, InterruptedImportLeavesNothing) {
  fs::create_directories(work_ / "big");
  ASSERT_EQ(run({"truncate", "-s", "1G", work_ / "big/zeros"}).status, 0);
  std::string a = work_ / "big.tar.zst";
  ASSERT_EQ(sh("tar --zstd -C " + work_ / "big" + " -cf " + a + " .").status, 0);
  std::string cmd = test::berth() + " --root " + root_.path() + " image import big " + a;
  // Signalled once it is extracting (its temporary is there), not after a
  // fixed pause: a slow start would meet the signal before its handler.
  std::string started = " & pid=$!; for i in $(seq 200); do ls -a " + images() +
                        " 2>/dev/null | grep -q '^.tmp-big-' && break; sleep 0.02; done; ";
  for (const char* sig : {"INT", "TERM"}) {
    auto r = sh(cmd + started + "kill -" + sig + " $pid; wait $pid");
    EXPECT_EQ(r.status, 1) << sig << ": " << r.err;
    EXPECT_NE(r.err.find("berth: image import big: interrupted"), std::string::npos) << r.err;
    EXPECT_TRUE(store_entries().empty()) << sig;
  }
  auto r = sh(cmd + started + "kill -KILL $pid; wait $pid");
  EXPECT_EQ(r.status, 137);
  auto left = store_entries();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].rfind(".tmp-big-", 0), 0u) << left[0];
  ASSERT_EQ(berth({"image", "import", "small", archive("tar")}).status, 0);
  EXPECT_EQ(store_entries(), std::vector<std::string>{"small"});
}

TEST_F(ImageTest, ListRemoveExportRoundTrip) {
  auto r = berth({"image", "list"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "");
  ASSERT_EQ(berth({"image", "import", "one", archive("tar.gz"), "--keep-setid"}).status, 0);
  const std::map<std::string, std::string> names = {
      {"tar", "two-tar"}, {"tar.gz", "two-gz"}, {"tar.xz", "two-xz"}, {"tar.zst", "two-zst"}};
  for (auto& [fmt, name] : names) {
    std::string out = work_ / ("exported." + fmt);
    r = berth({"image", "export", "one", out});
    ASSERT_EQ(r.status, 0) << r.err;
    r = berth({"image", "import", name, out, "--keep-setid"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find(": " + fmt + ","), std::string::npos) << r.out;
    EXPECT_EQ(listing(rootfs(name)), listing(rootfs("one"))) << fmt;
  }
  expect_one_line(berth({"image", "export", "one", work_ / "x.zip"}), "expected a name ending");
  EXPECT_FALSE(fs::exists(work_ / "x.zip"));
  r = berth({"image", "list", "--json"});
  ASSERT_EQ(r.status, 0);
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 5u);
  EXPECT_EQ(j[0]["name"], "one");
  EXPECT_EQ(j[0]["format"], "tar.gz");
  r = berth({"image", "list"});
  EXPECT_NE(r.out.find("NAME"), std::string::npos);
  EXPECT_EQ(lines(r.out), 6) << r.out;
  r = berth({"image", "remove", "one"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(fs::exists(images() + "/one"));
  j = nlohmann::json::parse(berth({"image", "list", "--json"}).out);
  EXPECT_EQ(j.size(), 4u);
  EXPECT_EQ(store_entries(), (std::vector<std::string>{"two-gz", "two-tar", "two-xz", "two-zst"}));
}

}  // namespace
}  // namespace berth::test
