// Shared libraries loaded on first use rather than at every exec of berth
// (libnftables for the first port forward, libarchive and libcurl for
// `berth image`): dlopen, then each symbol, the first failure kept as one
// line naming the Debian package that ships the library.
#pragma once

#include <string>

namespace berth {

// dlopen(soname) (RTLD_NOW | RTLD_LOCAL), or nullptr with `error` set.
void* open_library(const char* soname, const char* package, std::string& error);
void* library_symbol(void* handle, const char* soname, const char* name, std::string& error);

// fn = the symbol `name` of the library, cast to fn's type; a missing one
// sets `error` (only the first).
template <class Fn>
void load_symbol(void* handle, const char* soname, Fn& fn, const char* name, std::string& error) {
  fn = reinterpret_cast<Fn>(library_symbol(handle, soname, name, error));
}

}  // namespace berth
