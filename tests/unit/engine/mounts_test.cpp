// Mount options as config.json gives them (engine/mount_options.h) and the
// id-map helpers of engine/rootfs.h, without root.
#include <sys/mount.h>

#include <gtest/gtest.h>

#include "engine/mount_options.h"
#include "engine/rootfs.h"

namespace berth::engine {
namespace {

TEST(MountOptions, FlagsSetAndClearedTheLastOneWins) {
  auto m = parse_mount_options({"ro", "nosuid", "nodev", "noexec"});
  EXPECT_EQ(m.flags, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
  EXPECT_EQ(m.clear, 0u);
  m = parse_mount_options({"ro", "rw"});
  EXPECT_EQ(m.flags & MS_RDONLY, 0u);
  EXPECT_EQ(m.clear, static_cast<unsigned long>(MS_RDONLY));  // "rw" clears it on a remount
  m = parse_mount_options({"rw", "ro"});
  EXPECT_EQ(m.flags, static_cast<unsigned long>(MS_RDONLY));
  EXPECT_EQ(m.clear, 0u);
  m = parse_mount_options({"noatime", "atime", "strictatime"});
  EXPECT_EQ(m.flags, static_cast<unsigned long>(MS_STRICTATIME));
  EXPECT_EQ(m.clear, static_cast<unsigned long>(MS_NOATIME));
}

TEST(MountOptions, PropagationBindAndIdmap) {
  auto m = parse_mount_options({"rbind", "rslave"});
  EXPECT_TRUE(m.bind);
  EXPECT_TRUE(m.recursive);
  EXPECT_EQ(m.propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
  m = parse_mount_options({"bind", "private", "idmap"});
  EXPECT_TRUE(m.bind);
  EXPECT_FALSE(m.recursive);
  EXPECT_EQ(m.propagation, static_cast<unsigned long>(MS_PRIVATE));
  EXPECT_TRUE(m.idmap);
  EXPECT_FALSE(m.recursive_idmap);
  m = parse_mount_options({"ridmap", "nosymfollow"});
  EXPECT_TRUE(m.idmap && m.recursive_idmap && m.nosymfollow);
  EXPECT_FALSE(parse_mount_options({"nosymfollow", "symfollow"}).nosymfollow);
}

TEST(MountOptions, EverythingElseIsTheDataStringInOrder) {
  auto m = parse_mount_options({"mode=755", "nosuid", "size=65536k", "uid=0", "tmpcopyup"});
  EXPECT_EQ(m.data, "mode=755,size=65536k,uid=0");  // tmpcopyup is accepted and ignored
  EXPECT_EQ(m.flags, static_cast<unsigned long>(MS_NOSUID));
  EXPECT_EQ(parse_mount_options({}).data, "");
}

TEST(MountOptions, EveryKnownOptionIsUnderstoodNotPassedOn) {
  for (auto& o : known_mount_options()) EXPECT_EQ(parse_mount_options({o}).data, "") << o;
}

TEST(MountOptions, OverlayLayersEscapeCommaColonAndBackslash) {
  EXPECT_EQ(overlay_escape("/var/lib/a"), "/var/lib/a");
  EXPECT_EQ(overlay_escape("/a,b:c\\d"), "/a\\,b\\:c\\\\d");
}

TEST(IdMaps, HostIdWithinEachRangeOnly) {
  std::vector<oci::IdMapping> maps = {{0, 100000, 1000}, {1000, 5000, 1}};
  EXPECT_EQ(host_id(maps, 0), 100000u);
  EXPECT_EQ(host_id(maps, 999), 100999u);
  EXPECT_EQ(host_id(maps, 1000), 5000u);
  EXPECT_EQ(host_id(maps, 1001), std::nullopt);
  EXPECT_EQ(host_id({}, 0), std::nullopt);
  EXPECT_EQ(host_id({{10, 20, 0}}, 10), std::nullopt);  // an empty range maps nothing
}

TEST(IdMaps, AnIdmappedMountIsAskedForByOptionOrMappings) {
  oci::Mount m{"/data", "bind", "/srv", {"rbind"}, {}, {}};
  EXPECT_FALSE(wants_idmap(m));
  m.options.push_back("ridmap");
  EXPECT_TRUE(wants_idmap(m));
  m.options = {"bind", "idmap"};
  EXPECT_TRUE(wants_idmap(m));
  m.options = {"bind"};
  m.uid_mappings = {{0, 1000, 1}};
  EXPECT_TRUE(wants_idmap(m));
}

}  // namespace
}  // namespace berth::engine
