// What `berth image build` reads from the host and keeps: the apt sources a
// recipe without a mirror builds from, and the recipe's hash.
#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "base/files.h"
#include "decl/decl.h"
#include "image/image.h"
#include "image/internal.h"
#include "support/testenv.h"

namespace berth::image {
namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(AptSources, OneLineAndDeb822EntriesOfTheSuite) {
  test::TempDir apt;
  ::mkdir((apt / "sources.list.d").c_str(), 0755);
  write(apt / "sources.list",
        "# the main archive\n"
        "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://a.example/debian bookworm "
        "main contrib\n"
        "deb-src http://a.example/debian bookworm main\n"
        "deb http://a.example/debian trixie main\n"
        "deb http://a.example/debian bookworm-updates main # comment\n"
        "deb http://a.example/debian bookworm main contrib\n");
  write(apt / "sources.list.d/sec.sources",
        "Types: deb deb-src\n"
        "URIs: http://s.example/debian-security\n"
        "Suites: bookworm-security\n"
        "  trixie-security\n"
        "Components: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        "\n"
        "# disabled\n"
        "Types: deb\n"
        "URIs: http://off.example/debian\n"
        "Suites: bookworm\n"
        "Components: main\n"
        "Enabled: no\n"
        "\n"
        "Types: deb-src\n"
        "URIs: http://src.example/debian\n"
        "Suites: bookworm\n"
        "Components: main\n");
  write(apt / "sources.list.d/bookwormish.list", "deb http://b.example/x bookworms main\n");
  EXPECT_EQ(
      apt_sources_for(apt.path(), "bookworm"),
      (std::vector<std::string>{"deb http://a.example/debian bookworm main contrib",
                                "deb http://a.example/debian bookworm-updates main",
                                "deb http://s.example/debian-security bookworm-security main"}));
  EXPECT_EQ(
      apt_sources_for(apt.path(), "trixie"),
      (std::vector<std::string>{"deb http://a.example/debian trixie main",
                                "deb http://s.example/debian-security trixie-security main"}));
  EXPECT_TRUE(apt_sources_for(apt.path(), "sid").empty());
  EXPECT_TRUE(apt_sources_for(apt / "missing", "bookworm").empty());
}

TEST(RecipeHash, IsTheSha256OfTheRecipeText) {
  decl::ImageRecipe r;
  r.name = "deb";
  r.suite = "bookworm";
  auto h = recipe_hash(r);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->size(), 64u);
  auto sha = Sha256::make();
  ASSERT_TRUE(sha);
  auto text = decl::recipe_text(r);
  sha->update(text.data(), text.size());
  EXPECT_EQ(*h, sha->hex());
  r.packages = {"dbus"};
  EXPECT_NE(*recipe_hash(r), *h);
}

// A recipe's image: missing, then built from it (metadata format "build"
// and its hash), stale once the recipe changes; an imported image of that
// name is neither.
TEST(BuildState, FollowsTheMetadata) {
  test::TempDir root;
  auto paths = decl::Paths::under(root.path());
  decl::ImageRecipe r;
  r.name = "deb";
  r.suite = "bookworm";
  EXPECT_EQ(*build_state(paths, r), BuildState::Missing);
  ASSERT_TRUE(mkdir_p(image_rootfs(paths, "deb")));
  Metadata m{"deb", "built", *recipe_hash(r), 1, "2026-12-07T00:00:00Z", "build", 1, 0};
  write(image_dir(paths, "deb") + "/metadata.json", to_json(m));
  EXPECT_EQ(*build_state(paths, r), BuildState::UpToDate);
  r.run = {"true"};
  EXPECT_EQ(*build_state(paths, r), BuildState::Stale);
  m.format = "tar";
  write(image_dir(paths, "deb") + "/metadata.json", to_json(m));
  EXPECT_EQ(*build_state(paths, r), BuildState::Imported);
  BuildOptions o;
  auto b = build(paths, r, o);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message,
            "image deb exists and was not built from [images.deb] (--force replaces it)");
}

}  // namespace
}  // namespace berth::image
