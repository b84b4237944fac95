#include "base/dynlib.h"

#include <dlfcn.h>

#include <fmt/format.h>

namespace berth {

void* open_library(const char* soname, const char* package, std::string& error) {
  void* h = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = ::dlerror();
    error = fmt::format("cannot load {} ({}; Debian's {} package)", soname, e ? e : "not found",
                        package);
  }
  return h;
}

void* library_symbol(void* handle, const char* soname, const char* name, std::string& error) {
  void* p = ::dlsym(handle, name);
  if (!p && error.empty()) error = fmt::format("{} has no {}", soname, name);
  return p;
}

}  // namespace berth
