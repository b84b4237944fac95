#include "net/hosts.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "base/files.h"
#include "support/testenv.h"

namespace berth::net {
namespace {

IpAddress A(const char* s) {
  return *parse_address(s);
}

const std::string kOriginal =
    "127.0.0.1\tlocalhost\n"
    "::1 localhost ip6-localhost\n"
    "# a comment the user wrote\n"
    "192.168.1.10 nas   # trailing words\n";

TEST(HostsBlock, AddsABlockAtTheEnd) {
  std::string out = hosts_block_set(kOriginal, "web", {A("10.233.1.2"), A("fd62:6572:7468:1::2")});
  EXPECT_EQ(out, kOriginal +
                     "# BEGIN berth\n"
                     "10.233.1.2 web.containers\n"
                     "fd62:6572:7468:1::2 web.containers\n"
                     "# END berth\n");
}

TEST(HostsBlock, ReplacesOnlyThatContainersLines) {
  std::string s = hosts_block_set(kOriginal, "web", {A("10.233.1.2")});
  s = hosts_block_set(s, "db", {A("10.233.2.2")});
  s = hosts_block_set(s, "web", {A("10.233.9.2")});
  auto e = hosts_block_entries(s);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0], std::make_pair(std::string("10.233.2.2"), std::string("db.containers")));
  EXPECT_EQ(e[1], std::make_pair(std::string("10.233.9.2"), std::string("web.containers")));
  EXPECT_EQ(s.substr(0, kOriginal.size()), kOriginal);
  // "web" must not match "web2" or "xweb".
  s = hosts_block_set(s, "web2", {A("10.233.3.2")});
  s = hosts_block_remove(s, "web");
  e = hosts_block_entries(s);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[1].second, "web2.containers");
}

TEST(HostsBlock, RemovingTheLastEntryRestoresTheFileByteForByte) {
  std::string s = hosts_block_set(kOriginal, "web", {A("10.233.1.2")});
  s = hosts_block_set(s, "db", {A("10.233.2.2")});
  s = hosts_block_remove(s, "web");
  s = hosts_block_remove(s, "db");
  EXPECT_EQ(s, kOriginal);
  EXPECT_EQ(hosts_block_remove(kOriginal, "web"), kOriginal);
}

TEST(HostsBlock, KeepsTextAfterTheBlockAndNoTrailingNewline) {
  std::string with_after =
      kOriginal + "# BEGIN berth\n10.233.1.2 web.containers\n# END berth\n10.0.0.9 after\n";
  std::string s = hosts_block_set(with_after, "db", {A("10.233.2.2")});
  EXPECT_EQ(s,
            kOriginal +
                "# BEGIN berth\n10.233.1.2 web.containers\n10.233.2.2 db.containers\n# END berth\n"
                "10.0.0.9 after\n");
  EXPECT_EQ(hosts_block_remove(hosts_block_remove(s, "db"), "web"), kOriginal + "10.0.0.9 after\n");
  std::string no_nl = "127.0.0.1 localhost";
  EXPECT_EQ(hosts_block_set(no_nl, "a", {A("10.233.0.2")}),
            "127.0.0.1 localhost\n# BEGIN berth\n10.233.0.2 a.containers\n# END berth\n");
}

// Found by fuzz_hosts: a BEGIN whose END was cut off is the user's text; a
// second set took it (and the lines after it) into the block.
TEST(HostsBlock, ABeginWithoutItsEndStaysTheUsers) {
  const std::string cut =
      "127.0.0.1 localhost\n# BEGIN berth\n10.233.0.5 db.containers\n192.168.1.1 router\n";
  std::string once = hosts_block_set(cut, "web", {A("10.233.0.2")});
  EXPECT_EQ(once, cut + "# BEGIN berth\n10.233.0.2 web.containers\n# END berth\n");
  EXPECT_EQ(hosts_block_set(once, "web", {A("10.233.0.2")}), once);
  EXPECT_EQ(hosts_block_remove(once, "web"), cut);
}

TEST(HostsFile, AddAndRemoveOnDisk) {
  test::TempDir dir("berth-test-hosts");
  std::string path = dir / "hosts";
  ASSERT_TRUE(write_file_atomic(path, kOriginal, 0640).ok());
  ASSERT_TRUE(hosts_add(path, "web", {A("10.233.1.2"), A("fd62:6572:7468:1::2")}).ok());
  auto content = read_file(path);
  ASSERT_TRUE(content.ok());
  EXPECT_NE(content->find("10.233.1.2 web.containers\n"), std::string::npos);
  EXPECT_NE(content->find("fd62:6572:7468:1::2 web.containers\n"), std::string::npos);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_FALSE(path_exists(path + ".tmp"));
  ASSERT_TRUE(hosts_remove(path, "web").ok());
  EXPECT_EQ(*read_file(path), kOriginal);
}

TEST(HostsFile, SymlinkIsFollowed) {
  test::TempDir dir("berth-test-hosts");
  ASSERT_TRUE(write_file_atomic(dir / "real-hosts", kOriginal).ok());
  ASSERT_EQ(::symlink("real-hosts", (dir / "hosts").c_str()), 0);
  ASSERT_TRUE(hosts_add(dir / "hosts", "web", {A("10.233.1.2")}).ok());
  struct stat st;
  ASSERT_EQ(::lstat((dir / "hosts").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_NE(read_file(dir / "real-hosts")->find("10.233.1.2 web.containers"), std::string::npos);
  ASSERT_TRUE(hosts_remove(dir / "hosts", "web").ok());
  EXPECT_EQ(*read_file(dir / "real-hosts"), kOriginal);
}

TEST(HostsFile, MissingFile) {
  test::TempDir dir("berth-test-hosts");
  std::string path = dir / "hosts";
  ASSERT_TRUE(hosts_remove(path, "web").ok());
  EXPECT_FALSE(path_exists(path));
  ASSERT_TRUE(hosts_add(path, "web", {A("10.233.1.2")}).ok());
  EXPECT_EQ(*read_file(path), "# BEGIN berth\n10.233.1.2 web.containers\n# END berth\n");
  EXPECT_FALSE(hosts_add(dir / "no/such/dir/hosts", "web", {A("10.233.1.2")}).ok());
}

}  // namespace
}  // namespace berth::net

namespace berth::net {
namespace {

// Monitors start and stop in parallel (apply, boot, start A B C): every
// edit of the shared hosts file must survive the others.
TEST(HostsFile, ParallelEditsLoseNothing) {
  test::TempDir dir("berth-test-hosts");
  std::string path = dir / "hosts";
  ASSERT_TRUE(write_file_atomic(path, kOriginal).ok());
  constexpr int kN = 24;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < kN; i++)
    threads.emplace_back([&, i] {
      std::string ip = "10.233." + std::to_string(i) + ".2";
      for (int round = 0; round < 5; round++) {
        if (!hosts_add(path, "c" + std::to_string(i), {A(ip.c_str())}).ok()) failures++;
        // Odd containers go again each round, even ones stay.
        if (i % 2 == 1 && round < 4 && !hosts_remove(path, "c" + std::to_string(i)).ok())
          failures++;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  auto content = read_file(path);
  ASSERT_TRUE(content.ok());
  for (int i = 0; i < kN; i++)
    EXPECT_NE(
        content->find("10.233." + std::to_string(i) + ".2 c" + std::to_string(i) + ".containers\n"),
        std::string::npos)
        << i << "\n"
        << *content;
  EXPECT_EQ(hosts_block_entries(*content).size(), static_cast<size_t>(kN));
  for (int i = 0; i < kN; i++) ASSERT_TRUE(hosts_remove(path, "c" + std::to_string(i)).ok());
  EXPECT_EQ(*read_file(path), kOriginal);
}

}  // namespace
}  // namespace berth::net
