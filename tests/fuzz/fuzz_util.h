// What the fuzz targets share: an invariant check that aborts (so libFuzzer
// reports the input) with a message, outside of any assert() that NDEBUG
// could compile away.
#pragma once

#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#define FUZZ_CHECK(cond, ...)                                     \
  do {                                                            \
    if (!(cond)) {                                                \
      std::fprintf(stderr, "fuzz invariant failed: %s: ", #cond); \
      std::fprintf(stderr, __VA_ARGS__);                          \
      std::fprintf(stderr, "\n");                                 \
      std::abort();                                               \
    }                                                             \
  } while (0)

// A scratch directory under /tmp for the whole fuzzing run, removed at exit
// (libFuzzer exits normally at the end of -max_total_time; after a crash it
// may stay behind, named berth-fuzz-*).
inline const std::string& fuzz_scratch_dir() {
  // Never destroyed: the exit handler below reads it after static
  // destructors registered later have run.
  static const std::string* dir = [] {
    char tmpl[] = "/tmp/berth-fuzz-XXXXXX";
    FUZZ_CHECK(::mkdtemp(tmpl) != nullptr, "mkdtemp");
    auto* d = new std::string(tmpl);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(fuzz_scratch_dir(), ec);
    });
    return d;
  }();
  return *dir;
}
