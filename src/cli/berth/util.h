// Small helpers the manager's `berth` commands share.
#pragma once

#include <cstdio>
#include <optional>
#include <string>

#include "cli/berth/context.h"
#include "decl/decl.h"

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

// Failure reasons are printed on one line.
inline std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n') c = ' ';
  return s;
}

}  // namespace berth::cli
