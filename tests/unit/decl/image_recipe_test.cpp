// [images.NAME]: the recipe as parsed from TOML and JSON, what its hash
// covers, and how a container on a declared image is validated.
#include <functional>

#include <gtest/gtest.h>

#include "decl/decl.h"
#include "support/testenv.h"

namespace berth::decl {
namespace {

constexpr const char* kRecipe = R"([images.deb]
suite = "bookworm"
packages = ["systemd-sysv", "dbus", "systemd"]
run = ["echo one > /etc/one", "systemctl mask systemd-firstboot.service"]
mirror = "http://deb.example/debian"

[images.deb.files]
"/etc/motd" = "hello\n"
"/usr/local/bin/hi" = "#!/bin/sh\necho hi\n"

[containers.guest]
image = "deb"
boot = true
)";

LoadResult load(const std::string& file, const std::string& text, const std::string& images = "") {
  LoadOptions o;
  o.check_host = !images.empty();
  o.images_dir = images;
  return load_documents({{file, text}}, o);
}

TEST(ImageRecipe, ParsedWithDefaults) {
  auto r = load("c.toml", kRecipe);
  ASSERT_TRUE(r.ok()) << r.error_text();
  ASSERT_EQ(r.decls.images.size(), 1u);
  auto& i = r.decls.images.at("deb");
  EXPECT_EQ(i.name, "deb");
  EXPECT_EQ(i.file, "c.toml");
  EXPECT_EQ(i.line, 1);
  EXPECT_EQ(i.line_of("run"), 4);
  EXPECT_EQ(i.distro, "debian");
  EXPECT_EQ(i.variant, "minbase");
  EXPECT_EQ(i.suite, "bookworm");
  EXPECT_EQ(i.packages, (std::vector<std::string>{"systemd-sysv", "dbus", "systemd"}));
  EXPECT_EQ(i.run.size(), 2u);
  EXPECT_EQ(i.files.at("/etc/motd"), "hello\n");
  EXPECT_EQ(i.mirror, "http://deb.example/debian");
}

TEST(ImageRecipe, JsonGivesTheSameRecipe) {
  auto t = load("c.toml", kRecipe);
  auto j = load("c.json", R"({"images": {"deb": {
    "suite": "bookworm", "packages": ["systemd-sysv", "dbus", "systemd"],
    "run": ["echo one > /etc/one", "systemctl mask systemd-firstboot.service"],
    "mirror": "http://deb.example/debian",
    "files": {"/etc/motd": "hello\n", "/usr/local/bin/hi": "#!/bin/sh\necho hi\n"}}},
  "containers": {"guest": {"image": "deb", "boot": true}}})");
  ASSERT_TRUE(t.ok() && j.ok()) << t.error_text() << j.error_text();
  EXPECT_EQ(recipe_text(t.decls.images.at("deb")), recipe_text(j.decls.images.at("deb")));
}

// The hash covers what makes the image, not where it was declared or in
// which order its packages were listed.
TEST(ImageRecipe, TextCoversWhatMakesTheImage) {
  auto r = load("c.toml", kRecipe);
  ASSERT_TRUE(r.ok()) << r.error_text();
  const ImageRecipe base = r.decls.images.at("deb");
  ImageRecipe same = base;
  same.file = "other.toml";
  same.line = 40;
  same.packages = {"systemd", "dbus", "systemd-sysv", "dbus"};
  EXPECT_EQ(recipe_text(same), recipe_text(base));
  std::vector<std::function<void(ImageRecipe&)>> changes = {
      [](ImageRecipe& i) { i.suite = "trixie"; },
      [](ImageRecipe& i) { i.variant = "apt"; },
      [](ImageRecipe& i) { i.packages.push_back("iproute2"); },
      [](ImageRecipe& i) { i.files["/etc/motd"] = "hello!\n"; },
      [](ImageRecipe& i) { i.files["/etc/issue"] = ""; },
      [](ImageRecipe& i) { std::swap(i.run[0], i.run[1]); },
      [](ImageRecipe& i) { i.mirror.clear(); },
  };
  for (size_t n = 0; n < changes.size(); ++n) {
    ImageRecipe changed = base;
    changes[n](changed);
    EXPECT_NE(recipe_text(changed), recipe_text(base)) << "change " << n;
  }
}

// A container may use an image that [images] declares and no one has built
// yet (apply builds it); an image neither in the store nor declared is an
// error.
TEST(ImageRecipe, DeclaredImageNeedNotBeBuilt) {
  test::TempDir store;
  auto r = load("c.toml", kRecipe, store.path());
  EXPECT_TRUE(r.ok()) << r.error_text();
  auto bad = load("c.toml", R"([containers.guest]
image = "deb"
boot = true
)",
                  store.path());
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(bad.errors[0].key, "containers.guest.image");
  EXPECT_NE(bad.errors[0].message.find("no image \"deb\""), std::string::npos);
}

TEST(ImageRecipe, DeclaredTwiceAcrossFiles) {
  LoadOptions o;
  o.check_host = false;
  auto r = load_documents({{"a.toml", "[images.deb]\nsuite = \"bookworm\"\n"},
                           {"b.toml", "\n[images.deb]\nsuite = \"trixie\"\n"}},
                          o);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].str(), "b.toml:2: images.deb: already declared at a.toml:1");
}

}  // namespace
}  // namespace berth::decl
