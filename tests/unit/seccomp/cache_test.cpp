#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "base/files.h"
#include "profile_util.h"
#include "support/testenv.h"

namespace berth::seccomp::test {
namespace {

using nlohmann::json;

bool same(const Program& a, const Program& b) {
  return a.flags == b.flags && a.uses_notify == b.uses_notify &&
         a.filter.size() == b.filter.size() &&
         std::memcmp(a.filter.data(), b.filter.data(), a.filter.size() * sizeof(sock_filter)) == 0;
}

oci::Seccomp small() {
  return profile({{"defaultAction", "SCMP_ACT_ERRNO"},
                  {"flags", {"SECCOMP_FILTER_FLAG_LOG"}},
                  {"listenerPath", "/run/agent.sock"},
                  {"syscalls",
                   {{{"names", {"read", "write", "exit_group"}}, {"action", "SCMP_ACT_ALLOW"}},
                    {{"names", {"uname"}}, {"action", "SCMP_ACT_NOTIFY"}}}}});
}

TEST(SeccompCache, HitReturnsTheIdenticalProgram) {
  berth::test::TempDir dir("berth-test-seccomp");
  std::string cache = dir / "cache/seccomp";  // created on demand
  oci::Seccomp s = small();
  auto uncached = compile(s);
  ASSERT_TRUE(uncached.ok()) << uncached.error().message;
  auto first = compile(s, cache);
  ASSERT_TRUE(first.ok()) << first.error().message;
  std::string path = cache_path(s, cache);
  EXPECT_TRUE(path_exists(path)) << path;
  EXPECT_TRUE(path.ends_with(".bpf"));
  auto second = compile(s, cache);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_TRUE(same(*first, *uncached));
  EXPECT_TRUE(same(*second, *uncached));
  EXPECT_TRUE(second->uses_notify);
  EXPECT_EQ(second->flags, static_cast<unsigned>(SECCOMP_FILTER_FLAG_LOG));
}

TEST(SeccompCache, HitDoesNotRecompile) {
  berth::test::TempDir dir("berth-test-seccomp");
  oci::Seccomp s = small();
  ASSERT_TRUE(compile(s, dir.path()).ok());
  std::string path = cache_path(s, dir.path());
  auto bytes = read_file(path);
  ASSERT_TRUE(bytes.ok());
  // Change the last instruction's constant: only a program read back from
  // the file can carry it.
  std::string data = *bytes;
  uint32_t marker = 0x7fff1234;
  std::memcpy(data.data() + data.size() - 4, &marker, 4);
  ASSERT_TRUE(write_file_atomic(path, data).ok());
  auto p = compile(s, dir.path());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->filter.back().k, marker);
}

TEST(SeccompCache, DamagedEntryIsRecompiledAndRewritten) {
  berth::test::TempDir dir("berth-test-seccomp");
  oci::Seccomp s = small();
  auto good = compile(s, dir.path());
  ASSERT_TRUE(good.ok());
  std::string path = cache_path(s, dir.path());
  auto full = read_file(path);
  ASSERT_TRUE(full.ok());
  for (std::string broken :
       {full->substr(0, full->size() / 2), std::string("garbage"), std::string()}) {
    ASSERT_TRUE(write_file_atomic(path, broken).ok());
    auto p = compile(s, dir.path());
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_TRUE(same(*p, *good));
    EXPECT_EQ(*read_file(path), *full);
  }
}

TEST(SeccompCache, KeyFollowsWhatDecidesTheProgram) {
  oci::Seccomp a = small();
  oci::Seccomp b = a;
  b.syscalls[0].names.push_back("close");
  oci::Seccomp c = a;
  c.listener_path = "/run/other-agent.sock";  // does not change the program
  c.listener_metadata = "x";
  oci::Seccomp d = a;
  d.syscalls[1].args.push_back(oci::SeccompArg{0, 1, 0, "SCMP_CMP_EQ"});
  EXPECT_NE(cache_path(a, "/c"), cache_path(b, "/c"));
  EXPECT_NE(cache_path(a, "/c"), cache_path(d, "/c"));
  EXPECT_EQ(cache_path(a, "/c"), cache_path(c, "/c"));
  EXPECT_TRUE(cache_path(a, "/c").starts_with("/c/"));
}

TEST(SeccompCache, HitsAreStillChecked) {
  berth::test::TempDir dir("berth-test-seccomp");
  oci::Seccomp s = small();
  ASSERT_TRUE(compile(s, dir.path()).ok());
  s.listener_path.clear();  // same program, same cache entry, but no agent
  auto p = compile(s, dir.path());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message,
            "linux.seccomp.listenerPath: is required when SCMP_ACT_NOTIFY is used");
}

TEST(SeccompCache, UnwritableCacheDirIsNotAnError) {
  auto p = compile(small(), "/proc/self/berth-no-such-dir");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_FALSE(p->filter.empty());
}

TEST(SeccompCache, ErrorsAreNotCached) {
  berth::test::TempDir dir("berth-test-seccomp");
  oci::Seccomp s = small();
  s.syscalls[0].action = "SCMP_ACT_BOGUS";
  EXPECT_FALSE(compile(s, dir.path()).ok());
  EXPECT_FALSE(path_exists(cache_path(s, dir.path())));
  EXPECT_FALSE(compile(s, dir.path()).ok());
}

// Prints how long the default profile takes to compile with and without the
// cache; timing is reported, never asserted.
TEST(SeccompCache, BenchDefaultProfile) {
  berth::test::TempDir dir("berth-test-seccomp");
  oci::Seccomp s = profile(default_profile());
  using clock = std::chrono::steady_clock;
  auto time_it = [&](int n, const std::string& cache) {
    auto t0 = clock::now();
    for (int i = 0; i < n; ++i) {
      auto p = compile(s, cache);
      EXPECT_TRUE(p.ok());
    }
    return std::chrono::duration<double, std::micro>(clock::now() - t0).count() / n;
  };
  double cold = time_it(20, "");
  auto t0 = clock::now();
  ASSERT_TRUE(compile(s, dir.path()).ok());  // miss: compile + write
  double miss = std::chrono::duration<double, std::micro>(clock::now() - t0).count();
  double hit = time_it(200, dir.path());
  auto p = compile(s, dir.path());
  ASSERT_TRUE(p.ok());
  std::printf(
      "[ bench    ] default profile (%zu BPF instructions): libseccomp %.0f us, "
      "cache miss (compile+store) %.0f us, cache hit %.0f us\n",
      p->filter.size(), cold, miss, hit);
  RecordProperty("compile_us", std::to_string(cold));
  RecordProperty("cache_hit_us", std::to_string(hit));
}

}  // namespace
}  // namespace berth::seccomp::test
