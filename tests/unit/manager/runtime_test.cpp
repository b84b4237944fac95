// manager/runtime: status.json as the CLI reads it. A file with a number of
// the wrong kind is no status at all (it was undefined behaviour: fuzz_control
// found "monitor_pid": 12320000000.5).
#include <gtest/gtest.h>

#include "base/files.h"
#include "manager/runtime.h"
#include "support/testenv.h"

namespace berth::manager {
namespace {

class Status : public ::testing::Test {
 protected:
  test::TempDir dir_{"berth-test-status"};
  decl::Paths paths_ = decl::Paths::under(dir_.path());
  RunDir rd_{paths_, "web"};
  void write(const std::string& text) {
    ASSERT_TRUE(mkdir_p(rd_.dir, 0700).ok());
    ASSERT_TRUE(write_file_atomic(rd_.status(), text).ok());
  }
};

TEST_F(Status, WrittenIsRead) {
  MonitorStatus s;
  s.state = "running";
  s.monitor_pid = 1234;
  s.monitor_start = 99;
  s.pid = 1240;
  s.started_at = 1.7e9;
  s.restarts = 2;
  ASSERT_TRUE(mkdir_p(rd_.dir, 0700).ok());
  ASSERT_TRUE(write_status(rd_, s).ok());
  auto r = read_status(rd_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, "running");
  EXPECT_EQ(r->monitor_pid, 1234);
  EXPECT_EQ(r->monitor_start, 99u);
  EXPECT_EQ(r->pid, 1240);
  EXPECT_EQ(r->restarts, 2);
}

TEST_F(Status, NumbersOfTheWrongKindAreNoStatus) {
  for (const char* bad : {
           R"({"state": "running", "monitor_pid": 12320000000.5})",
           R"({"state": "running", "monitor_pid": 12320000000})",
           R"({"state": "running", "pid": -1e300})",
           R"({"state": "running", "monitor_start": -1})",
           R"({"state": "running", "restarts": 1.5})",
           R"({"state": "running", "started_at": 1e300})",
           R"({"state": "running", "started_at": -5})",
           R"({"state": 7})",
       }) {
    write(bad);
    EXPECT_FALSE(read_status(rd_)) << bad;
  }
  write(R"({"state": "running"})");
  auto r = read_status(rd_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->monitor_pid, 0);
}

}  // namespace
}  // namespace berth::manager
