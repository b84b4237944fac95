// What the image tests share: a private --root, a source tree (the busybox
// rootfs plus a hard link, a set-uid file, a fifo, an xattr, other owners),
// archives made from it with tar, a listing that compares trees, and an HTTP
// server on 127.0.0.1 serving a directory.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/testenv.h"
#include "support/tree_listing.h"

namespace berth::test {

namespace fs = std::filesystem;

// Everything of a tree a user would see (support/tree_listing.h).
inline std::string listing(const std::string& dir) {
  return tree_listing(dir, false);
}

inline std::string slurp_file(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

inline std::string sha256_of(const std::string& file) {
  auto r = run({"sha256sum", file});
  return r.out.substr(0, 64);
}

// python3 -m http.server on 127.0.0.1 (only), serving dir; killed (by its
// pid) and reaped when the object goes.
class HttpServer {
 public:
  explicit HttpServer(const std::string& dir) {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::close(s);
    pid_ = ::fork();
    if (pid_ == 0) {
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 1);
      ::dup2(null, 2);
      std::string port = std::to_string(port_);
      ::execlp("python3", "python3", "-m", "http.server", port.c_str(), "--bind", "127.0.0.1",
               "--directory", dir.c_str(), nullptr);
      ::_exit(127);
    }
    // Up once it accepts a connection.
    for (int i = 0; i < 100 && !up(); i++)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ~HttpServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::string url(const std::string& file) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + file;
  }
  bool up() const {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port_);
    bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(s);
    return ok;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

class ImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_UNLESS_ROOT();
    if (!fs::exists(test::berth())) GTEST_SKIP() << "berth binary not built at " << test::berth();
    ::chmod(root_.path().c_str(), 0755);
  }
  // Nothing of a failed import is left: no image NAME, no temporaries.
  void TearDown() override {}

  RunResult berth(const std::vector<std::string>& args, const RunOptions& o = {}) {
    std::vector<std::string> argv = {test::berth(), "--root", root_.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, o);
  }
  std::string images() const { return root_ / "var/lib/berth/images"; }
  std::string rootfs(const std::string& name) const { return images() + "/" + name + "/rootfs"; }
  // What is in the store's directory (temporaries included).
  std::vector<std::string> store_entries() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(images(), ec)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }
  // The busybox rootfs with what a real system has and it lacks.
  const std::string& source() {
    if (source_.empty()) {
      source_ = work_ / "src";
      EXPECT_EQ(run({"cp", "-a", test_rootfs(), source_}).status, 0);
      fs::remove(source_ + "/.berth-rootfs-complete");
      std::string s = source_;
      auto r = sh("set -e; cd " + s +
                  "; echo hello > etc/motd; ln etc/motd etc/motd.link; cp bin/busybox bin/su-like;"
                  " chmod 4755 bin/su-like; mkfifo run/fifo; mkdir -p home/user;"
                  " echo mine > home/user/file; chown -R 1000:1000 home/user; chmod 0700 home/user;"
                  " setfattr -n user.berth -v test etc/motd 2>/dev/null ||"
                  " python3 -c \"import os; os.setxattr('etc/motd', 'user.berth', b'test')\";"
                  " truncate -s 1M var/sparse; touch -d 2020-01-02T03:04:05 etc/motd");
      EXPECT_EQ(r.status, 0) << r.err;
    }
    return source_;
  }
  // tar of source() in the given format ("tar", "tar.gz", "tar.xz", "tar.zst").
  std::string archive(const std::string& format) {
    static const std::map<std::string, std::string> flag = {
        {"tar", ""}, {"tar.gz", "--gzip"}, {"tar.xz", "--xz"}, {"tar.zst", "--zstd"}};
    std::string out = work_ / ("src." + format);
    auto r = sh("tar --xattrs --xattrs-include='user.*' " + flag.at(format) + " -C " + source() +
                " -cf " + out + " .");
    EXPECT_EQ(r.status, 0) << r.err;
    return out;
  }

  TempDir root_{"berth-image"};
  TempDir work_{"berth-image-work"};
  std::string source_;
};

}  // namespace berth::test
