// berth image import of an http:// URL, from a python3 http.server the test
// runs on 127.0.0.1: verified by a SHA256SUMS beside it or --checksum, and
// refused (one line, nothing left) when neither is there or they disagree.
#include "image_fixture.h"

namespace berth::test {
namespace {

class ImageUrl : public ImageTest {
 protected:
  void SetUp() override {
    ImageTest::SetUp();
    if (IsSkipped()) return;
    fs::create_directories(served_ / "with");
    fs::create_directories(served_ / "without");
    std::string a = archive("tar.zst");
    fs::copy_file(a, served_ / "with/rootfs.tar.zst");
    fs::copy_file(a, served_ / "without/rootfs.tar.zst");
    sum_ = sha256_of(a);
    std::ofstream(served_ / "with/SHA256SUMS") << std::string(64, 'a') << "  other.tar\n"
                                               << sum_ << " *rootfs.tar.zst\n";
    server_ = std::make_unique<HttpServer>(served_.path());
    ASSERT_TRUE(server_->up()) << "python3 -m http.server did not start";
  }
  void expect_refused(const RunResult& r, const std::string& what) {
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
    EXPECT_TRUE(store_entries().empty());
  }
  TempDir served_{"berth-image-served"};
  std::string sum_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(ImageUrl, VerifiedBySha256SumsBesideIt) {
  std::string url = server_->url("with/rootfs.tar.zst");
  auto r = berth({"image", "import", "web", url, "--keep-setid"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("download: 100%"), std::string::npos) << r.out;
  EXPECT_EQ(listing(rootfs("web")), listing(source()));
  auto meta = nlohmann::json::parse(slurp_file(images() + "/web/metadata.json"));
  EXPECT_EQ(meta["origin"], url);
  EXPECT_EQ(meta["sha256"], sum_);
  EXPECT_EQ(meta["format"], "tar.zst");
}

TEST_F(ImageUrl, WithoutSha256SumsNeedsChecksum) {
  std::string url = server_->url("without/rootfs.tar.zst");
  expect_refused(berth({"image", "import", "web", url}), "SHA256SUMS: not found");
  auto r = berth({"image", "import", "web", url, "--checksum", sum_});
  ASSERT_EQ(r.status, 0) << r.err;
  r = berth({"image", "import", "web2", url, "--no-verify"});
  ASSERT_EQ(r.status, 0) << r.err;
}

TEST_F(ImageUrl, MismatchesAndMissingFilesRefused) {
  expect_refused(berth({"image", "import", "web", server_->url("with/rootfs.tar.zst"), "--checksum",
                        std::string(64, 'b')}),
                 "checksum mismatch");
  std::ofstream(served_ / "with/SHA256SUMS") << std::string(64, 'c') << "  rootfs.tar.zst\n";
  expect_refused(berth({"image", "import", "web", server_->url("with/rootfs.tar.zst")}),
                 "checksum mismatch");
  expect_refused(berth({"image", "import", "web", server_->url("with/nothing.tar")}),
                 "SHA256SUMS has no line for nothing.tar");
  expect_refused(berth({"image", "import", "web", server_->url("with/nothing.tar"), "--no-verify"}),
                 "404");
}

}  // namespace
}  // namespace berth::test
