// The runc-compatible CLI as podman (conmon) and containerd's shim drive it:
// create/start/state/kill/delete/list/ps/run/exec, console socket, logs, fds.
#include <sys/wait.h>

#include <future>

#include "oci_helpers.h"

namespace berth::test::ocit {
namespace {

const std::vector<std::string> kSleeper = {"/bin/sleep", "1000"};

class Lifecycle : public OciTest {};

TEST_F(Lifecycle, CreateBlocksUntilStartThenRuns) {
  auto id = new_id();
  auto& b = bundle(kSleeper, id);
  std::string pidfile = b.path() + "/init.pid";
  auto r = oci_detached({"create", "--bundle", b.path(), "--pid-file", pidfile, id});
  ASSERT_EQ(r.status, 0) << r.err;
  pid_t pid = read_pid_file(pidfile);
  track(pid);
  ASSERT_GT(pid, 0) << "pid file " << pidfile << ": '" << read_text(pidfile) << "'";
  EXPECT_TRUE(pid_alive(pid));
  // Blocked before exec: the workload is not running yet.
  EXPECT_EQ(proc_cmdline(pid).find("sleep"), std::string::npos) << proc_cmdline(pid);
  auto st = oci({"state", id});
  ASSERT_EQ(st.status, 0) << st.err;
  EXPECT_EQ(st.err, "");
  auto js = json::parse(st.out);
  EXPECT_EQ(js["status"], "created");
  EXPECT_EQ(js["pid"], pid);

  r = oci({"start", id});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(wait_until([&] { return proc_cmdline(pid) == "/bin/sleep 1000"; }))
      << proc_cmdline(pid);
  EXPECT_EQ(status_of(id), "running");
  EXPECT_EQ(state(id)["pid"], pid);

  r = oci({"kill", id, "KILL"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(wait_until([&] { return status_of(id) == "stopped"; }));
  EXPECT_EQ(state(id)["pid"], 0);
  EXPECT_FALSE(pid_alive(pid));
}

TEST_F(Lifecycle, StateJsonHasRuncKeysAndNothingOnStderr) {
  auto id = new_id();
  auto& b = bundle(kSleeper, id);
  b.config()["annotations"] = {{"org.berth.test", "yes"}};
  b.write();
  pid_t pid = create(id, b);
  ASSERT_GT(pid, 0);
  auto st = oci({"state", id});
  ASSERT_EQ(st.status, 0);
  EXPECT_EQ(st.err, "") << "containerd parses stdout+stderr of state as one JSON";
  auto js = json::parse(st.out);
  for (const char* k :
       {"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"})
    EXPECT_TRUE(js.contains(k)) << "missing key " << k << " in " << st.out;
  EXPECT_EQ(js["id"], id);
  EXPECT_EQ(js["bundle"], fs::canonical(b.path()).string());
  EXPECT_EQ(js["rootfs"], test_rootfs());
  EXPECT_TRUE(js["created"].is_string());
  EXPECT_NE(js["created"].get<std::string>().find('T'), std::string::npos) << "RFC3339 expected";
  ASSERT_TRUE(js.contains("annotations"));
  EXPECT_EQ(js["annotations"]["org.berth.test"], "yes");
}

TEST_F(Lifecycle, StatusGoesCreatedRunningStoppedAndPidBecomesZero) {
  auto id = new_id();
  auto& b = bundle({"/bin/sh", "-c", "sleep 0.5"}, id);
  pid_t pid = create(id, b);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(status_of(id), "created");
  ASSERT_EQ(oci({"start", id}).status, 0);
  EXPECT_EQ(status_of(id), "running");
  EXPECT_TRUE(wait_until([&] { return status_of(id) == "stopped"; }));
  EXPECT_EQ(state(id)["pid"], 0);
  auto r = oci({"start", id});
  EXPECT_NE(r.status, 0) << "start of a stopped container must fail";
}

TEST_F(Lifecycle, KillDefaultsToTerm) {
  auto id = new_id();
  auto& b = bundle({"/bin/sh", "-c", "trap 'exit 3' TERM; while :; do sleep 0.1; done"}, id);
  auto fut = std::async(std::launch::async, [&] { return oci({"run", "--bundle", b.path(), id}); });
  ASSERT_TRUE(wait_until([&] { return status_of(id) == "running"; }));
  track(state(id)["pid"].get<pid_t>());
  auto r = oci({"kill", id});
  EXPECT_EQ(r.status, 0) << r.err;
  auto res = fut.get();
  EXPECT_EQ(res.status, 3) << "the TERM trap exits 3; got " << res.status << " " << res.err;
}

TEST_F(Lifecycle, KillSignalByNameNumberAndSigPrefix) {
  for (std::string sig : {"KILL", "9", "SIGKILL"}) {
    SCOPED_TRACE("signal " + sig);
    auto id = new_id();
    auto& b = bundle(kSleeper, id);
    auto fut = std::async(std::launch::async, [&] {
      return oci({"run", "--bundle", b.path(), id});
    });
    ASSERT_TRUE(wait_until([&] { return status_of(id) == "running"; }));
    pid_t pid = state(id)["pid"];
    track(pid);
    auto r = oci({"kill", id, sig});
    EXPECT_EQ(r.status, 0) << r.err;
    auto res = fut.get();
    EXPECT_EQ(res.status, 128 + SIGKILL) << "run passes through death by signal as 128+N";
    EXPECT_FALSE(pid_alive(pid));
  }
}

TEST_F(Lifecycle, KillAllSignalsEveryProcess) {
  auto id = new_id();
  auto& b = bundle({"/bin/sh", "-c", "sleep 1000 & sleep 1000 & wait"}, id);
  pid_t pid = start_running(id, b);
  ASSERT_GT(pid, 0);
  std::vector<pid_t> pids;
  ASSERT_TRUE(wait_until([&] {
    auto r = oci({"ps", "--format", "json", id});
    if (r.status != 0) return false;
    pids = json::parse(r.out).get<std::vector<pid_t>>();
    return pids.size() >= 3;
  })) << "expected sh and two sleeps";
  for (pid_t p : pids) track(p);
  auto r = oci({"kill", "--all", id, "KILL"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(wait_until([&] {
    for (pid_t p : pids)
      if (pid_alive(p)) return false;
    return true;
  }));
  EXPECT_TRUE(wait_until([&] { return status_of(id) == "stopped"; }));
}

TEST_F(Lifecycle, KillStoppedContainerSaysNotRunning) {
  auto id = new_id();
  auto& b = bundle({"/bin/true"}, id);
  ASSERT_GT(create(id, b), 0);
  ASSERT_EQ(oci({"start", id}).status, 0);
  ASSERT_TRUE(wait_until([&] { return status_of(id) == "stopped"; }));
  auto r = oci({"kill", id, "KILL"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("container not running"), std::string::npos) << r.err;
}

TEST_F(Lifecycle, MissingContainerErrors) {
  std::string id = "berth-test-no-such-container";
  for (std::vector<std::string> cmd :
       {std::vector<std::string>{"state", id}, {"kill", id}, {"start", id}, {"delete", id}}) {
    SCOPED_TRACE(cmd[0]);
    auto r = oci(cmd);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("container \"" + id + "\" does not exist"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST_F(Lifecycle, DeleteStoppedRemovesState) {
  auto id = new_id();
  auto& b = bundle({"/bin/true"}, id);
  ASSERT_GT(create(id, b), 0);
  ASSERT_EQ(oci({"start", id}).status, 0);
  ASSERT_TRUE(wait_until([&] { return status_of(id) == "stopped"; }));
  auto r = oci({"delete", id});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(oci({"state", id}).status, 0);
  EXPECT_FALSE(fs::exists(root_->path() + "/" + id));
  EXPECT_TRUE(cgroups_matching(id).empty());
}

TEST_F(Lifecycle, DeleteRunningNeedsForce) {
  auto id = new_id();
  auto& b = bundle(kSleeper, id);
  pid_t pid = start_running(id, b);
  ASSERT_GT(pid, 0);
  auto r = oci({"delete", id});
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(pid_alive(pid));
  EXPECT_EQ(status_of(id), "running");
  r = oci({"delete", "--force", id});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(wait_until([&] { return !pid_alive(pid); }));
  EXPECT_NE(oci({"state", id}).status, 0);
  EXPECT_TRUE(cgroups_matching(id).empty());
}

TEST_F(Lifecycle, DeleteForceOfCreatedKillsInit) {
  auto id = new_id();
  auto& b = bundle(kSleeper, id);
  pid_t pid = create(id, b);
  ASSERT_GT(pid, 0);
  auto r = oci({"delete", "--force", id});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(wait_until([&] { return !pid_alive(pid); }));
  EXPECT_NE(oci({"state", id}).status, 0);
}

TEST_F(Lifecycle, DeleteForceOfMissingSucceeds) {
  auto r = oci({"delete", "--force", "berth-test-never-existed"});
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST_F(Lifecycle, ListTableAndJson) {
  auto a = new_id(), c = new_id();
  auto& ba = bundle(kSleeper, a);
  auto& bc = bundle(kSleeper, c);
  pid_t pa = start_running(a, ba);
  pid_t pc = create(c, bc);
  ASSERT_GT(pa, 0);
  ASSERT_GT(pc, 0);
  auto r = oci({"list"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(a), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(c), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ID"), std::string::npos) << "table header expected: " << r.out;
  r = oci({"list", "--format", "json"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto js = json::parse(r.out);
  ASSERT_TRUE(js.is_array()) << r.out;
  std::map<std::string, json> by_id;
  for (auto& e : js) by_id[e["id"]] = e;
  ASSERT_TRUE(by_id.count(a) && by_id.count(c)) << r.out;
  EXPECT_EQ(by_id[a]["status"], "running");
  EXPECT_EQ(by_id[a]["pid"], pa);
  EXPECT_EQ(by_id[c]["status"], "created");
}

TEST_F(Lifecycle, PsJsonListsHostPids) {
  auto id = new_id();
  auto& b = bundle({"/bin/sh", "-c", "sleep 1000 & wait"}, id);
  pid_t pid = start_running(id, b);
  ASSERT_GT(pid, 0);
  std::vector<pid_t> pids;
  ASSERT_TRUE(wait_until([&] {
    auto r = oci({"ps", "--format", "json", id});
    if (r.status != 0) return false;
    pids = json::parse(r.out).get<std::vector<pid_t>>();
    return pids.size() >= 2;
  }));
  for (pid_t p : pids) track(p);
  EXPECT_NE(std::find(pids.begin(), pids.end(), pid), pids.end()) << "init pid missing";
  bool saw_sleep = false;
  for (pid_t p : pids) saw_sleep |= proc_cmdline(p) == "sleep 1000";
  EXPECT_TRUE(saw_sleep) << "pids are host pids: the child sleep should be found in the host /proc";
}

TEST_F(Lifecycle, RunPassesExitStatusThrough) {
  auto r = run_script("echo out-line; echo err-line >&2; exit 7");
  EXPECT_EQ(r.status, 7) << r.err;
  EXPECT_EQ(r.out, "out-line\n");
  EXPECT_NE(r.err.find("err-line"), std::string::npos);
  r = run_script("exit 0");
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST_F(Lifecycle, RunDetached) {
  auto id = new_id();
  auto& b = bundle(kSleeper, id);
  std::string pidfile = b.path() + "/p";
  auto r = oci_detached({"run", "-d", "--pid-file", pidfile, "--bundle", b.path(), id});
  ASSERT_EQ(r.status, 0) << r.err;
  pid_t pid = read_pid_file(pidfile);
  track(pid);
  EXPECT_TRUE(pid_alive(pid));
  EXPECT_EQ(status_of(id), "running");
  EXPECT_TRUE(wait_until([&] { return proc_cmdline(pid) == "/bin/sleep 1000"; }))
      << proc_cmdline(pid);
}

class Exec : public OciTest {
 protected:
  void SetUp() override {
    OciTest::SetUp();
    if (IsSkipped()) return;
    id_ = new_id("exec");
    b_ = &bundle(kSleeper, id_);
    pid_ = start_running(id_, *b_);
    ASSERT_GT(pid_, 0);
  }
  std::string id_;
  Bundle* b_ = nullptr;
  pid_t pid_ = -1;
};

TEST_F(Exec, EchoAndExitStatus) {
  auto r = oci({"exec", id_, "/bin/echo", "hi"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hi\n");
  r = oci({"exec", id_, "/bin/sh", "-c", "exit 5"});
  EXPECT_EQ(r.status, 5) << r.err;
}

TEST_F(Exec, ProcessFile) {
  json p = {{"terminal", false},
            {"user", {{"uid", 0}, {"gid", 0}}},
            {"args", {"/bin/sh", "-c", "echo $FOO; pwd"}},
            {"env", {"PATH=/bin:/usr/bin", "FOO=from-process-json"}},
            {"cwd", "/tmp"}};
  std::string file = b_->path() + "/process.json";
  write_text(file, p.dump());
  auto r = oci({"exec", "--process", file, id_});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "from-process-json\n/tmp\n");
}

TEST_F(Exec, EnvAndCwdFlags) {
  auto r = oci(
      {"exec", "--env", "FOO=bar", "--cwd", "/var/tmp", id_, "/bin/sh", "-c", "echo $FOO; pwd"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "bar\n/var/tmp\n");
}

TEST_F(Exec, UserFlag) {
  auto r = oci({"exec", "--user", "1000:1000", id_, "id"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(trim(r.out).substr(0, 17), "uid=1000 gid=1000") << r.out;
}

TEST_F(Exec, DetachedWithPidFileSharesNamespaces) {
  std::string pidfile = b_->path() + "/exec.pid";
  auto r = oci_detached({"exec", "--detach", "--pid-file", pidfile, id_, "/bin/sleep", "999"});
  ASSERT_EQ(r.status, 0) << r.err;
  pid_t ep = read_pid_file(pidfile);
  track(ep);
  ASSERT_GT(ep, 0);
  EXPECT_TRUE(pid_alive(ep));
  EXPECT_TRUE(wait_until([&] { return proc_cmdline(ep) == "/bin/sleep 999"; })) << proc_cmdline(ep);
  for (const char* ns : {"pid", "mnt", "uts", "ipc", "net", "cgroup"}) {
    auto a = readlink_str("/proc/" + std::to_string(pid_) + "/ns/" + ns);
    auto e = readlink_str("/proc/" + std::to_string(ep) + "/ns/" + ns);
    EXPECT_EQ(a, e) << ns;
  }
  EXPECT_NE(readlink_str("/proc/" + std::to_string(ep) + "/ns/mnt"),
            readlink_str("/proc/self/ns/mnt"));
  // The exec'd process is in the container's cgroup: ps lists it.
  auto ps = oci({"ps", "--format", "json", id_});
  ASSERT_EQ(ps.status, 0) << ps.err;
  auto pids = json::parse(ps.out).get<std::vector<pid_t>>();
  EXPECT_NE(std::find(pids.begin(), pids.end(), ep), pids.end()) << ps.out;
}

TEST_F(Lifecycle, ConsoleSocketGetsOnePtyMaster) {
  auto id = new_id("tty");
  auto& b = bundle({"/bin/sh", "-c", "echo hello-tty; tty; sleep 2"}, id);
  b.config()["process"]["terminal"] = true;
  b.write();
  ConsoleReceiver rx;
  pid_t pid = create(id, b, {"--console-socket", rx.path()});
  ASSERT_GT(pid, 0);
  ASSERT_EQ(rx.wait_fds(1), 1u);
  ASSERT_EQ(oci({"start", id}).status, 0);
  std::string out = read_until(rx.fd(0), "/dev/pts/");
  out += read_until(rx.fd(0), "\n", 2000);
  EXPECT_NE(out.find("hello-tty"), std::string::npos) << out;
  EXPECT_NE(out.find("/dev/pts/"), std::string::npos) << out;
  EXPECT_EQ(rx.count(), 1u) << "exactly one fd expected";
  struct stat st;
  ASSERT_EQ(fstat(rx.fd(0), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(Lifecycle, LogJsonHasLevelMsgTime) {
  TempDir d("berth-log");
  std::string log = d / "log.json";
  auto r = oci({"--log", log, "--log-format", "json", "state", "berth-test-missing"});
  EXPECT_EQ(r.status, 1);
  auto ls = lines(read_text(log));
  ASSERT_FALSE(ls.empty()) << "nothing written to --log";
  bool saw_error = false;
  for (auto& l : ls) {
    if (l.empty()) continue;
    json j;
    ASSERT_NO_THROW(j = json::parse(l)) << l;
    EXPECT_TRUE(j.contains("level") && j.contains("msg") && j.contains("time")) << l;
    if (j["level"] == "error") {
      saw_error = true;
      EXPECT_NE(j["msg"].get<std::string>().find("does not exist"), std::string::npos) << l;
    }
  }
  EXPECT_TRUE(saw_error) << read_text(log);
}

TEST_F(Lifecycle, PreserveFdsPassesFd3) {
  auto id = new_id();
  auto& b = bundle({"/bin/sh", "-c", "cat <&3"}, id);
  std::string data = b.path() + "/fd3-data";
  write_text(data, "through-fd-3\n");
  auto r = sh("exec 3<" + shell_quote(data) + "; exec " + shell_quote(berth_oci()) + " --root " +
              shell_quote(root_->path()) + " run --preserve-fds 1 --bundle " +
              shell_quote(b.path()) + " " + id);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "through-fd-3\n");
}

}  // namespace
}  // namespace berth::test::ocit
