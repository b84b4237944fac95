// User-namespaced containers through berth-oci: the maps inside equal the
// config (several ranges), a rootfs owned by the mapped root works, host files
// stay out of reach of the mapped root, exec joins the user namespace,
// idmapped bind mounts work (or say why not), and what the runtime made
// read-only cannot be remounted read-write by the mapped root.
#include "oci_helpers.h"

namespace berth::test::ocit {
namespace {

// "0 100000 65536" from a uid_map line (the kernel pads with spaces).
std::string squeeze(const std::string& s) {
  std::istringstream is(s);
  std::string out, w;
  while (is >> w) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::vector<std::string> squeezed_lines(const std::string& s) {
  std::vector<std::string> out;
  for (auto& l : lines(s))
    if (!trim(l).empty()) out.push_back(squeeze(l));
  return out;
}

json mapping(int64_t container, int64_t host, int64_t size) {
  return {{"containerID", container}, {"hostID", host}, {"size", size}};
}

// Adds capabilities to every set the init starts with.
void add_caps(json& c, const std::vector<std::string>& caps) {
  for (const char* set : {"bounding", "effective", "permitted"})
    for (auto& cap : caps) c["process"]["capabilities"][set].push_back(cap);
}

class UserNs : public OciTest {
 protected:
  void SetUp() override {
    OciTest::SetUp();
    if (IsSkipped()) return;
    if (access("/proc/self/ns/user", F_OK) != 0) GTEST_SKIP() << "kernel has no user namespaces";
  }
  // A bundle with a private copy of the rootfs owned by host uid/gid base
  // (the container's root), and a user namespace mapping 0 -> base.
  Bundle& userns_bundle(const std::vector<std::string>& args, const std::string& id,
                        int64_t base = 100000) {
    auto& b = bundle(args, id);
    b.use_private_rootfs();
    // The mapped root must be able to reach the rootfs through the bundle dir.
    fs::permissions(b.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
    auto ch = run(
        {"chown", "-R", std::to_string(base) + ":" + std::to_string(base), b.path() + "/rootfs"});
    EXPECT_EQ(ch.status, 0) << ch.err;
    auto& c = b.config();
    c["linux"]["namespaces"].push_back({{"type", "user"}});
    c["linux"]["uidMappings"] =
        json::array({mapping(0, base, 65536)});  // one element: {x} alone copies x under clang
    c["linux"]["gidMappings"] =
        json::array({mapping(0, base, 65536)});  // one element: {x} alone copies x under clang
    b.write();
    return b;
  }
};

TEST_F(UserNs, MapsInsideEqualTheConfigWithSeveralRanges) {
  auto id = new_id("maps");
  auto& b = userns_bundle(
      {"/bin/sh", "-c",
       "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; id -u; id -g;"
       "touch /by-root;"
       "chown 1000:2000 /by-root && stat -c '%u:%g' /by-root"},
      id);
  auto& c = b.config();
  c["linux"]["uidMappings"] = {mapping(0, 100000, 1000), mapping(1000, 300000, 500),
                               mapping(1500, 101500, 64036)};
  c["linux"]["gidMappings"] = {mapping(0, 100000, 2000), mapping(2000, 400000, 10),
                               mapping(2010, 102010, 63526)};
  add_caps(c, {"CAP_CHOWN"});
  b.write();
  auto r = run_bundle(id, b);
  ASSERT_EQ(r.status, 0) << r.err;
  auto ls = squeezed_lines(r.out);
  std::vector<std::string> want = {"0 100000 1000",
                                   "1000 300000 500",
                                   "1500 101500 64036",
                                   "--",
                                   "0 100000 2000",
                                   "2000 400000 10",
                                   "2010 102010 63526",
                                   "--",
                                   "0",
                                   "0",
                                   "1000:2000"};
  EXPECT_EQ(ls, want) << r.out;
  // uid 1000 and gid 2000 inside are the second ranges' first ids on the host.
  struct stat st;
  ASSERT_EQ(stat((b.path() + "/rootfs/by-root").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 300000u);
  EXPECT_EQ(st.st_gid, 400000u);
}

TEST_F(UserNs, RootfsOwnedByTheMappedRootWorks) {
  auto id = new_id("owned");
  auto& b = userns_bundle(
      {"/bin/sh", "-c",
       "stat -c '%u:%g' / /bin/busybox; mkdir /made && echo hi > /made/f && cat /made/f;"
       "chmod 700 /made && echo chmod-ok"},
      id);
  auto r = run_bundle(id, b);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0:0\n0:0\nhi\nchmod-ok\n");
  struct stat st;
  ASSERT_EQ(stat((b.path() + "/rootfs/made/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u);
  EXPECT_EQ(st.st_gid, 100000u);
}

TEST_F(UserNs, HostFilesAreNotWritableThroughAMappedRoot) {
  // Host root's files, readable by all, bound read-write into the container.
  TempDir host("berth-test-hostfiles");
  fs::permissions(host.path(), fs::perms::owner_all | fs::perms::group_read |
                                   fs::perms::group_exec | fs::perms::others_read |
                                   fs::perms::others_exec);
  write_text(host / "file", "host data\n");
  fs::permissions(host / "file", fs::perms::owner_read | fs::perms::owner_write |
                                     fs::perms::group_read | fs::perms::others_read);
  ASSERT_EQ(chown((host / "file").c_str(), 0, 0), 0);
  write_text(host / "single", "single file\n");
  chmod((host / "single").c_str(), 0644);
  std::string before = sha256_of(host / "file");

  auto id = new_id("hostfs");
  auto& b = userns_bundle({"/bin/sh", "-c",
                           "cat /host/file;"
                           "echo x >> /host/file || echo append-denied;"
                           "touch /host/new || echo create-denied;"
                           "rm -f /host/file || echo unlink-denied;"
                           "chmod 666 /host/file || echo chmod-denied;"
                           "chown 0 /host/file || echo chown-denied;"
                           "echo y > /single || echo single-denied;"
                           "stat -c '%u' /host/file"},
                          id);
  auto& c = b.config();
  c["mounts"].push_back({{"destination", "/host"},
                         {"type", "bind"},
                         {"source", host.path()},
                         {"options", {"rbind", "rw"}}});
  c["mounts"].push_back({{"destination", "/single"},
                         {"type", "bind"},
                         {"source", host / "single"},
                         {"options", {"bind", "rw"}}});
  // Every capability that lets host root past file permissions: inside a
  // user namespace they cover only files whose owner is mapped.
  add_caps(c, {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
               "CAP_SYS_ADMIN", "CAP_LINUX_IMMUTABLE"});
  b.write();
  auto r = run_bundle(id, b);
  ASSERT_EQ(r.status, 0) << r.err;
  auto ls = lines(r.out);
  std::vector<std::string> want = {"host data",     "append-denied", "create-denied",
                                   "unlink-denied", "chmod-denied",  "chown-denied",
                                   "single-denied", "65534"};
  EXPECT_EQ(ls, want) << r.out << r.err;
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
  // Nothing changed on the host.
  EXPECT_EQ(sha256_of(host / "file"), before);
  EXPECT_EQ(read_text(host / "single"), "single file\n");
  EXPECT_FALSE(fs::exists(host / "new"));
  struct stat st;
  ASSERT_EQ(stat((host / "file").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST_F(UserNs, ExecJoinsTheUserNamespace) {
  auto id = new_id("exec");
  auto& b = userns_bundle({"/bin/sleep", "100000"}, id);
  b.config()["linux"]["uidMappings"] = {mapping(0, 100000, 500), mapping(500, 200000, 500)};
  b.write();
  pid_t pid = start_running(id, b);
  ASSERT_GT(pid, 0);
  std::string init_ns = readlink_str("/proc/" + std::to_string(pid) + "/ns/user");
  ASSERT_FALSE(init_ns.empty());
  EXPECT_NE(init_ns, readlink_str("/proc/self/ns/user"));
  auto r =
      oci({"exec", id, "sh", "-c", "readlink /proc/self/ns/user; id -u; cat /proc/self/uid_map"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto ls = squeezed_lines(r.out);
  ASSERT_EQ(ls.size(), 4u) << r.out;
  EXPECT_EQ(ls[0], init_ns);
  EXPECT_EQ(ls[1], "0");
  EXPECT_EQ(ls[2], "0 100000 500");
  EXPECT_EQ(ls[3], "500 200000 500");
  // As another user inside: the second range maps 600 to host 200100.
  std::string pidfile = root_->path() + "/exec.pid";
  auto d =
      oci_detached({"exec", "-d", "--user", "600:600", "--pid-file", pidfile, id, "sleep", "1000"});
  ASSERT_EQ(d.status, 0) << d.err;
  pid_t ep = read_pid_file(pidfile);
  ASSERT_GT(ep, 0);
  track(ep);
  auto st = read_text("/proc/" + std::to_string(ep) + "/status");
  EXPECT_EQ(status_field(st, "Uid").substr(0, 6), "200100") << status_field(st, "Uid");
  EXPECT_EQ(readlink_str("/proc/" + std::to_string(ep) + "/ns/user"), init_ns);
}

TEST_F(UserNs, IdmappedBindMountWorksOrSaysWhyNot) {
  // A host directory of host root's files, idmapped with the container's
  // mapping: inside they belong to the container's root and are writable;
  // on the host they stay host root's.
  TempDir host("berth-test-idmap");
  fs::permissions(host.path(), fs::perms::owner_all | fs::perms::group_read |
                                   fs::perms::group_exec | fs::perms::others_read |
                                   fs::perms::others_exec);
  write_text(host / "file", "before\n");
  chmod((host / "file").c_str(), 0644);
  auto id = new_id("idmap");
  auto& b = userns_bundle(
      {"/bin/sh", "-c",
       "stat -c '%u:%g' /idm/file; echo after > /idm/file && touch /idm/new && echo wrote"},
      id);
  auto& c = b.config();
  c["mounts"].push_back({{"destination", "/idm"},
                         {"type", "bind"},
                         {"source", host.path()},
                         {"options", {"bind", "rw"}},
                         {"uidMappings", json::array({mapping(0, 100000, 65536)})},
                         {"gidMappings", json::array({mapping(0, 100000, 65536)})}});
  b.write();
  auto r = run_bundle(id, b);
  if (r.status != 0) {
    // Allowed only with a clear reason: which mount, and that idmapping failed.
    EXPECT_NE(r.err.find("mounts["), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("idmap"), std::string::npos) << r.err;
    GTEST_SKIP() << "idmapped mounts refused here, with: " << r.err;
  }
  EXPECT_EQ(r.out, "0:0\nwrote\n");
  EXPECT_EQ(read_text(host / "file"), "after\n");
  struct stat st;
  ASSERT_EQ(stat((host / "new").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u) << "created through the idmapped mount as host root";
  ASSERT_EQ(stat((host / "file").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
}

// Root in the user namespace holds CAP_SYS_ADMIN there, yet what the runtime
// made read-only stays so: the tree is built outside the user namespace and
// the init's copy of it is locked by the kernel. A tmpfs it mounts itself
// remounts either way, so the refusals are the locks, not the command.
TEST_F(UserNs, ReadOnlyMountsCannotBeRemountedReadWrite) {
  TempDir host("berth-test-rolock");
  fs::permissions(host.path(), fs::perms::owner_all | fs::perms::group_read |
                                   fs::perms::group_exec | fs::perms::others_read |
                                   fs::perms::others_exec);
  auto id = new_id("rolock");
  auto& b = userns_bundle({"/bin/sh", "-c",
                           "for p in / /ro /proc/sys /proc/keys /sys/firmware /sys; do"
                           "  if [ ! -e $p ]; then echo \"$p missing\";"
                           "  elif mount -o remount,rw,bind $p 2>/dev/null; then echo \"$p yes\"; "
                           "else echo \"$p no\"; fi;"
                           "done;"
                           "umount -l /proc/keys 2>/dev/null && echo unmask-yes || echo unmask-no;"
                           "touch /ro/x 2>/dev/null && echo write-yes || echo write-no;"
                           "mount -t tmpfs own /ro && mount -o remount,ro,bind /ro && mount -o "
                           "remount,rw,bind /ro && echo own-yes"},
                          id);
  auto& c = b.config();
  c["root"]["readonly"] = true;
  c["mounts"].push_back({{"destination", "/ro"},
                         {"type", "bind"},
                         {"source", host.path()},
                         {"options", {"bind", "ro"}}});
  add_caps(c, {"CAP_SYS_ADMIN"});
  b.write();
  auto r = run_bundle(id, b);
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  std::vector<std::string> want = {"/ no",          "/ro no",           "/proc/sys no",
                                   "/proc/keys no", "/sys/firmware no", "/sys no",
                                   "unmask-no",     "write-no",         "own-yes"};
  EXPECT_EQ(lines(r.out), want) << r.out << r.err;
  EXPECT_FALSE(fs::exists(host / "x"));
}

TEST_F(UserNs, IdmappedMountWithoutAUserNamespaceIsRefused) {
  TempDir host("berth-test-idmap2");
  auto id = new_id("idmapnons");
  auto& b = bundle({"/bin/true"}, id);
  b.config()["mounts"].push_back({{"destination", "/idm"},
                                  {"type", "bind"},
                                  {"source", host.path()},
                                  {"options", {"bind", "idmap"}}});
  b.write();
  auto r = oci_detached({"create", "--bundle", b.path(), id});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("user namespace"), std::string::npos) << r.err;
  EXPECT_TRUE(cgroups_matching(id).empty());
  EXPECT_NE(oci({"state", id}).status, 0);
}

}  // namespace
}  // namespace berth::test::ocit
