// What the OCI runtime spec (config.md, config-linux.md, runtime.md) asks and
// crun and runc do, where berth-oci used to differ: the default configs that
// `crun spec` and `runc spec` write, namespaces joined by path (mount
// included), no namespaces at all, a seccomp profile that denies a syscall
// the runtime itself makes, and failing poststop hooks.
#include <sys/prctl.h>

#include "oci_helpers.h"

namespace berth::test::ocit {
namespace {

bool have_program(const std::string& name) {
  return sh("command -v " + shell_quote(name) + " >/dev/null 2>&1").status == 0;
}

class Conformance : public OciTest {
 protected:
  void expect_foreign_default_runs(const std::string& tool);
};

// `TOOL spec`'s config.json, unmodified but for the process (terminal off and
// `true`, so it does not wait for a console), on the busybox rootfs at
// root.path "rootfs" (a symlink in the bundle).
void Conformance::expect_foreign_default_runs(const std::string& tool) {
  if (!have_program(tool))
    GTEST_SKIP() << tool << " is not installed (needed for its `" << tool << " spec`)";
  TempDir gen("berth-foreign-spec");
  RunOptions o;
  o.cwd = gen.path();
  auto g = run({tool, "spec"}, o);
  ASSERT_EQ(g.status, 0) << tool << " spec: " << g.err;
  json c = json::parse(read_text(gen / "config.json"));
  ASSERT_EQ(c["root"]["path"], "rootfs");
  ASSERT_FALSE(c["process"]["capabilities"]["ambient"].empty())
      << "the point: ambient caps without inheritable ones";
  c["process"]["terminal"] = false;
  c["process"]["args"] = {"true"};
  auto id = new_id(tool + "spec");
  auto& b = bundle({"true"}, id);
  b.config() = c;
  fs::create_directory_symlink(test_rootfs(), b.path() + "/rootfs");
  auto r = run_bundle(id, b);
  EXPECT_EQ(r.status, 0) << tool << " spec's default config: " << r.err;
  EXPECT_EQ(r.err.find("ambient"), std::string::npos) << r.err;
}

TEST_F(Conformance, CrunSpecDefaultRuns) {
  expect_foreign_default_runs("crun");
}
TEST_F(Conformance, RuncSpecDefaultRuns) {
  expect_foreign_default_runs("runc");
}

// A process that holds a namespace of one type of its own (made by
// unshare(1), as runtime-tools' linux_ns_path does), killed with its group.
class NsHolder {
 public:
  NsHolder(const std::string& unshare_opt, const std::string& proc_name) : name_(proc_name) {
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(null, 1);
      execlp("unshare", "unshare", unshare_opt.c_str(), "--fork", "sleep", "1000", nullptr);
      _exit(127);
    }
  }
  ~NsHolder() {
    if (pid_ > 0) {
      kill(-pid_, SIGKILL);
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  // /proc/PID/ns/<name>, or <name>_for_children for pid and time (unshare(2)
  // moves only the children into those), once it differs from ours.
  std::string path() const {
    std::string p = "/proc/" + std::to_string(pid_) + "/ns/" + name_;
    if (name_ == "pid" || name_ == "time") p += "_for_children";
    return p;
  }
  std::string ns() const {
    std::string ours = readlink_str("/proc/self/ns/" + name_);
    std::string theirs;
    wait_until(
        [&] {
          theirs = readlink_str(path());
          return !theirs.empty() && theirs != ours;
        },
        5000);
    return theirs != ours ? theirs : "";
  }

 private:
  std::string name_;
  pid_t pid_ = -1;
};

// config-linux.md: "path: namespace file. This value MUST be an absolute path
// in the runtime mount namespace. The runtime MUST place the container
// process in the namespace associated with that path."
TEST_F(Conformance, JoinsEveryNamespaceTypeByPath) {
  if (!have_program("unshare")) GTEST_SKIP() << "unshare (util-linux) is not installed";
  struct Case {
    const char* type;  // OCI
    const char* proc;  // /proc/PID/ns
    const char* opt;   // unshare(1)
  };
  const Case cases[] = {{"ipc", "ipc", "--ipc"},     {"mount", "mnt", "--mount"},
                        {"network", "net", "--net"}, {"pid", "pid", "--pid"},
                        {"uts", "uts", "--uts"},     {"cgroup", "cgroup", "--cgroup"},
                        {"time", "time", "--time"}};
  for (auto& c : cases) {
    SCOPED_TRACE(c.type);
    if (access(("/proc/self/ns/" + std::string(c.proc)).c_str(), F_OK) != 0) {
      std::cout << "[  NOTE    ] this kernel has no " << c.type << " namespaces; not tried\n";
      continue;
    }
    NsHolder holder(c.opt, c.proc);
    std::string want = holder.ns();
    ASSERT_FALSE(want.empty()) << "unshare " << c.opt << " made no namespace";
    auto id = new_id(std::string("nspath-") + c.type);
    auto& b = bundle({"/bin/sleep", "1000"}, id);
    auto& nss = b.config()["linux"]["namespaces"];
    bool replaced = false;
    for (auto& n : nss)
      if (n["type"] == c.type) {
        n["path"] = holder.path();
        replaced = true;
      }
    if (!replaced) nss.push_back({{"type", c.type}, {"path", holder.path()}});
    if (std::string(c.type) == "uts") b.config().erase("hostname");
    b.write();
    pid_t pid = create(id, b);
    ASSERT_GT(pid, 0);
    EXPECT_EQ(readlink_str("/proc/" + std::to_string(pid) + "/ns/" + c.proc), want);
    auto r = oci({"delete", "--force", id});
    EXPECT_EQ(r.status, 0) << r.err;
  }
}

// config-linux.md: "If a namespace type is not specified in the namespaces
// array, the container MUST inherit the runtime namespace of that type."
// Without a mount namespace the mounts go into the runtime's, and the process
// is chrooted into root.path; delete takes them away again (TearDown checks
// that no mount below the bundle is left).
TEST_F(Conformance, WithoutNamespacesInheritsEveryOneOfTheRuntime) {
  auto id = new_id("nons");
  auto& b = bundle({"/bin/sh", "-c", "ls /; readlink /proc/self/ns/mnt"}, id);
  b.use_private_rootfs();
  write_text(b.path() + "/rootfs/marker-nons", "");
  b.config()["linux"]["namespaces"] = json::array();
  b.config().erase("hostname");
  b.write();
  // As runtime-tools' linux_ns_itype: created, not started.
  pid_t pid = create(id, b);
  ASSERT_GT(pid, 0);
  for (std::string ns : {"cgroup", "ipc", "mnt", "net", "pid", "user", "uts", "time"}) {
    SCOPED_TRACE(ns);
    std::string ours = readlink_str("/proc/self/ns/" + ns);
    if (ours.empty()) continue;
    EXPECT_EQ(readlink_str("/proc/" + std::to_string(pid) + "/ns/" + ns), ours);
  }
  EXPECT_FALSE(host_mounts_matching(b.path()).empty())
      << "the rootfs mounts were expected in our mount namespace";
  auto r = oci({"delete", "--force", id});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(host_mounts_matching(b.path()).empty());

  // Run to the end: the process sees root.path as /.
  auto id2 = new_id("nons-run");
  b.config()["linux"]["cgroupsPath"] = "/" + id2;
  auto rr = run_bundle(id2, b);
  EXPECT_EQ(rr.status, 0) << rr.err;
  EXPECT_NE(rr.out.find("marker-nons"), std::string::npos) << rr.out;
  EXPECT_NE(rr.out.find(readlink_str("/proc/self/ns/mnt")), std::string::npos) << rr.out;
  EXPECT_TRUE(host_mounts_matching(b.path()).empty());
}

// config-linux.md (seccomp): the filter applies to the container process;
// runc and crun load it right before execve, so a profile may deny syscalls
// the runtime makes while it sets the process up (runtime-tools' linux_seccomp
// denies getcwd, which the runtime calls to check the working directory).
TEST_F(Conformance, SeccompDenyingGetcwdStillStartsTheProcess) {
  for (bool nnp : {true, false}) {
    SCOPED_TRACE(nnp ? "noNewPrivileges" : "without noNewPrivileges");
    auto r = run_script("/bin/pwd; echo pwd=$?", [&](json& c) {
      c["process"]["noNewPrivileges"] = nnp;
      c["linux"]["seccomp"] = {
          {"defaultAction", "SCMP_ACT_ALLOW"},
          {"architectures", {"SCMP_ARCH_X86_64"}},
          {"syscalls", {{{"names", {"getcwd"}}, {"action", "SCMP_ACT_ERRNO"}}}}};
    });
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("pwd=1"), std::string::npos)
        << "getcwd should be denied in the container: " << r.out << r.err;
  }
  // Without no_new_privs loading a filter needs CAP_SYS_ADMIN, which a
  // non-root user without capabilities never holds: loaded earlier, still
  // after the runtime's getcwd.
  auto r = run_script("/bin/pwd; echo pwd=$?", [&](json& c) {
    c["process"]["noNewPrivileges"] = false;
    c["process"]["user"] = {{"uid", 65534}, {"gid", 65534}};
    c["process"].erase("capabilities");
    c["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                             {"syscalls", {{{"names", {"getcwd"}}, {"action", "SCMP_ACT_ERRNO"}}}}};
  });
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("pwd=1"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace berth::test::ocit
