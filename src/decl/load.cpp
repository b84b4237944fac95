// Loading declarations: each document parsed, the results merged (a name
// declared twice is an error naming both places), defaults filled in, then
// everything validated; and what is derived from loaded declarations (the
// start order, whether two declarations are the same).
#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "base/files.h"
#include "decl/decl.h"

namespace berth::decl {

LoadResult load_documents(const std::vector<Document>& docs, const LoadOptions& opts) {
  LoadResult r;
  for (auto& d : docs) parse_text(d.text, d.file, r.decls, r.errors);
  // Rootless, every container is user-namespaced: "pick" is the default of
  // all (validate refuses any other value said).
  if (opts.rootless && !r.decls.settings.private_users)
    r.decls.settings.private_users = PrivateUsers{PrivateUsers::Mode::Pick, 0};
  for (auto& [name, c] : r.decls.containers) apply_defaults(c, r.decls.settings);
  validate(r.decls, opts, r.errors);
  // Report in the order a reader goes through the files.
  auto rank = [&](const std::string& f) {
    return std::find_if(docs.begin(), docs.end(), [&](const Document& d) { return d.file == f; }) -
           docs.begin();
  };
  std::stable_sort(r.errors.begin(), r.errors.end(), [&](const Diagnostic& a, const Diagnostic& b) {
    return std::make_pair(rank(a.file), a.line) < std::make_pair(rank(b.file), b.line);
  });
  return r;
}

LoadResult load_files(const std::vector<std::string>& files, const LoadOptions& opts) {
  std::vector<Document> docs;
  std::vector<Diagnostic> unreadable;
  for (auto& f : files) {
    auto text = read_file(f);
    if (!text)
      unreadable.push_back(
          {f, 0, "", fmt::format("cannot read: {}", std::strerror(text.error().code))});
    else
      docs.push_back({f, std::move(*text)});
  }
  LoadResult r = load_documents(docs, opts);
  r.errors.insert(r.errors.begin(), unreadable.begin(), unreadable.end());
  return r;
}

std::vector<std::string> start_order(const Declarations& decls) {
  std::map<std::string, int> waiting;  // unmet dependencies
  std::map<std::string, std::vector<std::string>> dependents;
  for (auto& [name, c] : decls.containers) {
    waiting[name];
    std::set<std::string> deps(c.after.begin(), c.after.end());
    for (auto& d : deps) {
      if (d == name || !decls.containers.count(d)) continue;
      ++waiting[name];
      dependents[d].push_back(name);
    }
  }
  std::set<std::string> ready;
  for (auto& [name, n] : waiting)
    if (n == 0) ready.insert(name);
  std::vector<std::string> order;
  while (!ready.empty()) {
    std::string next = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(next);
    for (auto& dep : dependents[next])
      if (--waiting[dep] == 0) ready.insert(dep);
  }
  for (auto& [name, n] : waiting)
    if (n > 0) order.push_back(name);
  return order;
}

void apply_defaults(Container& c, const Settings& settings) {
  if (c.key_lines.count("private_users")) return;
  if (settings.private_users)
    c.private_users = *settings.private_users;
  else if (c.boot)
    c.private_users = PrivateUsers{PrivateUsers::Mode::Pick, 0};
}

bool same_declaration(const Container& a, const Container& b) {
  Container x = a, y = b;
  for (Container* c : {&x, &y}) {
    c->file.clear();
    c->line = 0;
    c->key_lines.clear();
    c->invalid_keys.clear();
  }
  return x == y;
}

}  // namespace berth::decl
