// OCI hooks: order, the state JSON on stdin, failure and timeout handling.
#include "oci_helpers.h"

namespace berth::test::ocit {
namespace {

class Hooks : public OciTest {
 protected:
  // A hook that appends its name to log_dir/log and saves its stdin (the state).
  static json hook(const std::string& name, const std::string& log_dir,
                   const std::string& extra = "") {
    return {{"path", "/bin/sh"},
            {"args",
             {"sh", "-c",
              "echo " + name + " >> " + log_dir + "/log; cat > " + log_dir + "/state-" + name +
                  ".json" + extra}}};
  }
};

TEST_F(Hooks, AllSixRunOnceInOrderWithState) {
  auto id = new_id("hooks");
  auto& b = bundle({"/bin/sh", "-c", "sleep 0.3"}, id);
  std::string h = b.path() + "/hooks";
  fs::create_directory(h);
  auto& c = b.config();
  c["annotations"] = {{"org.example.hooks", "stdin test"}};
  // startContainer runs inside the container: the hook dir is bind-mounted at /run.
  c["mounts"].push_back(
      {{"destination", "/run"}, {"type", "bind"}, {"source", h}, {"options", {"rbind", "rw"}}});
  c["hooks"] = {{"prestart", {hook("prestart", h)}},
                {"createRuntime", {hook("createRuntime", h)}},
                {"createContainer", {hook("createContainer", h)}},
                {"startContainer", {hook("startContainer", "/run")}},
                {"poststart", {hook("poststart", h)}},
                {"poststop", {hook("poststop", h)}}};
  b.write();
  pid_t pid = create(id, b);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(read_text(h + "/log"), "prestart\ncreateRuntime\ncreateContainer\n");
  ASSERT_EQ(oci({"start", id}).status, 0);
  ASSERT_TRUE(wait_until([&] { return status_of(id) == "stopped"; }));
  EXPECT_EQ(read_text(h + "/log"),
            "prestart\ncreateRuntime\ncreateContainer\nstartContainer\npoststart\n");
  auto r = oci({"delete", id});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_text(h + "/log"),
            "prestart\ncreateRuntime\ncreateContainer\nstartContainer\npoststart\npoststop\n");

  for (std::string name : {"prestart", "createRuntime", "createContainer", "startContainer",
                           "poststart", "poststop"}) {
    SCOPED_TRACE(name);
    json st;
    ASSERT_NO_THROW(st = json::parse(read_text(h + "/state-" + name + ".json")));
    EXPECT_EQ(st["id"], id);
    EXPECT_EQ(st["bundle"], fs::canonical(b.path()).string());
    EXPECT_TRUE(st.contains("ociVersion") && st.contains("status"));
    EXPECT_EQ(st["annotations"], c["annotations"]);
    if (name != "poststop") {
      EXPECT_EQ(st["pid"], pid);
    }
  }
  // runtime-spec runtime.md: "created" once the create operation has made the
  // container (prestart, which runtime-tools' hooks_stdin checks, and
  // createRuntime run with it, as runc passes them); createContainer runs
  // while the init is still being set up; then "running" and "stopped".
  const std::pair<const char*, const char*> want[] = {
      {"prestart", "created"},       {"createRuntime", "created"}, {"createContainer", "creating"},
      {"startContainer", "created"}, {"poststart", "running"},     {"poststop", "stopped"}};
  for (auto& [name, status] : want)
    EXPECT_EQ(json::parse(read_text(h + "/state-" + name + ".json"))["status"], status) << name;
}

// No trace of the container id: no state, no cgroup, no process in a cgroup of that name.
void expect_nothing_left(OciTest& t, const std::string& id, const std::string& root) {
  (void)t;
  EXPECT_FALSE(fs::exists(root + "/" + id)) << "state dir left behind";
  EXPECT_TRUE(wait_until([&] { return cgroups_matching(id).empty(); }, 3000))
      << "cgroup left behind";
  for (auto& e : fs::directory_iterator("/proc")) {
    std::string n = e.path().filename();
    if (n.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cg = read_text(e.path().string() + "/cgroup");
    EXPECT_EQ(cg.find(id), std::string::npos)
        << "process " << n << " left in the container's cgroup";
  }
}

TEST_F(Hooks, FailingCreateRuntimeHookFailsCreateAndLeavesNothing) {
  auto id = new_id("hookfail");
  auto& b = bundle({"/bin/sleep", "1000"}, id);
  b.config()["hooks"] = {
      {"createRuntime", {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "exit 3"}}}}}};
  b.write();
  auto r = oci_detached({"create", "--bundle", b.path(), "--pid-file", b.path() + "/pid", id});
  EXPECT_NE(r.status, 0);
  EXPECT_FALSE(r.err.empty());
  pid_t pid = read_pid_file(b.path() + "/pid");
  if (pid > 0) {
    track(pid);
    EXPECT_TRUE(wait_until([&] { return !pid_alive(pid); }, 3000));
  }
  EXPECT_NE(oci({"state", id}).status, 0);
  expect_nothing_left(*this, id, root_->path());
}

TEST_F(Hooks, TimeoutKillsSleepingHook) {
  auto id = new_id("hooktmo");
  auto& b = bundle({"/bin/sleep", "1000"}, id);
  std::string hp = b.path() + "/hook.pid";
  b.config()["hooks"] = {{"createRuntime",
                          {{{"path", "/bin/sh"},
                            {"args", {"sh", "-c", "echo $$ > " + hp + "; exec sleep 60"}},
                            {"timeout", 1}}}}};
  b.write();
  auto t0 = std::chrono::steady_clock::now();
  auto r = oci_detached({"create", "--bundle", b.path(), id}, 50);
  auto secs =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_NE(r.status, 0) << "a timed-out hook is a failed hook";
  EXPECT_LT(secs, 20) << "timeout 1 not honoured";
  pid_t hook = read_pid_file(hp);
  ASSERT_GT(hook, 0);
  EXPECT_TRUE(wait_until([&] { return !pid_alive(hook); }, 3000)) << "hook process still alive";
  if (pid_alive(hook)) kill(hook, SIGKILL);
  expect_nothing_left(*this, id, root_->path());
}

TEST_F(Hooks, FailingPoststartHookIsOnlyAWarning) {
  // runtime-spec runtime.md: "If any poststart hook fails, the runtime MUST log
  // a warning, but the remaining hooks and lifecycle continue as if the hook had succeeded."
  auto id = new_id("poststart");
  auto& b = bundle({"/bin/sleep", "1000"}, id);
  std::string h = b.path();
  b.config()["hooks"] = {
      {"poststart",
       {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "exit 1"}}},
        {{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo second >> " + h + "/log"}}}}}};
  b.write();
  pid_t pid = create(id, b);
  ASSERT_GT(pid, 0);
  auto r = oci({"start", id});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_text(h + "/log"), "second\n");
  EXPECT_EQ(status_of(id), "running");
  EXPECT_TRUE(pid_alive(pid));
}

TEST_F(Hooks, FailingPoststopHookIsOnlyAWarning) {
  // runtime-spec runtime.md: "If any poststop hook fails, the runtime MUST log
  // a warning, but the remaining hooks and lifecycle continue as if the hook
  // had succeeded." (runtime-tools' poststop_fail)
  auto id = new_id("poststop");
  auto& b = bundle({"true"}, id);
  std::string h = b.path();
  b.config()["hooks"] = {
      {"poststop",
       {{{"path", "/bin/false"}, {"args", {"false"}}},
        {{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo post-stop called >> " + h + "/log"}}}}}};
  b.write();
  pid_t pid = create(id, b);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(oci({"start", id}).status, 0);
  ASSERT_TRUE(wait_until([&] { return status_of(id) == "stopped"; }));
  auto r = oci({"delete", id});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("poststop hook #0"), std::string::npos)
      << "no warning about the failed hook: " << r.err;
  EXPECT_EQ(read_text(h + "/log"), "post-stop called\n");
  EXPECT_NE(oci({"state", id}).status, 0) << "the container should be gone";
}

}  // namespace
}  // namespace berth::test::ocit
