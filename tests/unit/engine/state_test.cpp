// engine/state: a state.json that is not what the engine wrote is an error
// naming the file, never undefined behaviour (a float pid was a cast the
// language leaves undefined).
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/files.h"
#include "engine/spawn.h"
#include "engine/state.h"
#include "support/testenv.h"

namespace berth::engine {
namespace {

TEST(StateStore, SavedIsLoaded) {
  test::TempDir dir("berth-test-state");
  Store store(dir.path());
  State s;
  s.id = "web";
  s.pid = 4321;
  s.start_time = 777;
  s.bundle = "/b";
  s.rootfs = "/b/rootfs";
  s.created = "2026-12-05T00:00:00.000000000Z";
  ASSERT_TRUE(mkdir_p(store.dir("web"), 0700).ok());
  ASSERT_TRUE(store.save(s).ok());
  auto l = store.load("web");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->pid, 4321);
  EXPECT_EQ(l->start_time, 777u);
  EXPECT_EQ(l->rootfs, "/b/rootfs");
}

TEST(StateStore, CorruptNumbersAreAnErrorNamingTheFile) {
  test::TempDir dir("berth-test-state");
  Store store(dir.path());
  ASSERT_TRUE(mkdir_p(store.dir("web"), 0700).ok());
  const std::string rest = R"("bundle": "/b", "rootfs": "/r", "created": "x")";
  for (std::string nums : {
           R"("id": "web", "pid": 1.5, "start_time": 1)",
           R"("id": "web", "pid": 12320000000, "start_time": 1)",
           R"("id": "web", "pid": 1, "start_time": -1)",
           R"("id": "web", "start_time": 1)",
       }) {
    ASSERT_TRUE(
        write_file_atomic(store.dir("web") + "/state.json", "{" + nums + ", " + rest + "}").ok());
    auto l = store.load("web");
    ASSERT_FALSE(l) << nums;
    EXPECT_NE(l.error().message.find("state.json is corrupt"), std::string::npos)
        << l.error().message;
  }
  EXPECT_FALSE(store.load("nothere"));
}

TEST(StateStore, IdsAreTheDirsWithAStateFileSorted) {
  test::TempDir dir("berth-test-state");
  Store store(dir.path());
  EXPECT_TRUE(Store(dir / "none").ids().value().empty());  // no root yet: no containers
  for (auto id : {"b", "a", ".cache", "half"}) ASSERT_TRUE(mkdir_p(store.dir(id), 0700).ok());
  for (auto id : {"b", "a", ".cache"})
    ASSERT_TRUE(write_file_atomic(store.dir(id) + "/state.json", "{}").ok());
  EXPECT_EQ(store.ids().value(), (std::vector<std::string>{"a", "b"}));
}

TEST(StateStore, IdsAreLettersDigitsAndUnderscoreDashDotPlus) {
  for (auto ok : {"web", "a.b-c_d+e", "0", "x..y"}) EXPECT_TRUE(validate_id(ok)) << ok;
  for (auto bad : {"", ".", "..", "a/b", "../x", "a b", "é", "a\nb"})
    EXPECT_FALSE(validate_id(bad)) << bad;
}

TEST(PidFile, WrittenAtomicallyRelativeToTheWorkingDirectory) {
  test::TempDir dir("berth-test-pidfile");
  ASSERT_TRUE(write_pid_file(dir / "abs.pid", 42).ok());
  EXPECT_EQ(read_file(dir / "abs.pid").value(), "42");
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(::chdir(dir.path().c_str()), 0);
  auto r = write_pid_file("rel.pid", 7);
  ASSERT_EQ(::chdir(cwd), 0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(read_file(dir / "rel.pid").value(), "7");
  EXPECT_TRUE(write_pid_file("", 1).ok());  // none asked for
}

}  // namespace
}  // namespace berth::engine
