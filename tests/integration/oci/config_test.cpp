// config.json fields, checked by what the process in the container sees.
#include "oci_helpers.h"

namespace berth::test::ocit {
namespace {

class Config : public OciTest {};

// The bit of each capability name used below, for CapXxx masks.
uint64_t cap_mask(const std::vector<int>& bits) {
  uint64_t m = 0;
  for (int b : bits) m |= 1ull << b;
  return m;
}
uint64_t hex(const std::string& s) {
  return std::stoull(s, nullptr, 16);
}

TEST_F(Config, HostnameAndDomainname) {
  auto r = run_script("hostname; cat /proc/sys/kernel/domainname", [](json& c) {
    c["hostname"] = "berth-host";
    c["domainname"] = "example.org";
  });
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "berth-host\nexample.org\n");
}

TEST_F(Config, EnvAndCwd) {
  auto r = run_script("echo \"$FOO\"; echo \"$PATH\"; pwd", [](json& c) {
    c["process"]["env"] = {"PATH=/bin:/sbin", "FOO=bar baz=qux"};
    c["process"]["cwd"] = "/var/tmp";
  });
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "bar baz=qux\n/bin:/sbin\n/var/tmp\n");
}

TEST_F(Config, UserUidGidAdditionalGidsUmask) {
  auto r = run_script("cat /proc/self/status; echo umask=$(umask)", [](json& c) {
    c["process"]["user"] = {
        {"uid", 1000}, {"gid", 1001}, {"additionalGids", {10, 20}}, {"umask", 027}};
  });
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(status_field(r.out, "Uid"), "1000 1000 1000 1000");
  EXPECT_EQ(status_field(r.out, "Gid"), "1001 1001 1001 1001");
  EXPECT_EQ(status_field(r.out, "Groups"), "10 20");
  EXPECT_NE(r.out.find("umask=0027"), std::string::npos) << r.out;
}

TEST_F(Config, Rlimits) {
  auto r = run_script("cat /proc/self/limits", [](json& c) {
    c["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 1000}, {"hard", 2000}},
                               {{"type", "RLIMIT_NPROC"}, {"soft", 300}, {"hard", 400}},
                               {{"type", "RLIMIT_CORE"}, {"soft", 0}, {"hard", 0}}};
  });
  ASSERT_EQ(r.status, 0) << r.err;
  auto find_line = [&](const std::string& name) {
    for (auto& l : lines(r.out))
      if (l.rfind(name, 0) == 0) return l;
    return std::string();
  };
  auto fields = [](const std::string& l) {
    std::istringstream is(l.substr(26));  // limits name column is 26 wide
    std::string soft, hard;
    is >> soft >> hard;
    return soft + " " + hard;
  };
  EXPECT_EQ(fields(find_line("Max open files")), "1000 2000") << r.out;
  EXPECT_EQ(fields(find_line("Max processes")), "300 400") << r.out;
  EXPECT_EQ(fields(find_line("Max core file size")), "0 0") << r.out;
}

TEST_F(Config, CapabilitiesAsConfiguredAndInheritableEmptyByDefault) {
  // CHOWN=0 KILL=5 NET_BIND_SERVICE=10 AUDIT_WRITE=29
  auto r = run_script("cat /proc/self/status", [](json& c) {
    c["process"]["capabilities"] = {
        {"bounding", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}},
        {"effective", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}},
        {"permitted", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}}};
  });
  ASSERT_EQ(r.status, 0) << r.err;
  uint64_t want = cap_mask({0, 5, 10});
  EXPECT_EQ(hex(status_field(r.out, "CapBnd")), want);
  EXPECT_EQ(hex(status_field(r.out, "CapEff")), want);
  EXPECT_EQ(hex(status_field(r.out, "CapPrm")), want);
  EXPECT_EQ(hex(status_field(r.out, "CapInh")), 0u)
      << "CVE-2022-29162: inheritable must stay empty";
  EXPECT_EQ(hex(status_field(r.out, "CapAmb")), 0u);

  // The spec default: the three runc defaults, nothing inheritable.
  r = run_script("cat /proc/self/status");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(hex(status_field(r.out, "CapBnd")), cap_mask({5, 10, 29}));
  EXPECT_EQ(hex(status_field(r.out, "CapEff")), cap_mask({5, 10, 29}));
  EXPECT_EQ(hex(status_field(r.out, "CapInh")), 0u);
}

TEST_F(Config, AmbientCapabilitiesForNonRootUser) {
  auto r = run_script("cat /proc/self/status", [](json& c) {
    c["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    std::vector<std::string> nbs = {"CAP_NET_BIND_SERVICE"};
    c["process"]["capabilities"] = {{"bounding", nbs},
                                    {"effective", nbs},
                                    {"permitted", nbs},
                                    {"inheritable", nbs},
                                    {"ambient", nbs}};
  });
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(hex(status_field(r.out, "CapAmb")), cap_mask({10}));
  EXPECT_EQ(hex(status_field(r.out, "CapEff")), cap_mask({10}));
  EXPECT_EQ(hex(status_field(r.out, "CapPrm")), cap_mask({10}));
  EXPECT_EQ(hex(status_field(r.out, "CapInh")), cap_mask({10}));
  EXPECT_EQ(hex(status_field(r.out, "CapBnd")), cap_mask({10}));
}

TEST_F(Config, NoNewPrivilegesAndOomScoreAdj) {
  auto r =
      run_script("grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj", [](json& c) {
        c["process"]["noNewPrivileges"] = true;
        c["process"]["oomScoreAdj"] = 432;
      });
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(status_field(r.out, "NoNewPrivs"), "1");
  EXPECT_NE(r.out.find("\n432\n"), std::string::npos) << r.out;
  r = run_script("grep NoNewPrivs /proc/self/status",
                 [](json& c) { c["process"]["noNewPrivileges"] = false; });
  EXPECT_EQ(status_field(r.out, "NoNewPrivs"), "0");
}

TEST_F(Config, ReadonlyRoot) {
  auto r = run_script("touch /berth-ro-probe && echo wrote; touch /tmp/x 2>&1; echo done",
                      [](json& c) { c["root"]["readonly"] = true; });
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find("wrote"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Read-only file system"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(test_rootfs() + "/berth-ro-probe"));
}

// The mountinfo line (inside the container) whose mount point is `dest`.
std::string mountinfo_for(const std::string& out, const std::string& dest) {
  std::string found;
  for (auto& l : lines(out)) {
    std::istringstream is(l);
    std::string f[5];
    for (auto& x : f) is >> x;
    if (f[4] == dest) found = l;  // the last one is the top of the stack
  }
  return found;
}

TEST_F(Config, TmpfsMountWithOptions) {
  auto r = run_script("cat /proc/self/mountinfo", [](json& c) {
    c["mounts"].push_back({{"destination", "/run"},
                           {"type", "tmpfs"},
                           {"source", "tmpfs"},
                           {"options", {"nosuid", "nodev", "noexec", "mode=750", "size=1m"}}});
  });
  ASSERT_EQ(r.status, 0) << r.err;
  auto l = mountinfo_for(r.out, "/run");
  ASSERT_FALSE(l.empty()) << r.out;
  EXPECT_NE(l.find("nosuid"), std::string::npos) << l;
  EXPECT_NE(l.find("nodev"), std::string::npos) << l;
  EXPECT_NE(l.find("noexec"), std::string::npos) << l;
  EXPECT_NE(l.find(" - tmpfs "), std::string::npos) << l;
  EXPECT_NE(l.find("size=1024k"), std::string::npos) << l;
  EXPECT_NE(l.find("mode=750"), std::string::npos) << l;
}

TEST_F(Config, BindMountReadonlyAndPropagation) {
  TempDir src("berth-bindsrc"), src2("berth-bindsrc2"), src3("berth-bindsrc3");
  write_text(src / "file", "from-host\n");
  auto r =
      run_script("cat /home/file; touch /home/new 2>&1; cat /proc/self/mountinfo", [&](json& c) {
        c["mounts"].push_back({{"destination", "/home"},
                               {"type", "bind"},
                               {"source", src.path()},
                               {"options", {"rbind", "ro"}}});
        c["mounts"].push_back({{"destination", "/root"},
                               {"type", "bind"},
                               {"source", src2.path()},
                               {"options", {"rbind", "rshared"}}});
        c["mounts"].push_back({{"destination", "/var/tmp"},
                               {"type", "bind"},
                               {"source", src3.path()},
                               {"options", {"rbind", "rprivate"}}});
      });
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("from-host\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("Read-only file system"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(src / "new"));
  auto home = mountinfo_for(r.out, "/home");
  ASSERT_FALSE(home.empty());
  EXPECT_NE(home.find(" ro,"), std::string::npos) << home;
  auto shared = mountinfo_for(r.out, "/root");
  ASSERT_FALSE(shared.empty());
  EXPECT_NE(shared.find(" shared:"), std::string::npos) << shared;
  auto priv = mountinfo_for(r.out, "/var/tmp");
  ASSERT_FALSE(priv.empty());
  EXPECT_EQ(priv.find(" shared:"), std::string::npos) << priv;
  EXPECT_EQ(priv.find(" master:"), std::string::npos) << priv;
}

TEST_F(Config, MaskedAndReadonlyPaths) {
  // The spec default carries runc's masked and readonly lists.
  auto r = run_script(
      "echo kcore=$(cat /proc/kcore | wc -c); echo firmware=$(ls -A /sys/firmware | wc -l);"
      "echo x > /proc/sys/kernel/hostname && echo sys-writable; "
      "grep -E ' /proc/sys | /proc/kcore | /sys/firmware ' /proc/self/mountinfo");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("kcore=0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("firmware=0\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("sys-writable"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
  auto procsys = mountinfo_for(r.out, "/proc/sys");
  EXPECT_NE(procsys.find(" ro,"), std::string::npos) << r.out;
}

TEST_F(Config, ConfiguredDevices) {
  auto r = run_script("stat -c '%n %F %t:%T %a %u:%g' /dev/fuse /dev/berth0", [](json& c) {
    c["linux"]["devices"] = {
        {{"path", "/dev/fuse"}, {"type", "c"}, {"major", 10}, {"minor", 229}, {"fileMode", 0666}},
        {{"path", "/dev/berth0"},
         {"type", "c"},
         {"major", 240},
         {"minor", 7},
         {"fileMode", 0640},
         {"uid", 0},
         {"gid", 5}}};
  });
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "/dev/fuse character special file a:e5 666 0:0\n"
            "/dev/berth0 character special file f0:7 640 0:5\n");
}

TEST_F(Config, DefaultDevicesPresent) {
  auto r = run_script(
      "for d in null zero full random urandom tty; do "
      "  stat -c '%n %F %t:%T' /dev/$d; done; "
      "test -c /dev/ptmx -o -L /dev/ptmx && echo ptmx-ok; "
      "for l in fd stdin stdout stderr; do echo $l=$(readlink /dev/$l); done; "
      "test -d /dev/shm && echo shm-dir; test -d /dev/pts && echo pts-dir; "
      "head -c 4 /dev/zero | wc -c; echo x > /dev/null && echo null-ok");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(
      r.out,
      "/dev/null character special file 1:3\n"
      "/dev/zero character special file 1:5\n"
      "/dev/full character special file 1:7\n"
      "/dev/random character special file 1:8\n"
      "/dev/urandom character special file 1:9\n"
      "/dev/tty character special file 5:0\n"
      "ptmx-ok\n"
      "fd=/proc/self/fd\nstdin=/proc/self/fd/0\nstdout=/proc/self/fd/1\nstderr=/proc/self/fd/2\n"
      "shm-dir\npts-dir\n4\nnull-ok\n");
}

TEST_F(Config, SysctlInOwnNetAndIpcNamespaces) {
  std::string host_fwd = trim(read_text("/proc/sys/net/ipv4/ip_forward"));
  std::string host_shmmni = trim(read_text("/proc/sys/kernel/shmmni"));
  auto r = run_script("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni", [](json& c) {
    c["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}, {"kernel.shmmni", "1234"}};
  });
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1\n1234\n");
  EXPECT_EQ(trim(read_text("/proc/sys/net/ipv4/ip_forward")), host_fwd) << "host sysctl changed";
  EXPECT_EQ(trim(read_text("/proc/sys/kernel/shmmni")), host_shmmni) << "host sysctl changed";
}

TEST_F(Config, PersonalityLinux32) {
  auto r = run_script("uname -m", [](json& c) {
    c["linux"]["personality"] = {{"domain", "LINUX32"}};
  });
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "i686\n");
}

TEST_F(Config, JoinNetworkNamespaceByPath) {
  auto a = new_id("nsA");
  auto& ba = bundle({"/bin/sleep", "1000"}, a);
  pid_t pa = start_running(a, ba);
  ASSERT_GT(pa, 0);
  std::string a_net = readlink_str("/proc/" + std::to_string(pa) + "/ns/net");
  ASSERT_FALSE(a_net.empty());
  auto r = run_script("readlink /proc/self/ns/net; readlink /proc/self/ns/uts", [&](json& c) {
    for (auto& ns : c["linux"]["namespaces"])
      if (ns["type"] == "network") ns["path"] = "/proc/" + std::to_string(pa) + "/ns/net";
  });
  EXPECT_EQ(r.status, 0) << r.err;
  auto ls = lines(r.out);
  ASSERT_EQ(ls.size(), 2u) << r.out;
  EXPECT_EQ(ls[0], a_net);
  EXPECT_NE(ls[1], readlink_str("/proc/" + std::to_string(pa) + "/ns/uts")) << "uts stays private";
}

TEST_F(Config, UserNamespaceMappings) {
  Bundle* bp = nullptr;
  auto id = new_id("userns");
  auto& b = bundle({"/bin/sh", "-c",
                    "cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /probe && echo wrote"},
                   id);
  bp = &b;
  b.use_private_rootfs();
  // The mapped root must be able to reach the rootfs through the bundle dir.
  fs::permissions(b.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                fs::perms::others_read | fs::perms::others_exec);
  auto ch = run({"chown", "-R", "100000:100000", b.path() + "/rootfs"});
  ASSERT_EQ(ch.status, 0) << ch.err;
  auto& c = b.config();
  c["linux"]["namespaces"].push_back({{"type", "user"}});
  c["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  c["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  auto r = run_bundle(id, b);
  ASSERT_EQ(r.status, 0) << r.err;
  auto ls = lines(r.out);
  ASSERT_GE(ls.size(), 4u) << r.out;
  auto squeeze = [](std::string s) {
    std::istringstream is(s);
    std::string a, b2, c2;
    is >> a >> b2 >> c2;
    return a + " " + b2 + " " + c2;
  };
  EXPECT_EQ(squeeze(ls[0]), "0 100000 65536");
  EXPECT_EQ(squeeze(ls[1]), "0 100000 65536");
  EXPECT_EQ(ls[2], "0");
  EXPECT_EQ(ls[3], "wrote");
  struct stat st;
  ASSERT_EQ(stat((bp->path() + "/rootfs/probe").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u) << "container root is host uid 100000";
}

TEST_F(Config, TimeNamespaceOffsets) {
  if (access("/proc/self/ns/time", F_OK) != 0) GTEST_SKIP() << "kernel has no time namespaces";
  double host_uptime = std::stod(read_text("/proc/uptime"));
  auto r = run_script("cat /proc/uptime", [](json& c) {
    c["linux"]["namespaces"].push_back({{"type", "time"}});
    c["linux"]["timeOffsets"] = {{"boottime", {{"secs", 864000}, {"nanosecs", 0}}},
                                 {"monotonic", {{"secs", 864000}, {"nanosecs", 0}}}};
  });
  ASSERT_EQ(r.status, 0) << r.err;
  double in = std::stod(r.out);
  EXPECT_GT(in, host_uptime + 864000 - 60) << r.out;
  EXPECT_LT(in, host_uptime + 864000 + 60) << r.out;
}

TEST_F(Config, CgroupNamespaceShowsRoot) {
  auto r = run_script("cat /proc/self/cgroup", [](json& c) {
    c["linux"]["namespaces"].push_back({{"type", "cgroup"}});
  });
  ASSERT_EQ(r.status, 0) << r.err;
  auto ls = lines(r.out);
  ASSERT_FALSE(ls.empty());
  for (auto& l : ls) {
    if (l.empty()) continue;
    EXPECT_EQ(l.substr(l.rfind(':') + 1), "/") << l;
  }
}

}  // namespace
}  // namespace berth::test::ocit
