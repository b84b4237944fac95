// The mount, device and pivot_root sequence a spec produces, recorded by a
// fake engine::Sys (fake_sys.h): no root, no mount.
#include <linux/magic.h>

#include <gtest/gtest.h>

#include "engine/rootfs.h"
#include "fake_sys.h"

namespace berth::engine {
namespace {

using testing::FakeSys;
using V = std::vector<std::string>;

oci::Mount mnt(std::string dest, std::string type, std::string source, V options) {
  oci::Mount m;
  m.destination = std::move(dest);
  m.type = std::move(type);
  m.source = std::move(source);
  m.options = std::move(options);
  return m;
}

// runc spec's mounts.
std::vector<oci::Mount> default_mounts() {
  return {
      mnt("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      mnt("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mnt("/dev/pts", "devpts", "devpts",
          {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mnt("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      mnt("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
  };
}

class RootfsSequence : public ::testing::Test {
 protected:
  RootfsSequence() {
    sys.dir("/rootfs");
    sys.dir("/bundle");
    sys.dir("/bundle/data");
    sys.dir("/host");
    sys.dir("/host/cache");
    sys.file("/host/resolv.conf");
    sys.dir("/dev");
    sys.chr("/dev/null", 1, 3);
    sys.chr("/dev/zero", 1, 5);
    sys.chr("/dev/full", 1, 7);
    sys.chr("/dev/random", 1, 8);
    sys.chr("/dev/urandom", 1, 9);
    sys.chr("/dev/tty", 5, 0);
    spec.linux.emplace();
    ctx.spec = &spec;
    ctx.rootfs = "/rootfs";
    ctx.bundle = "/bundle";
  }
  Result<void> setup() { return setup_mounts(ctx, sys); }
  // finish_rootfs on the tree (as after pivot_root, with the rootfs at /rootfs).
  Result<void> finish(bool locked) {
    int root = sys.open("/rootfs", 0);
    auto r = finish_rootfs(spec, root, locked, sys);
    ::close(root);
    return r;
  }

  FakeSys sys;
  oci::Spec spec;
  RootfsContext ctx;
};

TEST_F(RootfsSequence, DefaultMountsInSpecOrderAfterRslaveAndTheRootfsBind) {
  spec.mounts = default_mounts();
  ASSERT_TRUE(setup());
  EXPECT_EQ(sys.only({"mount "}),
            (V{
                "mount - / - slave|rec -",
                "mount /rootfs /rootfs - bind|rec -",
                "mount proc /rootfs/proc proc nosuid|nodev|noexec -",
                "mount tmpfs /rootfs/dev tmpfs nosuid|strictatime mode=755,size=65536k",
                "mount devpts /rootfs/dev/pts devpts nosuid|noexec "
                "newinstance,ptmxmode=0666,mode=0620,gid=5",
                "mount shm /rootfs/dev/shm tmpfs nosuid|nodev|noexec mode=1777,size=65536k",
                "mount sysfs /rootfs/sys sysfs rdonly|nosuid|nodev|noexec -",
            }));
  // Each destination is made below the rootfs before its mount.
  EXPECT_LT(sys.index("mkdir /rootfs/dev/pts"),
            sys.index("mount devpts /rootfs/dev/pts devpts nosuid|noexec "
                      "newinstance,ptmxmode=0666,mode=0620,gid=5"));
  EXPECT_GT(sys.index("mkdir /rootfs/dev/pts"), sys.index("mkdir /rootfs/dev"));
}

TEST_F(RootfsSequence, SharedMountNamespaceLeavesPropagationAlone) {
  ctx.shared_mountns = true;
  ASSERT_TRUE(setup());
  EXPECT_EQ(sys.only({"mount - / "}), V{});
  EXPECT_EQ(sys.only({"mount "}).front(), "mount /rootfs /rootfs - bind|rec -");
}

TEST_F(RootfsSequence, BindFlagsGoThroughMountSetattrRecursiveOnlyForRbind) {
  spec.mounts = {mnt("/cache", "bind", "/host/cache", {"rbind", "ro", "nosuid"}),
                 mnt("/data", "none", "data", {"bind", "nodev", "noexec"}),
                 mnt("/etc/resolv.conf", "bind", "/host/resolv.conf", {"ro"})};
  ASSERT_TRUE(setup());
  EXPECT_EQ(sys.only({"mount /", "setattr", "create", "mkdir /rootfs/cache", "mkdir /rootfs/etc",
                      "mkdir /rootfs/data"}),
            (V{
                "mount /rootfs /rootfs - bind|rec -",
                "mkdir /rootfs/cache",
                "mount /host/cache /rootfs/cache - bind|rec -",
                "setattr /rootfs/cache set=rdonly|nosuid recursive",
                // A relative source is the bundle's.
                "mkdir /rootfs/data",
                "mount /bundle/data /rootfs/data - bind -",
                "setattr /rootfs/data set=nodev|noexec",
                // A file is bound onto a file made for it.
                "mkdir /rootfs/etc",
                "create /rootfs/etc/resolv.conf",
                "mount /host/resolv.conf /rootfs/etc/resolv.conf - bind -",
                "setattr /rootfs/etc/resolv.conf set=rdonly",
            }));
}

TEST_F(RootfsSequence, MountPropagationIsSetAfterTheMount) {
  spec.mounts = {mnt("/cache", "bind", "/host/cache", {"rbind", "rslave"}),
                 mnt("/run", "tmpfs", "tmpfs", {"private"})};
  ASSERT_TRUE(setup());
  EXPECT_EQ(
      sys.only({"mount /host", "mount tmpfs", "mount - /rootfs"}),
      (V{"mount /host/cache /rootfs/cache - bind|rec -", "mount - /rootfs/cache - slave|rec -",
         "mount tmpfs /rootfs/run tmpfs 0 -", "mount - /rootfs/run - private -"}));
}

TEST_F(RootfsSequence, ProcMustBeProcfsAndNoSymlink) {
  spec.mounts = {mnt("/proc", "bind", "/host/cache", {"rbind"})};
  auto r = setup();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "mounts[0]: /proc cannot be mounted because /host/cache is not of type proc");
  EXPECT_EQ(sys.only({"mount /host"}), V{});

  sys.clear();
  sys.fs_type("/host/cache", PROC_SUPER_MAGIC);
  ASSERT_TRUE(setup());
  EXPECT_EQ(sys.only({"mount /host"}), V{"mount /host/cache /rootfs/proc - bind|rec -"});

  sys.clear();
  sys.symlink("/rootfs/sys");
  spec.mounts = {mnt("/sys", "sysfs", "sysfs", {})};
  r = setup();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "mounts[0]: mount destination /sys must not be a symlink");
  EXPECT_EQ(sys.only({"mount sysfs"}), V{});
}

TEST_F(RootfsSequence, DefaultDevicesAreMadeWithModeAndOwnerThenTheSymlinks) {
  spec.mounts = default_mounts();
  ASSERT_TRUE(setup());
  EXPECT_EQ(sys.only({"mknod", "chmod", "chown"}),
            (V{"mknod /rootfs/dev/null c 1:3 0666", "chmod /rootfs/dev/null 0666",
               "chown /rootfs/dev/null 0:0", "mknod /rootfs/dev/zero c 1:5 0666",
               "chmod /rootfs/dev/zero 0666", "chown /rootfs/dev/zero 0:0",
               "mknod /rootfs/dev/full c 1:7 0666", "chmod /rootfs/dev/full 0666",
               "chown /rootfs/dev/full 0:0", "mknod /rootfs/dev/random c 1:8 0666",
               "chmod /rootfs/dev/random 0666", "chown /rootfs/dev/random 0:0",
               "mknod /rootfs/dev/urandom c 1:9 0666", "chmod /rootfs/dev/urandom 0666",
               "chown /rootfs/dev/urandom 0:0", "mknod /rootfs/dev/tty c 5:0 0666",
               "chmod /rootfs/dev/tty 0666", "chown /rootfs/dev/tty 0:0"}));
  EXPECT_EQ(
      sys.only({"symlink"}),
      (V{"symlink /rootfs/dev/fd -> /proc/self/fd", "symlink /rootfs/dev/stdin -> /proc/self/fd/0",
         "symlink /rootfs/dev/stdout -> /proc/self/fd/1",
         "symlink /rootfs/dev/stderr -> /proc/self/fd/2", "symlink /rootfs/dev/ptmx -> pts/ptmx",
         "symlink /rootfs/dev/core -> /proc/kcore"}));
  // The nodes go on the /dev tmpfs, after every mount.
  EXPECT_GT(sys.index("mknod /rootfs/dev/null c 1:3 0666"),
            sys.index("mount sysfs /rootfs/sys sysfs rdonly|nosuid|nodev|noexec -"));
}

TEST_F(RootfsSequence, SpecDevicesTypeNumbersModeAndOwner) {
  auto dev = [](std::string type, std::string path, int64_t maj, int64_t min,
                std::optional<uint32_t> mode, std::optional<uint32_t> uid,
                std::optional<uint32_t> gid) {
    oci::Device d;
    d.type = std::move(type);
    d.path = std::move(path);
    d.major = maj;
    d.minor = min;
    d.file_mode = mode;
    d.uid = uid;
    d.gid = gid;
    return d;
  };
  spec.linux->devices = {dev("c", "/dev/fuse", 10, 229, 0600, 1000, 1001),
                         dev("b", "/dev/loop7", 7, 7, 0660, 0, 6),
                         dev("u", "/dev/null", 1, 3, std::nullopt, std::nullopt, std::nullopt),
                         dev("p", "/run/fifo", 0, 0, 0640, 0, 0)};
  ASSERT_TRUE(setup());
  auto made = sys.only({"mknod", "chown /rootfs/dev/fuse", "chown /rootfs/dev/loop7"});
  // /dev/null is configured: made once, from the spec, after the defaults.
  ASSERT_EQ(made.size(), 11u) << fmt::format("{}", fmt::join(made, "\n"));
  EXPECT_EQ(made[0], "mknod /rootfs/dev/zero c 1:5 0666");
  EXPECT_EQ(made[4], "mknod /rootfs/dev/tty c 5:0 0666");
  EXPECT_EQ(made[5], "mknod /rootfs/dev/fuse c 10:229 0600");
  EXPECT_EQ(made[6], "chown /rootfs/dev/fuse 1000:1001");
  EXPECT_EQ(made[7], "mknod /rootfs/dev/loop7 b 7:7 0660");
  EXPECT_EQ(made[8], "chown /rootfs/dev/loop7 0:6");
  EXPECT_EQ(made[9], "mknod /rootfs/dev/null c 1:3 0666");
  EXPECT_EQ(made[10], "mknod /rootfs/run/fifo p 0:0 0640");
  EXPECT_EQ(sys.only({"mknod /rootfs/dev/null"}).size(), 1u);

  spec.linux->devices = {dev("x", "/dev/x", 1, 1, std::nullopt, std::nullopt, std::nullopt)};
  auto r = setup();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "device /dev/x: unknown type \"x\"");
}

TEST_F(RootfsSequence, InAUserNamespaceHostNodesAreBoundInsteadOfMknod) {
  ctx.userns = true;
  oci::Device fuse;
  fuse.type = "c";
  fuse.path = "/dev/fuse";
  fuse.major = 10;
  fuse.minor = 229;
  ASSERT_TRUE(setup());
  EXPECT_EQ(sys.only({"mknod"}), V{});
  EXPECT_EQ(sys.only({"create /rootfs/dev/null", "mount /dev/null"}),
            (V{"create /rootfs/dev/null", "mount /dev/null /rootfs/dev/null - bind -"}));
  EXPECT_EQ(sys.only({"mount /dev/"}).size(), 6u);

  // No node on the host with the same numbers: an error, not a wrong device.
  spec.linux->devices = {fuse};
  auto r = setup();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "cannot create device /dev/fuse (10:229) and no matching host node to bind");
}

TEST_F(RootfsSequence, MknodRefusedFallsBackToTheHostNode) {
  sys.fail("mknod /rootfs/dev/tty", EPERM);
  ASSERT_TRUE(setup());
  EXPECT_EQ(sys.only({"! mknod", "mount /dev/tty"}),
            (V{"! mknod /rootfs/dev/tty c 5:0 0666", "mount /dev/tty /rootfs/dev/tty - bind -"}));
}

TEST_F(RootfsSequence, ABoundDevHasNoDefaultNodesOrLinks) {
  sys.dir("/host/dev");
  spec.mounts = {mnt("/dev", "bind", "/host/dev", {"rbind"})};
  ASSERT_TRUE(setup());
  EXPECT_EQ(sys.only({"mknod", "symlink", "mount /dev"}), V{});
}

TEST_F(RootfsSequence, IdmappedTreeIsMovedIntoPlaceWithItsFlags) {
  auto m = mnt("/data", "bind", "data", {"rbind", "idmap", "ro"});
  spec.mounts = {m};
  auto tree = make_idmapped_tree(m, "/bundle", 42, sys);
  ASSERT_TRUE(tree);
  ctx.mount_fds[0] = tree->get();
  ASSERT_TRUE(setup());
  EXPECT_EQ(
      sys.only({"open_tree", "setattr", "move_mount", "mount /bundle"}),
      (V{"open_tree /bundle/data clone recursive", "setattr /bundle/data set=idmap userns=42",
         "move_mount /bundle/data -> /rootfs/data", "setattr /rootfs/data set=rdonly recursive"}));
}

TEST_F(RootfsSequence, OptionIdsOfNewInstancesAreTheHostsInAUserNamespace) {
  std::vector<oci::IdMapping> maps = {{0, 100000, 65536}};
  ctx.uid_maps = &maps;
  ctx.gid_maps = &maps;
  spec.mounts = {mnt("/tmp", "tmpfs", "tmpfs", {"uid=0", "gid=5", "mode=1777"}),
                 mnt("/proc", "proc", "proc", {})};
  ASSERT_TRUE(setup());
  EXPECT_EQ(sys.only({"mount tmpfs", "mount proc"}),
            (V{"mount tmpfs /rootfs/tmp tmpfs 0 uid=100000,gid=100005,mode=1777",
               "mount proc /rootfs/proc proc 0 -"}));
  spec.mounts = {mnt("/tmp", "tmpfs", "tmpfs", {"uid=70000"})};
  auto r = setup();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "mounts[0]: mount option uid=70000: uid 70000 is not mapped in the user namespace");
}

TEST_F(RootfsSequence, SysfsInAUserNamespaceFallsBackToAReadOnlyBind) {
  ctx.userns = true;
  spec.mounts = {mnt("/sys", "sysfs", "sysfs", {"nosuid"})};
  sys.fail("mount sysfs", EPERM);
  ASSERT_TRUE(setup());
  EXPECT_EQ(sys.only({"! mount sysfs", "mount /sys", "setattr /rootfs/sys"}),
            (V{"! mount sysfs /rootfs/sys sysfs nosuid -", "mount /sys /rootfs/sys - bind|rec -",
               "setattr /rootfs/sys set=rdonly|nosuid|nodev|noexec recursive"}));
}

TEST_F(RootfsSequence, PivotRootThenTheOldRootIsMadeSlaveAndDetached) {
  ASSERT_TRUE(enter_rootfs("/rootfs", Enter::PivotRoot, sys));
  EXPECT_EQ(sys.calls(), (V{"fchdir /rootfs", "pivot_root . . (in /rootfs)", "fchdir /",
                            "mount - . - slave|rec -", "umount2 . detach", "chdir /"}));
  sys.clear();
  ASSERT_TRUE(enter_rootfs("/rootfs", Enter::MoveRoot, sys));
  EXPECT_EQ(sys.calls(),
            (V{"chdir /rootfs", "mount /rootfs / - move -", "chroot . (in /rootfs)", "chdir /"}));
  sys.clear();
  sys.fail("pivot_root", EINVAL);
  auto r = enter_rootfs("/rootfs", Enter::PivotRoot, sys);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EINVAL);
  EXPECT_EQ(sys.only({"umount2"}), V{});
}

TEST_F(RootfsSequence, MaskedFilesGetDevNullMaskedDirsOneReadOnlyTmpfs) {
  ASSERT_TRUE(setup());  // the default nodes, /rootfs/dev/null among them
  sys.dir("/rootfs/proc");
  sys.file("/rootfs/proc/kcore");
  sys.dir("/rootfs/proc/acpi");
  sys.dir("/rootfs/proc/scsi");
  spec.linux->masked_paths = {"/proc/kcore", "/proc/acpi", "/proc/missing", "/proc/scsi"};
  sys.clear();
  ASSERT_TRUE(finish(false));
  EXPECT_EQ(sys.calls(), (V{"mount /rootfs/dev/null /rootfs/proc/kcore - bind -",
                            "mount tmpfs /rootfs/proc/acpi tmpfs rdonly size=0,mode=755",
                            "mount /rootfs/proc/acpi /rootfs/proc/scsi - bind -"}));
}

TEST_F(RootfsSequence, MaskingRefusesASymlinkAndAFakeDevNull) {
  sys.dir("/rootfs/proc");
  sys.file("/rootfs/proc/kcore");
  sys.dir("/rootfs/dev");
  sys.file("/rootfs/dev/null");  // not the null device
  spec.linux->masked_paths = {"/proc/kcore"};
  auto r = finish(false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "cannot mask /proc/kcore: /dev/null is not the null device");
  sys.symlink("/rootfs/proc/kcore");
  r = finish(false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "masked path /proc/kcore must not be a symlink");
  EXPECT_EQ(sys.only({"mount"}), V{});
}

TEST_F(RootfsSequence, ReadonlyPathsAreBoundOnThemselvesThenMadeReadOnly) {
  sys.dir("/rootfs/proc");
  sys.dir("/rootfs/proc/sys");
  spec.linux->readonly_paths = {"/proc/sys", "/proc/nothing"};
  spec.root.readonly = true;
  ASSERT_TRUE(finish(false));
  EXPECT_EQ(sys.calls(),
            (V{"mount /rootfs/proc/sys /rootfs/proc/sys - bind|rec -",
               "setattr /rootfs/proc/sys set=rdonly|nosuid|nodev|noexec recursive",
               // The root last, and not recursively: the mounts in it keep their flags.
               "setattr /rootfs set=rdonly"}));
}

TEST_F(RootfsSequence, ALockedTreeHasReadOnlyMasksAndANodevRoot) {
  sys.dir("/rootfs/dev");
  sys.chr("/rootfs/dev/null", 1, 3);
  sys.dir("/rootfs/proc");
  sys.file("/rootfs/proc/kcore");
  spec.linux->masked_paths = {"/proc/kcore"};
  ASSERT_TRUE(finish(true));
  EXPECT_EQ(sys.calls(), (V{"mount /rootfs/dev/null /rootfs/proc/kcore - bind -",
                            "setattr /rootfs/proc/kcore set=rdonly|nosuid|noexec",
                            "setattr /rootfs set=nodev"}));
}

TEST_F(RootfsSequence, RootfsPropagation) {
  for (auto [prop, want] : std::vector<std::pair<std::string, std::string>>{
           {"private", "mount - / - private -"},
           {"rslave", "mount - / - slave|rec -"},
           {"shared", "mount - / - shared -"},
           {"runbindable", "mount - / - unbindable|rec -"}}) {
    sys.clear();
    spec.linux->rootfs_propagation = prop;
    ASSERT_TRUE(set_rootfs_propagation(spec, sys)) << prop;
    EXPECT_EQ(sys.calls(), V{want}) << prop;
  }
  sys.clear();
  spec.linux->rootfs_propagation = "";
  ASSERT_TRUE(set_rootfs_propagation(spec, sys));
  EXPECT_EQ(sys.calls(), V{});
  spec.linux->rootfs_propagation = "sideways";
  auto r = set_rootfs_propagation(spec, sys);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "linux.rootfsPropagation: unknown value \"sideways\"");
  EXPECT_EQ(sys.calls(), V{});
}

}  // namespace
}  // namespace berth::engine
