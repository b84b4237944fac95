#include "net/hosts.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>

#include "base/files.h"

namespace berth::net {

namespace {

struct Split {
  std::string before, after;       // outside the block, byte for byte
  std::vector<std::string> lines;  // inside, without newlines
  bool found = false;
};

// Lines are split on '\n'; the block is recognised only by whole lines: the
// last BEGIN line before the first END line after it.
Split split(std::string_view content) {
  Split s;
  size_t pos = 0;
  size_t begin = std::string_view::npos, body = 0;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    size_t end = nl == std::string_view::npos ? content.size() : nl;
    std::string_view line = content.substr(pos, end - pos);
    size_t next = nl == std::string_view::npos ? content.size() : nl + 1;
    if (begin == std::string_view::npos) {
      if (line == kHostsBegin) {
        begin = pos;
        body = next;
      }
    } else if (line == kHostsBegin) {
      // A BEGIN without its END before it (an edit cut it off) is the
      // user's text: the block starts at the last BEGIN.
      begin = pos;
      body = next;
    } else if (line == kHostsEnd) {
      s.found = true;
      s.before = std::string(content.substr(0, begin));
      s.after = std::string(content.substr(next));
      std::string_view inner = content.substr(body, pos - body);
      size_t p = 0;
      while (p < inner.size()) {
        size_t n = inner.find('\n', p);
        if (n == std::string_view::npos) n = inner.size();
        s.lines.emplace_back(inner.substr(p, n - p));
        p = n + 1;
      }
      return s;
    }
    pos = next;
  }
  s.before = std::string(content);
  return s;
}

bool names_container(std::string_view line, std::string_view hostname) {
  // "ADDR NAME..." with any whitespace; match a whole hostname field.
  size_t p = 0;
  bool first = true;
  while (p < line.size()) {
    while (p < line.size() && (line[p] == ' ' || line[p] == '\t')) ++p;
    size_t e = p;
    while (e < line.size() && line[e] != ' ' && line[e] != '\t') ++e;
    if (e > p && !first && line.substr(p, e - p) == hostname) return true;
    if (e > p) first = false;
    p = e;
  }
  return false;
}

std::string join(const Split& s) {
  if (s.lines.empty()) return s.before + s.after;
  std::string out = s.before;
  if (!out.empty() && out.back() != '\n') out += '\n';
  out += std::string(kHostsBegin) + "\n";
  for (const auto& l : s.lines) out += l + "\n";
  out += std::string(kHostsEnd) + "\n";
  return out + s.after;
}

}  // namespace

std::string container_hostname(std::string_view container) {
  return std::string(container) + ".containers";
}

std::string hosts_block_set(std::string_view content, std::string_view container,
                            const std::vector<IpAddress>& addresses) {
  Split s = split(content);
  std::string host = container_hostname(container);
  std::erase_if(s.lines, [&](const std::string& l) { return names_container(l, host); });
  for (const auto& a : addresses) s.lines.push_back(a.str() + " " + host);
  return join(s);
}

std::string hosts_block_remove(std::string_view content, std::string_view container) {
  Split s = split(content);
  if (!s.found) return std::string(content);
  std::string host = container_hostname(container);
  std::erase_if(s.lines, [&](const std::string& l) { return names_container(l, host); });
  return join(s);
}

std::vector<std::pair<std::string, std::string>> hosts_block_entries(std::string_view content) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& l : split(content).lines) {
    size_t a = l.find_first_not_of(" \t");
    if (a == std::string::npos || l[a] == '#') continue;
    size_t ae = l.find_first_of(" \t", a);
    if (ae == std::string::npos) continue;
    size_t h = l.find_first_not_of(" \t", ae);
    if (h == std::string::npos) continue;
    size_t he = l.find_first_of(" \t", h);
    out.emplace_back(l.substr(a, ae - a),
                     l.substr(h, he == std::string::npos ? std::string::npos : he - h));
  }
  return out;
}

namespace {
Result<std::string> read_or_empty(const std::string& path, bool* exists, mode_t* mode) {
  struct stat st;
  if (::stat(path.c_str(), &st) < 0) {
    if (errno != ENOENT) return errno_error("stat {}", path);
    *exists = false;
    return std::string();
  }
  *exists = true;
  *mode = st.st_mode & 07777;
  return read_file(path);
}
}  // namespace

// A symlinked hosts file is edited where it points, not replaced by a file.
std::string resolve(const std::string& path) {
  std::error_code ec;
  auto real = std::filesystem::canonical(path, ec);
  return ec ? path : real.string();
}

// Monitors starting and stopping in parallel edit one hosts file: each edit
// holds a lock on the file's directory (the file itself is replaced by a
// rename, and may not exist yet).
Result<UniqueFd> lock_hosts(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  return TRY_CTX(lock_exclusive(dir, O_RDONLY | O_DIRECTORY), "hosts file");
}

Result<void> hosts_add(const std::string& link_path, std::string_view container,
                       const std::vector<IpAddress>& addresses) {
  std::string path = resolve(link_path);
  UniqueFd lock = TRY(lock_hosts(path));
  bool exists = false;
  mode_t mode = 0644;
  std::string content = TRY_CTX(read_or_empty(path, &exists, &mode), "hosts file");
  std::string updated = hosts_block_set(content, container, addresses);
  if (exists && updated == content) return ok();
  TRY_CTX(write_file_atomic(path, updated, mode), "update hosts file");
  return ok();
}

Result<void> hosts_remove(const std::string& link_path, std::string_view container) {
  std::string path = resolve(link_path);
  auto lock = lock_hosts(path);
  if (!lock) {
    if (lock.error().code == ENOENT) return ok();  // no directory, no file: nothing to remove
    return std::move(lock).error();
  }
  bool exists = false;
  mode_t mode = 0644;
  std::string content = TRY_CTX(read_or_empty(path, &exists, &mode), "hosts file");
  if (!exists) return ok();
  std::string updated = hosts_block_remove(content, container);
  if (updated == content) return ok();
  TRY_CTX(write_file_atomic(path, updated, mode), "update hosts file");
  return ok();
}

}  // namespace berth::net
