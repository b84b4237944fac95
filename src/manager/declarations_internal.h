// What create (created.cpp) and clone, export and import (move.cpp) share:
// loading and locking the declarations, and writing one containers.d file.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "decl/decl.h"
#include "decl/paths.h"
#include "decl/render.h"

namespace berth::manager::detail {

// Every declaration file, images checked against the store.
decl::LoadResult load_declarations(const decl::Paths& paths, bool check_host);
// Serializes address allocation, the check for a free name and rewrites of
// containers.d files. Held until the returned fd is closed.
Result<UniqueFd> lock_declarations(const decl::Paths& paths);
// A new container's addresses against every other one's.
Result<void> check_collisions(const decl::Container& mine,
                              const std::map<std::string, decl::Container>& others);
// NAME, or with ensure_unique the first free NAME-N.
Result<std::string> free_name(const decl::Paths& paths, const decl::Declarations& decls,
                              const std::string& name, bool ensure_unique);
// The one container of kv, parsed as containers.d/NAME.toml would be.
Result<decl::Container> parse_one(const std::string& name, const decl::KeyValues& kv,
                                  const std::string& file);
// The first free v4 and v6 pairs, into kv.
Result<void> allocate_addresses(const decl::Declarations& decls, decl::KeyValues& kv);
// Writes file; removes it again (or puts `before` back) when the whole set
// of declarations is then invalid.
Result<void> write_checked(const decl::Paths& paths, const std::string& file,
                           const std::string& text, const std::optional<std::string>& before);

}  // namespace berth::manager::detail
