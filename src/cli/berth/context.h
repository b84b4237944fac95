// What every `berth` command shares: the global options and where things are.
// A command is one file exposing `void register_NAME(CLI::App&, Context&)`,
// declared in commands.h and called from main.cpp; its callback sets
// ctx.exit_code.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "decl/decl.h"
#include "decl/paths.h"

namespace berth::cli {

struct Context {
  std::string root_option;  // --root as given ("" if not)
  int exit_code = 0;
  // A long-running command (the monitor) sets this instead of running in
  // its callback: main runs it once the command line's objects are freed,
  // and returns its exit code.
  std::function<int()> run_after_parse;

  // --root, else $BERTH_ROOT, else "/" for root and the user's XDG
  // directories (made 0700) for anyone else. A rootless layout that cannot
  // be (no XDG_RUNTIME_DIR) ends the command with one line, before it does
  // anything.
  decl::Paths paths() const {
    auto p = decl::resolve_paths(root_option);
    if (p && p->user) {
      if (auto made = decl::make_user_dirs(*p); !made) p = std::move(made).error();
    }
    if (!p) {
      std::fprintf(stderr, "berth: %s\n", p.error().message.c_str());
      std::exit(1);
    }
    return *p;
  }

  // The declarations every command works from: the given files, or the
  // default ones under the root. Check r.ok() and print r.errors otherwise.
  decl::LoadResult load(const std::vector<std::string>& files = {}, bool check_host = true) const {
    decl::LoadOptions o;
    o.check_host = check_host;
    o.rootless = ::geteuid() != 0;
    o.images_dir = paths().images();
    return decl::load_files(files.empty() ? decl::default_declaration_files(paths()) : files, o);
  }
};

}  // namespace berth::cli
