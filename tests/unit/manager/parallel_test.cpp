// manager::run_jobs: the bounded, `after`-ordered job runner of apply, boot
// and the multi-name verbs.
#include "manager/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace berth::manager {
namespace {

using namespace std::chrono_literals;

// Records the order jobs start and end in, and how many ran at once.
struct Recorder {
  std::mutex mu;
  std::vector<std::string> started, ended;
  int now = 0, most = 0;

  std::function<Result<void>()> job(const std::string& name, bool fail = false,
                                    std::chrono::milliseconds take = 20ms) {
    return [this, name, fail, take]() -> Result<void> {
      {
        std::lock_guard<std::mutex> g(mu);
        started.push_back(name);
        most = std::max(most, ++now);
      }
      std::this_thread::sleep_for(take);
      std::lock_guard<std::mutex> g(mu);
      now--;
      ended.push_back(name);
      if (fail) return make_error("{} failed on purpose", name);
      return ok();
    };
  }
  size_t pos(const std::vector<std::string>& v, const std::string& n) {
    return std::find(v.begin(), v.end(), n) - v.begin();
  }
};

TEST(RunJobs, IndependentJobsRunInParallelUpToTheBound) {
  Recorder rec;
  std::vector<Job> jobs;
  for (int i = 0; i < 12; i++)
    jobs.push_back({"j" + std::to_string(i), {}, rec.job("j" + std::to_string(i))});
  auto results = run_jobs(jobs, 4);
  ASSERT_EQ(results.size(), 12u);
  for (auto& r : results) EXPECT_TRUE(r.ok());
  EXPECT_EQ(rec.ended.size(), 12u);
  EXPECT_LE(rec.most, 4);
  EXPECT_GE(rec.most, 2);  // 12 jobs of 20 ms on 4 threads overlap
}

TEST(RunJobs, OneJobAtATimeWhenBoundIsOne) {
  Recorder rec;
  std::vector<Job> jobs;
  for (int i = 0; i < 5; i++)
    jobs.push_back({"j" + std::to_string(i), {}, rec.job("j" + std::to_string(i), false, 2ms)});
  run_jobs(jobs, 1);
  EXPECT_EQ(rec.most, 1);
  EXPECT_EQ(rec.started, (std::vector<std::string>{"j0", "j1", "j2", "j3", "j4"}));
}

TEST(RunJobs, AJobStartsOnlyAfterThoseItComesAfterHaveEnded) {
  Recorder rec;
  // d after b and c; b and c after a; e independent; x after a name not here.
  std::vector<Job> jobs = {{"d", {"b", "c"}, rec.job("d")}, {"b", {"a"}, rec.job("b")},
                           {"c", {"a"}, rec.job("c")},      {"a", {}, rec.job("a")},
                           {"e", {}, rec.job("e")},         {"x", {"nothere"}, rec.job("x")}};
  auto results = run_jobs(jobs, 8);
  for (auto& r : results) EXPECT_TRUE(r.ok());
  ASSERT_EQ(rec.ended.size(), 6u);
  EXPECT_LT(rec.pos(rec.ended, "a"), rec.pos(rec.started, "b"));
  EXPECT_LT(rec.pos(rec.ended, "a"), rec.pos(rec.started, "c"));
  EXPECT_LT(rec.pos(rec.ended, "b"), rec.pos(rec.started, "d"));
  EXPECT_LT(rec.pos(rec.ended, "c"), rec.pos(rec.started, "d"));
}

TEST(RunJobs, AFailureStopsWhatComesAfterItAndNothingElse) {
  Recorder rec;
  std::vector<Job> jobs = {{"a", {}, rec.job("a", true)},
                           {"b", {"a"}, rec.job("b")},
                           {"c", {"b"}, rec.job("c")},
                           {"d", {}, rec.job("d")}};
  std::vector<std::string> reported;
  auto results = run_jobs(jobs, 2, [&](size_t i, const Result<void>& r) {
    reported.push_back(jobs[i].name + (r ? ":ok" : ":" + r.error().message));
  });
  EXPECT_FALSE(results[0].ok());
  ASSERT_FALSE(results[1].ok());
  EXPECT_EQ(results[1].error().message, "not started: a failed");
  ASSERT_FALSE(results[2].ok());
  EXPECT_EQ(results[2].error().message, "not started: b failed");
  EXPECT_TRUE(results[3].ok());
  EXPECT_EQ(rec.started.size(), 2u);  // a and d only
  EXPECT_EQ(reported.size(), 4u);     // each job reported once
}

TEST(RunJobs, ACycleIsReportedNotAHang) {
  Recorder rec;
  std::vector<Job> jobs = {{"a", {"b"}, rec.job("a")},
                           {"b", {"a"}, rec.job("b")},
                           {"c", {}, rec.job("c")},
                           {"d", {"a"}, rec.job("d")}};
  auto results = run_jobs(jobs, 3);
  EXPECT_FALSE(results[0].ok());
  EXPECT_FALSE(results[1].ok());
  EXPECT_TRUE(results[2].ok());
  EXPECT_FALSE(results[3].ok());
  EXPECT_EQ(rec.started, std::vector<std::string>{"c"});
}

TEST(RunJobs, NoJobsAndDefaultBound) {
  std::vector<Job> none;
  EXPECT_TRUE(run_jobs(none, 0).empty());
  EXPECT_GE(default_jobs(), 2);
}

}  // namespace
}  // namespace berth::manager
