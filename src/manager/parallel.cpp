#include "manager/parallel.h"

#include <sched.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace berth::manager {

int default_jobs() {
  cpu_set_t set;
  int cpus = ::sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 0;
  if (cpus < 1) cpus = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(2, 2 * cpus);
}

std::vector<Result<void>> run_jobs(std::vector<Job>& list, int jobs,
                                   const std::function<void(size_t, const Result<void>&)>& done) {
  const size_t n = list.size();
  std::vector<Result<void>> results(n, ok());
  if (n == 0) return results;
  if (jobs < 1) jobs = default_jobs();

  std::map<std::string, size_t> index;
  for (size_t i = 0; i < n; i++) index.emplace(list[i].name, i);
  // deps[i]: the jobs i waits for; waiting[i]: how many of them have not ended.
  std::vector<std::vector<size_t>> dependents(n);
  std::vector<size_t> waiting(n, 0);
  for (size_t i = 0; i < n; i++)
    for (const auto& a : list[i].after) {
      auto it = index.find(a);
      if (it == index.end() || it->second == i) continue;
      dependents[it->second].push_back(i);
      waiting[i]++;
    }
  enum class State { Waiting, Running, Ended };
  std::vector<State> state(n, State::Waiting);
  std::vector<std::string> failed_dep(n);  // non-empty: do not run, this one failed

  std::mutex mu;
  std::condition_variable cv;
  size_t ended = 0, running = 0;

  // Called under mu: marks i ended and releases its dependents.
  auto finish = [&](size_t i, Result<void> r, auto& self) -> void {
    bool failed = !r.ok();
    results[i] = std::move(r);
    state[i] = State::Ended;
    ended++;
    if (done) done(i, results[i]);
    for (size_t d : dependents[i]) {
      if (state[d] == State::Ended) continue;  // ended by a cycle
      if (failed && failed_dep[d].empty()) failed_dep[d] = list[i].name;
      if (--waiting[d] == 0 && !failed_dep[d].empty()) {
        // Never run: it ends now, and so may its own dependents.
        self(d, Result<void>(make_error("not started: {} failed", failed_dep[d])), self);
      }
    }
  };

  auto next = [&]() -> std::optional<size_t> {
    for (size_t i = 0; i < n; i++)
      if (state[i] == State::Waiting && waiting[i] == 0 && failed_dep[i].empty()) return i;
    return std::nullopt;
  };

  auto worker = [&] {
    std::unique_lock<std::mutex> g(mu);
    for (;;) {
      std::optional<size_t> i;
      cv.wait(g, [&] {
        if (ended == n) return true;
        i = next();
        if (i) return true;
        if (running == 0) return true;  // nothing runs and nothing can: a cycle
        return false;
      });
      if (ended == n) break;
      if (!i) {
        // A cycle (run_jobs' callers validate `after`, so only by mistake).
        for (size_t k = 0; k < n; k++)
          if (state[k] == State::Waiting)
            finish(k, Result<void>(make_error("not started: `after` forms a cycle")), finish);
        cv.notify_all();
        continue;
      }
      state[*i] = State::Running;
      running++;
      g.unlock();
      Result<void> r = list[*i].run ? list[*i].run() : ok();
      g.lock();
      running--;
      finish(*i, std::move(r), finish);
      cv.notify_all();
    }
  };

  size_t threads = std::min(n, static_cast<size_t>(jobs));
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (size_t t = 0; t < threads; t++) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  return results;
}

}  // namespace berth::manager
