// A recording engine::Sys for unit tests: a small in-memory filesystem
// (paths -> type, device number, filesystem magic), descriptors that name
// paths, and a log of every call that changes something, in order, with the
// paths behind /proc/self/fd/N and the flags spelled out. No root, nothing
// on the host is touched. execve records and throws FakeSys::Exec, so a
// test can call the [[noreturn]] exec_workload.
#pragma once

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "engine/sys.h"

namespace berth::engine::testing {

class FakeSys : public Sys {
 public:
  struct Exec {};  // thrown by execve and execveat
  struct Node {
    mode_t mode = S_IFDIR | 0755;
    dev_t rdev = 0;
    long fs_type = 0;
  };

  FakeSys() { fs_["/"] = {}; }
  ~FakeSys() override = default;

  // The fake filesystem.
  void dir(const std::string& p) { fs_[p] = {S_IFDIR | 0755, 0, 0}; }
  void file(const std::string& p) { fs_[p] = {S_IFREG | 0644, 0, 0}; }
  void symlink(const std::string& p) { fs_[p] = {S_IFLNK | 0777, 0, 0}; }
  void chr(const std::string& p, unsigned maj, unsigned min) {
    fs_[p] = {S_IFCHR | 0666, makedev(maj, min), 0};
  }
  void fs_type(const std::string& p, long magic) { fs_[p].fs_type = magic; }
  bool exists(const std::string& p) const { return fs_.count(p) != 0; }
  const Node& node(const std::string& p) const { return fs_.at(p); }
  // Calls whose log text starts with `prefix` fail with err (`times` of
  // them; -1: all). A failed call is logged too, as "! " + its text.
  void fail(const std::string& prefix, int err, int times = -1) {
    fail_.push_back({prefix, err, times});
  }

  const std::vector<std::string>& calls() const { return calls_; }
  // The calls whose text starts with one of the prefixes, in order.
  std::vector<std::string> only(std::initializer_list<const char*> prefixes) const {
    std::vector<std::string> out;
    for (auto& c : calls_)
      for (auto* p : prefixes)
        if (c.rfind(p, 0) == 0) {
          out.push_back(c);
          break;
        }
    return out;
  }
  // Index of the first call equal to `c` (calls().size() when there is none).
  size_t index(const std::string& c) const {
    return static_cast<size_t>(std::find(calls_.begin(), calls_.end(), c) - calls_.begin());
  }
  void clear() { calls_.clear(); }

  static std::string flags(unsigned long f) {
    static const std::pair<unsigned long, const char*> names[] = {{MS_RDONLY, "rdonly"},
                                                                  {MS_NOSUID, "nosuid"},
                                                                  {MS_NODEV, "nodev"},
                                                                  {MS_NOEXEC, "noexec"},
                                                                  {MS_REMOUNT, "remount"},
                                                                  {MS_BIND, "bind"},
                                                                  {MS_MOVE, "move"},
                                                                  {MS_PRIVATE, "private"},
                                                                  {MS_SLAVE, "slave"},
                                                                  {MS_SHARED, "shared"},
                                                                  {MS_UNBINDABLE, "unbindable"},
                                                                  {MS_REC, "rec"},
                                                                  {MS_NOATIME, "noatime"},
                                                                  {MS_RELATIME, "relatime"},
                                                                  {MS_STRICTATIME, "strictatime"},
                                                                  {MS_NODIRATIME, "nodiratime"}};
    std::string out;
    for (auto& [bit, name] : names)
      if (f & bit) {
        out += out.empty() ? "" : "|";
        out += name;
        f &= ~bit;
      }
    if (f) out += fmt::format("{}{:#x}", out.empty() ? "" : "|", f);
    return out.empty() ? "0" : out;
  }
  static std::string attrs(uint64_t a) {
    static const std::pair<uint64_t, const char*> names[] = {
        {MOUNT_ATTR_RDONLY, "rdonly"},
        {MOUNT_ATTR_NOSUID, "nosuid"},
        {MOUNT_ATTR_NODEV, "nodev"},
        {MOUNT_ATTR_NOEXEC, "noexec"},
        {MOUNT_ATTR_NOATIME, "noatime"},
        {MOUNT_ATTR_STRICTATIME, "strictatime"},
        {MOUNT_ATTR_NODIRATIME, "nodiratime"},
        {MOUNT_ATTR_IDMAP, "idmap"},
        {MOUNT_ATTR_NOSYMFOLLOW, "nosymfollow"}};
    std::string out;
    for (auto& [bit, name] : names)
      if (a & bit) {
        out += out.empty() ? "" : "|";
        out += name;
        a &= ~bit;
      }
    if (a) out += fmt::format("{}{:#x}", out.empty() ? "" : "|", a);
    return out.empty() ? "0" : out;
  }

  // Files.
  int open(const char* path, int) override { return lookup(path); }
  int openat(int dirfd, const char* path, int flags, mode_t mode) override {
    std::string p = join(at(dirfd), path);
    if (flags & O_CREAT) {
      if (exists(p) && (flags & O_EXCL)) return err(EEXIST);
      if (!exists(parent(p))) return err(ENOENT);
      if (!exists(p)) {
        fs_[p] = {static_cast<mode_t>(S_IFREG | mode), 0, 0};
        log("create {}", p);
      }
      return new_fd(p);
    }
    return lookup(p);
  }
  int openat2(int dirfd, const char* path, uint64_t, uint64_t resolve) override {
    std::string p = join(at(dirfd), path);
    if (resolve & RESOLVE_NO_SYMLINKS) {
      // Any symlink on the way below dirfd.
      for (std::string q = p; q.size() > at(dirfd).size(); q = parent(q))
        if (exists(q) && S_ISLNK(fs_[q].mode)) return err(ELOOP);
    }
    return lookup(p);
  }
  int dup_cloexec(int fd) override { return new_fd(at(fd)); }
  int fstat(int fd, struct stat* st) override { return stat_of(at(fd), st); }
  int stat(const char* path, struct stat* st) override { return stat_of(path, st); }
  int statfs(const char* path, struct statfs* st) override { return statfs_of(path, st); }
  int fstatfs(int fd, struct statfs* st) override { return statfs_of(at(fd), st); }
  int mkdirat(int dirfd, const char* path, mode_t mode) override {
    std::string p = join(at(dirfd), path);
    if (exists(p)) return err(EEXIST);
    if (!exists(parent(p))) return err(ENOENT);
    fs_[p] = {static_cast<mode_t>(S_IFDIR | mode), 0, 0};
    return log("mkdir {}", p);
  }
  int unlinkat(int dirfd, const char* path, int) override {
    std::string p = join(at(dirfd), path);
    return fs_.erase(p) ? 0 : err(ENOENT);
  }
  int mknodat(int dirfd, const char* path, mode_t mode, dev_t dev) override {
    std::string p = join(at(dirfd), path);
    const char* t = S_ISCHR(mode) ? "c" : S_ISBLK(mode) ? "b" : S_ISFIFO(mode) ? "p" : "?";
    if (log("mknod {} {} {}:{} {:04o}", p, t, major(dev), minor(dev), mode & 07777) < 0) return -1;
    fs_[p] = {mode, dev, 0};
    return 0;
  }
  int fchmodat(int dirfd, const char* path, mode_t mode, int) override {
    std::string p = join(at(dirfd), path);
    if (exists(p)) fs_[p].mode = (fs_[p].mode & S_IFMT) | mode;
    return log("chmod {} {:04o}", p, mode);
  }
  int fchownat(int dirfd, const char* path, uid_t uid, gid_t gid, int) override {
    return log("chown {} {}:{}", join(at(dirfd), path), uid, gid);
  }
  int symlinkat(const char* target, int dirfd, const char* path) override {
    std::string p = join(at(dirfd), path);
    if (exists(p)) return err(EEXIST);
    fs_[p] = {S_IFLNK | 0777, 0, 0};
    return log("symlink {} -> {}", p, target);
  }

  // Mounts and the root.
  int mount(const char* source, const char* target, const char* type, unsigned long f,
            const void* data) override {
    std::string t = through_fd(target);
    if (log("mount {} {} {} {} {}", source ? through_fd(source) : "-", t, type ? type : "-",
            flags(f), data ? static_cast<const char*>(data) : "-") < 0)
      return -1;
    if (type && std::string(type) == "proc" && exists(t)) fs_[t].fs_type = PROC_SUPER_MAGIC;
    return 0;
  }
  int umount2(const char* target, int f) override {
    return log("umount2 {}{}", target, f & MNT_DETACH ? " detach" : "");
  }
  int mount_setattr(int dirfd, const char* path, unsigned f, struct mount_attr* a) override {
    std::string p = *path ? join(at(dirfd), path) : at(dirfd);
    std::string out = fmt::format("setattr {} set={}", p, attrs(a->attr_set));
    if (a->attr_clr) out += " clr=" + attrs(a->attr_clr);
    if (a->propagation) out += " prop=" + flags(a->propagation);
    if (a->attr_set & MOUNT_ATTR_IDMAP) out += fmt::format(" userns={}", a->userns_fd);
    if (f & AT_RECURSIVE) out += " recursive";
    return log("{}", out);
  }
  int open_tree(int dirfd, const char* path, unsigned f) override {
    std::string p = join(at(dirfd), path);
    if (!exists(p)) return err(ENOENT);
    log("open_tree {}{}{}", p, f & OPEN_TREE_CLONE ? " clone" : "",
        f & AT_RECURSIVE ? " recursive" : "");
    return new_fd(p);
  }
  int move_mount(int from, const char* from_path, int to, const char* to_path, unsigned) override {
    std::string src = *from_path ? join(at(from), from_path) : at(from);
    std::string dst = *to_path ? join(at(to), to_path) : at(to);
    return log("move_mount {} -> {}", src, dst);
  }
  int pivot_root(const char* new_root, const char* put_old) override {
    return log("pivot_root {} {} (in {})", new_root, put_old, cwd_);
  }
  int chdir(const char* path) override {
    if (log("chdir {}", path) < 0) return -1;
    cwd_ = join(cwd_, path);
    return 0;
  }
  int fchdir(int fd) override {
    cwd_ = at(fd);
    return log("fchdir {}", cwd_);
  }
  int chroot(const char* path) override { return log("chroot {} (in {})", path, cwd_); }
  char* getcwd(char* buf, size_t size) override {
    if (cwd_.size() >= size) return nullptr;
    std::strcpy(buf, cwd_.c_str());
    return buf;
  }

  // Identity, capabilities, seccomp, exec.
  int prctl(int option, unsigned long a2, unsigned long a3, unsigned long, unsigned long) override {
    switch (option) {
      case PR_CAPBSET_DROP:
        return log("prctl capbset_drop {}", a2);
      case PR_SET_KEEPCAPS:
        return log("prctl keepcaps {}", a2);
      case PR_SET_NO_NEW_PRIVS:
        return log("prctl no_new_privs {}", a2);
      case PR_CAP_AMBIENT:
        if (a2 == PR_CAP_AMBIENT_CLEAR_ALL) return log("prctl ambient_clear_all");
        return log("prctl ambient_raise {}", a3);
      default:
        return log("prctl {} {}", option, a2);
    }
  }
  int setgroups(size_t n, const gid_t* groups) override {
    return log("setgroups {}", fmt::join(groups, groups + n, ","));
  }
  int setresgid(gid_t r, gid_t e, gid_t s) override { return log("setresgid {} {} {}", r, e, s); }
  int setresuid(uid_t r, uid_t e, uid_t s) override { return log("setresuid {} {} {}", r, e, s); }
  mode_t umask(mode_t mask) override {
    log("umask {:04o}", mask);
    return 022;
  }
  int capget(cap_user_header_t, cap_user_data_t data) override {
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) data[i] = caps_[i];
    return 0;
  }
  int capset(cap_user_header_t, const cap_user_data_t data) override {
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) caps_[i] = data[i];
    auto list = [&](__u32 __user_cap_data_struct::*set) {
      std::vector<int> out;
      for (int c = 0; c < 64; c++)
        if (data[c / 32].*set & (1u << (c % 32))) out.push_back(c);
      return fmt::format("{}", fmt::join(out, ","));
    };
    return log("capset eff={} perm={} inh={}", list(&__user_cap_data_struct::effective),
               list(&__user_cap_data_struct::permitted),
               list(&__user_cap_data_struct::inheritable));
  }
  // The process's sets before capset: capget answers with them.
  void set_permitted(uint64_t perm, uint64_t eff) {
    caps_[0] = {static_cast<__u32>(eff), static_cast<__u32>(perm), 0};
    caps_[1] = {static_cast<__u32>(eff >> 32), static_cast<__u32>(perm >> 32), 0};
  }
  int seccomp_install(const seccomp::Program&) override {
    // The effective set when the filter goes in (CAP_SYS_ADMIN matters).
    uint64_t eff = caps_[0].effective | (uint64_t{caps_[1].effective} << 32);
    log("seccomp eff={:#x}", eff);
    return 0;
  }
  int execve(const char* path, char* const argv[], char* const[]) override {
    log("execve {} {}", path, args(argv));
    throw Exec{};
  }
  int execveat(int dirfd, const char* path, char* const argv[], char* const[], int) override {
    log("execveat {}{} {}", at(dirfd), path, args(argv));
    throw Exec{};
  }

 private:
  template <typename... A>
  int log(fmt::format_string<A...> f, A&&... a) {
    std::string text = fmt::format(f, std::forward<A>(a)...);
    for (auto& fl : fail_)
      if (fl.times != 0 && text.rfind(fl.prefix, 0) == 0) {
        if (fl.times > 0) fl.times--;
        calls_.push_back("! " + text);
        errno = fl.err;
        return -1;
      }
    calls_.push_back(std::move(text));
    return 0;
  }
  static int err(int e) {
    errno = e;
    return -1;
  }
  static std::string args(char* const argv[]) {
    std::vector<std::string> a;
    for (; *argv; ++argv) a.emplace_back(*argv);
    return fmt::format("{}", fmt::join(a, " "));
  }
  static std::string parent(const std::string& p) {
    auto i = p.find_last_of('/');
    return i == 0 || i == std::string::npos ? "/" : p.substr(0, i);
  }
  // dir + path, lexically normalized ("." and ".." and repeated slashes).
  static std::string join(const std::string& dir, const std::string& path) {
    std::string in = path.empty() || path[0] != '/' ? dir + "/" + path : path;
    std::vector<std::string> parts;
    size_t pos = 0;
    while (pos <= in.size()) {
      size_t end = in.find('/', pos);
      if (end == std::string::npos) end = in.size();
      std::string c = in.substr(pos, end - pos);
      if (c == "..") {
        if (!parts.empty()) parts.pop_back();
      } else if (!c.empty() && c != ".") {
        parts.push_back(c);
      }
      pos = end + 1;
    }
    std::string out;
    for (auto& c : parts) out += "/" + c;
    return out.empty() ? "/" : out;
  }
  // Each fake descriptor is a real one (on /dev/null), so that UniqueFd may
  // close it; the map says which fake path it stands for.
  int new_fd(const std::string& p) {
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    fds_[fd] = p;
    return fd;
  }
  int lookup(const std::string& p) { return exists(p) ? new_fd(p) : err(ENOENT); }
  std::string at(int fd) const {
    if (fd == AT_FDCWD) return cwd_;
    auto it = fds_.find(fd);
    return it == fds_.end() ? fmt::format("<fd {}>", fd) : it->second;
  }
  std::string through_fd(const std::string& p) const {
    const std::string pre = "/proc/self/fd/";
    if (p.rfind(pre, 0) != 0) return p;
    return at(std::stoi(p.substr(pre.size())));
  }
  int stat_of(const std::string& p, struct stat* st) {
    if (!exists(p)) return err(ENOENT);
    *st = {};
    st->st_mode = fs_[p].mode;
    st->st_rdev = fs_[p].rdev;
    return 0;
  }
  int statfs_of(const std::string& p, struct statfs* st) {
    if (!exists(p)) return err(ENOENT);
    *st = {};
    st->f_type = fs_[p].fs_type;
    return 0;
  }

  std::map<std::string, Node> fs_;
  std::map<int, std::string> fds_;
  struct Failure {
    std::string prefix;
    int err;
    int times;
  };
  std::vector<Failure> fail_;
  std::vector<std::string> calls_;
  std::string cwd_ = "/";
  __user_cap_data_struct caps_[_LINUX_CAPABILITY_U32S_3] = {};
};

}  // namespace berth::engine::testing
