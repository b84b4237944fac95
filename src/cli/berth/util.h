// Small helpers the manager's `berth` commands share.
#pragma once

#include <cstdio>
#include <optional>
#include <string>

#include "cli/berth/context.h"
#include "decl/decl.h"
#include "decl/spec.h"

namespace berth::cli {

// The declarations, or nullopt after printing every error to stderr.
inline std::optional<decl::Declarations> load_or_report(const Context& ctx) {
  auto r = ctx.load();
  if (!r.ok()) {
    for (auto& e : r.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    return std::nullopt;
  }
  return std::move(r.decls);
}

// The declared container NAME, or nullptr after saying so on stderr
// ("berth: VERB NAME: no such container declared").
inline const decl::Container* find_or_report(const decl::Declarations& d, const char* verb,
                                             const std::string& name) {
  auto it = d.containers.find(name);
  if (it != d.containers.end()) return &it->second;
  std::fprintf(stderr, "berth: %s %s: no such container declared\n", verb, name.c_str());
  return nullptr;
}

// The one stderr line of a container whose root can take over the host
// (check, plan and start print it; the container is still accepted).
inline void warn_if_privileged(const decl::Container& c) {
  if (auto w = decl::host_takeover_warning(c); !w.empty()) std::fprintf(stderr, "%s\n", w.c_str());
}
inline void warn_if_privileged(const decl::Declarations& d) {
  for (auto& [n, c] : d.containers) warn_if_privileged(c);
}

// Failure reasons are printed on one line.
inline std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n') c = ' ';
  return s;
}

}  // namespace berth::cli
