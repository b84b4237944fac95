#include "engine/state.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#include <fstream>

#include "base/files.h"
#include "base/json.h"
#include "base/log.h"
#include "cgroup/cgroup.h"
#include "oci/spec.h"

namespace berth::engine {

const char* status_name(Status s) {
  switch (s) {
    case Status::Creating:
      return "creating";
    case Status::Created:
      return "created";
    case Status::Running:
      return "running";
    case Status::Paused:
      return "paused";
    case Status::Stopped:
      return "stopped";
  }
  return "unknown";
}

Result<void> validate_id(const std::string& id) {
  if (id.empty()) return make_error("container id must not be empty");
  if (id.size() > 1024) return make_error("container id is too long");
  if (id == "." || id == "..") return make_error("invalid container id \"{}\"", id);
  for (char c : id)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '+'))
      return make_error("invalid container id \"{}\": only letters, digits and _-.+ are allowed",
                        id);
  return ok();
}

Result<State> Store::load(const std::string& id) const {
  TRY(validate_id(id));
  auto text = read_file(dir(id) + "/state.json");
  if (!text) {
    if (text.error().code == ENOENT)
      return Error{ENOENT, fmt::format("container \"{}\" does not exist", id)};
    return std::move(text).error();
  }
  State s;
  try {
    auto j = nlohmann::json::parse(*text);
    s.id = j.at("id");
    s.pid = json_integer_at<pid_t>(j, "pid");
    s.start_time = json_integer_at<uint64_t>(j, "start_time");
    s.bundle = j.at("bundle");
    s.rootfs = j.at("rootfs");
    s.created = j.at("created");
    s.owner = j.value("owner", "");
    s.annotations = j.value("annotations", std::map<std::string, std::string>{});
    s.cgroup = j.value("cgroup", nlohmann::json());
    s.namespaces = j.value("namespaces", std::vector<std::string>{});
  } catch (const std::exception& e) {
    return make_error("{}/state.json is corrupt: {}", dir(id), e.what());
  }
  return s;
}

Result<void> Store::save(const State& s) const {
  nlohmann::json j = {{"id", s.id},
                      {"pid", s.pid},
                      {"start_time", s.start_time},
                      {"bundle", s.bundle},
                      {"rootfs", s.rootfs},
                      {"created", s.created},
                      {"owner", s.owner},
                      {"annotations", s.annotations},
                      {"cgroup", s.cgroup},
                      {"namespaces", s.namespaces}};
  return write_file_atomic(dir(s.id) + "/state.json", j.dump(), 0600, false);
}

Result<std::vector<std::string>> Store::ids() const {
  std::vector<std::string> out;
  DIR* d = ::opendir(root_.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return errno_error("open {}", root_);
  }
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.empty() || n[0] == '.') continue;
    struct stat st;
    if (::stat((root_ + "/" + n + "/state.json").c_str(), &st) == 0) out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<uint64_t> process_start_time(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto text = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  auto p = text->rfind(')');
  if (p == std::string::npos || p + 2 >= text->size()) return std::nullopt;
  const std::string& t = *text;
  if (t[p + 2] == 'Z' || t[p + 2] == 'X') return std::nullopt;
  // Fields after the command: state is field 3; starttime is field 22.
  size_t pos = p + 2;
  for (int field = 3; field < 22; field++) {
    pos = t.find(' ', pos);
    if (pos == std::string::npos) return std::nullopt;
    pos++;
  }
  return std::strtoull(t.c_str() + pos, nullptr, 10);
}

Status current_status(const Store& store, const State& s) {
  auto st = process_start_time(s.pid);
  if (!st || *st != s.start_time) return Status::Stopped;
  struct stat sb;
  if (::stat(store.fifo(s.id).c_str(), &sb) == 0) return Status::Created;
  if (!s.cgroup.is_null()) {
    if (auto cg = cgroup::Cgroup::from_json(s.cgroup); cg) {
      if (auto f = cg->frozen(); f && *f) return Status::Paused;
    }
  }
  return Status::Running;
}

nlohmann::json state_json(const State& s, Status status) {
  nlohmann::json j = {{"ociVersion", oci::kOciVersion},
                      {"id", s.id},
                      {"pid", status == Status::Stopped ? 0 : s.pid},
                      {"status", status_name(status)},
                      {"bundle", s.bundle},
                      {"rootfs", s.rootfs},
                      {"created", s.created},
                      {"owner", s.owner}};
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j;
}

std::string now_rfc3339() {
  return log::now_rfc3339();
}

}  // namespace berth::engine
