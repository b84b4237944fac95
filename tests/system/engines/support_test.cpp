// The engines tier's harness (named *_test.cpp so the tier's glob builds it):
// namespace holder, process/cgroup/mount scans, and the operation x runtime
// table printed after the last test.
#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "engines_support.h"

namespace fs = std::filesystem;

namespace berth::test::engines {

std::vector<Runtime> runtimes() {
  std::vector<Runtime> v;
  v.push_back({"berth", berth_oci(), false});
  v.push_back({"crun", "/usr/bin/crun", true});
  return v;
}

std::string runtime_param_name(const Runtime& r) {
  return r.name;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

RunOptions opts(int timeout_sec, std::map<std::string, std::string> env, std::string stdin_data) {
  RunOptions o;
  o.timeout_sec = timeout_sec;
  o.env = std::move(env);
  o.stdin_data = std::move(stdin_data);
  return o;
}

std::string describe(const RunResult& r) {
  return "status " + std::to_string(r.status) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

NsHolder::NsHolder(const Options& o) : net_(o.net) {
  std::string script = "set -e; mount --make-rprivate /; ";
  if (o.net) script += "ip link set lo up; ";
  if (o.hide_unified)
    script += "umount /sys/fs/cgroup/unified 2>/dev/null || umount -l /sys/fs/cgroup/unified; ";
  for (auto& d : o.tmpfs)
    script += "mkdir -p " + d + "; mount -t tmpfs -o mode=755 tmpfs " + d + "; ";
  script += "echo ready; exec sleep 100000";
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    error_ = "pipe failed";
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    setpgid(0, 0);
    std::vector<std::string> argv = {"unshare", "-m"};
    if (o.net) argv.push_back("-n");
    argv.insert(argv.end(), {"--", "/bin/sh", "-c", script});
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
  close(p[1]);
  char buf[64] = {};
  ssize_t n = read(p[0], buf, sizeof buf - 1);
  close(p[0]);
  if (n <= 0 || std::string(buf).find("ready") == std::string::npos) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    error_ = "namespace holder did not start";
    return;
  }
  pid_ = pid;
}

NsHolder::~NsHolder() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::vector<std::string> NsHolder::prefix() const {
  std::vector<std::string> v = {"nsenter", "-t", std::to_string(pid_), "-m"};
  if (net_) v.push_back("-n");
  v.push_back("--");
  return v;
}

std::vector<pid_t> processes_mentioning(const std::string& needle) {
  std::vector<pid_t> out;
  pid_t self = getpid();
  for (auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    pid_t pid = std::stoi(name);
    if (pid == self) continue;
    std::ifstream f(e.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.find(needle) != std::string::npos) out.push_back(pid);
  }
  return out;
}

static std::vector<std::string> hierarchies() {
  std::vector<std::string> v;
  std::error_code ec;
  for (auto& e : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    if (e.is_directory() && !e.is_symlink()) v.push_back(e.path());
  }
  return v;
}

std::vector<std::string> cgroups_matching(const std::string& needle) {
  std::vector<std::string> out;
  for (auto& h : hierarchies()) {
    std::error_code ec;
    for (auto it =
             fs::recursive_directory_iterator(h, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (!it->is_directory()) {
        it.disable_recursion_pending();
        continue;
      }
      if (it->path().string().find(needle) != std::string::npos) {
        out.push_back(it->path());
        it.disable_recursion_pending();
      }
    }
  }
  return out;
}

void remove_cgroup_tree(const std::string& top) {
  for (auto& h : hierarchies()) {
    fs::path root = fs::path(h) / top;
    std::error_code ec;
    if (!fs::is_directory(root, ec)) continue;
    std::vector<fs::path> dirs;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (it->is_directory()) dirs.push_back(it->path());
    }
    std::sort(dirs.begin(), dirs.end(),
              [](auto& a, auto& b) { return a.string().size() > b.string().size(); });
    for (auto& d : dirs) rmdir(d.c_str());
    rmdir(root.c_str());
  }
}

std::string cgroup_of(pid_t pid, const std::string& controller) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line;
  while (std::getline(f, line)) {
    // id:controllers:path
    auto a = line.find(':');
    auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1);
    std::stringstream ss(ctrls);
    std::string c;
    while (std::getline(ss, c, ','))
      if (c == controller) return "/sys/fs/cgroup/" + ctrls + line.substr(b + 1);
  }
  return "";
}

static std::string unescape_mount(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string> mounts_under(const std::string& prefix, pid_t pid) {
  std::vector<std::string> out;
  std::ifstream f(pid ? "/proc/" + std::to_string(pid) + "/mountinfo" : "/proc/self/mountinfo");
  std::string line;
  while (std::getline(f, line)) {
    std::stringstream ss(line);
    std::string id, parent, dev, root, mp;
    ss >> id >> parent >> dev >> root >> mp;
    mp = unescape_mount(mp);
    if (mp == prefix || mp.rfind(prefix + "/", 0) == 0) out.push_back(mp);
  }
  return out;
}

void unmount_under(const std::string& prefix, pid_t pid) {
  for (int round = 0; round < 5; ++round) {
    auto m = mounts_under(prefix, pid);
    if (m.empty()) return;
    std::sort(m.begin(), m.end(), [](auto& a, auto& b) { return a.size() > b.size(); });
    for (auto& mp : m) {
      if (pid)
        run({"nsenter", "-t", std::to_string(pid), "-m", "--", "umount", "-l", mp});
      else
        umount2(mp.c_str(), MNT_DETACH);
    }
  }
}

namespace {

// Prints which operation passed on which runtime, after the last test.
// Test names are Suite/Fixture.Operation/runtime.
class TableEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    std::map<std::string, std::map<std::string, std::string>> table;
    std::vector<std::string> cols;
    auto* ut = ::testing::UnitTest::GetInstance();
    for (int i = 0; i < ut->total_test_suite_count(); ++i) {
      const auto* suite = ut->GetTestSuite(i);
      std::string sname = suite->name();
      auto slash = sname.find('/');
      std::string engine = slash == std::string::npos ? sname : sname.substr(slash + 1);
      for (int j = 0; j < suite->total_test_count(); ++j) {
        const auto* t = suite->GetTestInfo(j);
        if (!t->should_run()) continue;
        std::string tname = t->name();
        std::string runtime = "-";
        auto s2 = tname.rfind('/');
        if (s2 != std::string::npos) {
          runtime = tname.substr(s2 + 1);
          tname = tname.substr(0, s2);
        }
        const auto* r = t->result();
        std::string v = r->Skipped() ? "skip" : r->Failed() ? "FAIL" : "pass";
        table[engine + " " + tname][runtime] = v;
        if (std::find(cols.begin(), cols.end(), runtime) == cols.end()) cols.push_back(runtime);
      }
    }
    if (table.empty()) return;
    size_t w = 10;
    for (auto& [op, _] : table) w = std::max(w, op.size());
    std::ostringstream o;
    o << "\n== engines tier: operation x runtime ==\n";
    o << std::string(w, ' ');
    for (auto& c : cols) o << "  " << c << std::string(c.size() < 6 ? 6 - c.size() : 0, ' ');
    o << "\n";
    for (auto& [op, row] : table) {
      o << op << std::string(w - op.size(), ' ');
      for (auto& c : cols) {
        std::string v = row.count(c) ? row[c] : "";
        size_t cw = std::max<size_t>(c.size(), 6);
        o << "  " << v << std::string(cw > v.size() ? cw - v.size() : 0, ' ');
      }
      o << "\n";
    }
    std::cout << o.str() << std::flush;
  }
};

[[maybe_unused]] ::testing::Environment* const table_env =
    ::testing::AddGlobalTestEnvironment(new TableEnvironment);

}  // namespace

}  // namespace berth::test::engines
