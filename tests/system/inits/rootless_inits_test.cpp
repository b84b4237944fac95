// Booted guests of every init under a rootless berth (#14). The guest's tree
// is copied and given the owners the user's container maps (root inside is
// the user; uid N > 0 inside is the user's subordinate id start + N - 1), and
// berth, run as that user in a network namespace of the test's, boots it:
// start returns once the init runs, `run` works as root inside, a reboot
// from inside starts a new init, and `stop` powers it off with the init's
// own halt signal within timeout_stop (nothing SIGKILLed).
#include <filesystem>

#include "integration/rootless/fixture.h"
#include "system/inits/guests.h"

namespace berth::test::rootless {
namespace {

using namespace std::chrono_literals;

// The start of the user's range in a subuid/subgid file.
uint64_t range_start(const std::string& file, const std::string& user) {
  std::istringstream in(slurp(file));
  for (std::string l; std::getline(in, l);)
    if (l.rfind(user + ":", 0) == 0) return std::stoull(l.substr(user.size() + 1));
  return 0;
}

class RootlessInits : public RootlessBerth, public ::testing::WithParamInterface<Guest> {
 protected:
  void SetUp() override {
    RootlessBerth::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    g_ = GetParam();
    if (::access((fixture(g_.kind) + "/.berth-init-recipe").c_str(), F_OK) != 0)
      GTEST_SKIP() << "no " << g_.kind << " tree at " << fixture(g_.kind) << " (ctest fixture_init_"
                   << g_.kind << " builds it: tests/fixtures/make-init-guest.sh)";
    // The copy on a tmpfs of its own (TempDir unmounts it): removing 180 MB
    // from an ext4 mounted with discard took 30 s on one VM of this kind.
    // Before the namespace below, whose mount namespace copies it.
    guest_ = dir_ / "home/guest";
    ASSERT_EQ(::mkdir(guest_.c_str(), 0755), 0);
    ASSERT_EQ(::mount("tmpfs", guest_.c_str(), "tmpfs", 0, "mode=755"), 0) << std::strerror(errno);
    auto cp = run({"cp", "-a", fixture(g_.kind) + "/.", guest_ + "/"}, {.timeout_sec = 300});
    ASSERT_EQ(cp.status, 0) << cp.err;
    uint64_t gid_start = range_start("/etc/subgid", user_.name);
    ASSERT_GT(gid_start, 0u);
    shift_owners(gid_start);
    if (HasFatalFailure()) return;
    netns_ = std::make_unique<HostNetns>();
    if (netns_->pid < 0) GTEST_SKIP() << "no network namespace of the test's own: " << netns_->why;
    ASSERT_EQ(as_user({"list"}).status, 0);
    declare("[containers.g]\npath = \"" + guest_ +
            "\"\nboot = true\ntimeout_start = \"60s\"\ntimeout_stop = \"30s\"\n");
  }
  void TearDown() override {
    if (!guest_.empty()) {
      as_user({"terminate", "g"});
      // Only the test's own tmpfs is left there.
      EXPECT_EQ(host_mounts_matching(guest_).size(), 1u);
    }
    RootlessBerth::TearDown();
  }

  // Owners as the container maps them (chown clears set-id bits: they are
  // put back).
  void shift_owners(uint64_t gid_start) {
    auto shift = [&](const std::string& p) {
      struct stat st;
      ASSERT_EQ(::lstat(p.c_str(), &st), 0) << p;
      ASSERT_LE(st.st_uid, user_.sub_count) << p;
      ASSERT_LE(st.st_gid, user_.sub_count) << p;
      uid_t uid = st.st_uid == 0 ? user_.uid : static_cast<uid_t>(user_.sub_start + st.st_uid - 1);
      gid_t gid = st.st_gid == 0 ? user_.gid : static_cast<gid_t>(gid_start + st.st_gid - 1);
      ASSERT_EQ(::lchown(p.c_str(), uid, gid), 0) << p << ": " << std::strerror(errno);
      if (!S_ISLNK(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID))) {
        ASSERT_EQ(::chmod(p.c_str(), st.st_mode & 07777), 0) << p;
      }
    };
    shift(guest_);
    for (auto& e : std::filesystem::recursive_directory_iterator(guest_)) {
      shift(e.path());
      if (HasFatalFailure()) return;
    }
  }

  std::string logs() { return as_user({"logs", "g"}).out; }
  std::string state() { return status_json("g").value("state", ""); }
  int init_pid() {
    auto s = status_json("g");
    return s.contains("pid") && s["pid"].is_number() ? s["pid"].get<int>() : 0;
  }
  // Runs cmd inside; its stdout without the trailing newline.
  std::string in_guest(const std::string& cmd) {
    auto r = as_user({"run", "g", "--", "/bin/sh", "-c", cmd});
    while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == '\r')) r.out.pop_back();
    return r.out;
  }
  // Its boot has finished once the console getty runs (runit, for one, acts
  // on a halt or reboot only from its stage 2 on).
  bool booted() {
    return eventually(
        [&] { return in_guest("pidof getty agetty >/dev/null && echo yes") == "yes"; }, 120s);
  }

  Guest g_{};
  std::string guest_;
};

TEST_P(RootlessInits, BootsRunsRebootsAndStopsWithItsHaltSignal) {
  auto s = as_user({"start", "g"});
  ASSERT_EQ(s.status, 0) << s.err << logs();
  auto st = status_json("g");
  EXPECT_EQ(st.value("state", ""), "up") << st.dump();
  EXPECT_EQ(st.value("init", ""), g_.init) << st.dump();
  EXPECT_EQ(st.value("ready_on", ""), "started") << st.dump();
  // Its init runs as the user on the host and as root inside.
  int pid1 = init_pid();
  ASSERT_GT(pid1, 0);
  EXPECT_NE(slurp("/proc/" + std::to_string(pid1) + "/status")
                .find("\nUid:\t" + std::to_string(user_.uid) + "\t"),
            std::string::npos);
  EXPECT_EQ(in_guest("echo $((6*7)) $(id -u)"), "42 0");
  EXPECT_EQ(in_guest("stat -c %u /etc/shadow"), "0");

  // A reboot from inside: a new init, up again.
  ASSERT_TRUE(booted()) << logs();
  in_guest(std::string(g_.reboot) + " >/dev/null 2>&1 &");
  ASSERT_TRUE(eventually(
      [&] {
        int p = init_pid();
        return p > 0 && p != pid1 && state() == "up";
      },
      90s))
      << logs();
  EXPECT_NE(logs().find("reboot requested"), std::string::npos) << logs();
  EXPECT_EQ(in_guest("echo back"), "back");

  // stop: the init's halt signal, powered off without a kill.
  int pid2 = init_pid();
  ASSERT_TRUE(booted()) << logs();
  auto stop = as_user({"stop", "g"});
  EXPECT_EQ(stop.status, 0) << stop.err;
  EXPECT_EQ(state(), "down");
  EXPECT_FALSE(pid_alive(pid2));
  auto log = logs();
  EXPECT_NE(log.find(std::string("sending ") + g_.halt + " to the init"), std::string::npos) << log;
  EXPECT_NE(log.find("powered off"), std::string::npos) << log;
  EXPECT_EQ(log.find("stop timeout"), std::string::npos) << log;
  EXPECT_EQ(log.find("signal 9"), std::string::npos) << log;
}

INSTANTIATE_TEST_SUITE_P(Guests, RootlessInits, ::testing::ValuesIn(kGuests),
                         [](const ::testing::TestParamInfo<Guest>& i) {
                           return std::string(i.param.kind);
                         });

}  // namespace
}  // namespace berth::test::rootless
