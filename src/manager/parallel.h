// Runs a set of named jobs on a bounded number of threads, each after the
// jobs it depends on: how apply, boot and the multi-name verbs start and
// stop independent containers in parallel, in `after` order.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/result.h"

namespace berth::manager {

struct Job {
  std::string name;
  std::vector<std::string> after;  // names of other jobs; unknown names are ignored
  std::function<Result<void>()> run;
};

// How many jobs run at once by default: twice the CPUs this process may use
// (a start mostly waits: on execs, on its monitor, on the kernel), at least 2.
int default_jobs();

// Runs every job once its `after` jobs have ended, at most `jobs` at a time
// (jobs < 1: default_jobs()). A job whose `after` job failed is not run: its
// result is "not started: NAME failed" (a cycle: "not started: `after`
// forms a cycle"). `done`, when set, is called with each job's index and
// result as it ends, one call at a time. Returns the results in job order.
std::vector<Result<void>> run_jobs(
    std::vector<Job>& jobs_list, int jobs,
    const std::function<void(size_t, const Result<void>&)>& done = {});

}  // namespace berth::manager
