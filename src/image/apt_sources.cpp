// The host's apt sources for a suite: what `berth image build` hands
// mmdebstrap when a recipe names no mirror. One-line entries of
// sources.list and sources.list.d/*.list, and deb822 paragraphs of
// sources.list.d/*.sources.
#include <dirent.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "base/files.h"
#include "image/internal.h"

namespace berth::image {
namespace {

// SUITE itself and its companions: bookworm-updates, bookworm-security,
// bookworm/updates (the security archive's old spelling).
bool suite_matches(const std::string& s, const std::string& suite) {
  return s == suite || s.starts_with(suite + "-") || s.starts_with(suite + "/");
}

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string join(const std::vector<std::string>& v, size_t from) {
  std::string out;
  for (size_t i = from; i < v.size(); ++i) out += (out.empty() ? "" : " ") + v[i];
  return out;
}

// "deb [arch=amd64 signed-by=...] URI SUITE COMPONENTS..." (options dropped:
// the image's apt trusts the keys its own keyring package installs).
void one_line(const std::string& text, const std::string& suite, std::vector<std::string>& out) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    line = line.substr(0, line.find('#'));
    if (auto open = line.find('['); open != std::string::npos) {
      auto close = line.find(']', open);
      if (close == std::string::npos) continue;
      line.erase(open, close - open + 1);
    }
    auto w = words(line);
    if (w.size() < 4 || w[0] != "deb" || !suite_matches(w[2], suite)) continue;
    out.push_back(fmt::format("deb {} {} {}", w[1], w[2], join(w, 3)));
  }
}

void deb822(const std::string& text, const std::string& suite, std::vector<std::string>& out) {
  std::map<std::string, std::string> fields;
  std::string last;
  auto flush = [&] {
    auto types = words(fields["types"]);
    bool deb = std::find(types.begin(), types.end(), "deb") != types.end();
    auto on = words(lower(fields["enabled"]));
    std::string enabled = on.empty() ? "" : on[0];
    if (deb && enabled != "no" && enabled != "false")
      for (auto& uri : words(fields["uris"]))
        for (auto& s : words(fields["suites"]))
          if (suite_matches(s, suite))
            out.push_back(
                fmt::format("deb {} {} {}", uri, s, join(words(fields["components"]), 0)));
    fields.clear();
    last.clear();
  };
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.starts_with("#")) continue;
    if (line.find_first_not_of(" \t") == std::string::npos) {
      flush();
    } else if ((line[0] == ' ' || line[0] == '\t') && !last.empty()) {
      fields[last] += " " + line;  // a continuation line
    } else if (auto colon = line.find(':'); colon != std::string::npos) {
      last = lower(line.substr(0, colon));
      fields[last] = line.substr(colon + 1);
    }
  }
  flush();
}

std::vector<std::string> sorted_entries(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > suffix.size() && n.ends_with(suffix) && n[0] != '.')
      out.push_back(dir + "/" + n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<std::string> apt_sources_for(const std::string& apt_dir, const std::string& suite) {
  std::vector<std::string> out;
  std::vector<std::string> one = {apt_dir + "/sources.list"};
  for (auto& f : sorted_entries(apt_dir + "/sources.list.d", ".list")) one.push_back(f);
  for (auto& f : one)
    if (auto text = read_file(f)) one_line(*text, suite, out);
  for (auto& f : sorted_entries(apt_dir + "/sources.list.d", ".sources"))
    if (auto text = read_file(f)) deb822(*text, suite, out);
  // One entry once (a suite listed in two files).
  std::vector<std::string> unique;
  for (auto& e : out)
    if (std::find(unique.begin(), unique.end(), e) == unique.end()) unique.push_back(e);
  return unique;
}

}  // namespace berth::image
