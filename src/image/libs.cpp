#include "image/libs.h"

#include <fmt/format.h>

#include "base/dynlib.h"

namespace berth::image {

namespace {

// The library `so` loaded once (per Lib and fill), its symbols taken by
// fill(handle, lib, error); or why it cannot be.
template <class Lib, class Fill>
Result<const Lib*> load_once(const char* so, const char* package, Fill fill) {
  static std::string error;
  static const Lib lib = [&] {
    Lib l;
    if (void* h = open_library(so, package, error)) fill(h, l, error);
    return l;
  }();
  if (!error.empty()) return make_error("{}", error);
  return &lib;
}

#define BERTH_LOAD_FN(f) load_symbol(h, so, l.f, #f, error);

}  // namespace

Result<const Libarchive*> libarchive() {
  const char* so = "libarchive.so.13";
  return load_once<Libarchive>(
      so, "libarchive13",
      [so](void* h, Libarchive& l, std::string& error) { BERTH_ARCHIVE_FUNCTIONS(BERTH_LOAD_FN) });
}

Result<const Libcurl*> libcurl() {
  const char* so = "libcurl.so.4";
  return load_once<Libcurl>(so, "libcurl4", [so](void* h, Libcurl& l, std::string& error) {
    BERTH_CURL_FUNCTIONS(BERTH_LOAD_FN)
    if (error.empty() && l.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      error = "curl_global_init failed";
  });
}

namespace {

// libcrypto's EVP digest interface: opaque pointers, declared here so that
// the build needs no OpenSSL headers.
struct Libcrypto {
  void* (*md_ctx_new)() = nullptr;
  void (*md_ctx_free)(void*) = nullptr;
  const void* (*sha256)() = nullptr;
  int (*digest_init)(void*, const void*, void*) = nullptr;
  int (*digest_update)(void*, const void*, size_t) = nullptr;
  int (*digest_final)(void*, unsigned char*, unsigned int*) = nullptr;
};

Result<const Libcrypto*> libcrypto() {
  const char* so = "libcrypto.so.3";
  return load_once<Libcrypto>(so, "libssl3", [so](void* h, Libcrypto& l, std::string& error) {
    load_symbol(h, so, l.md_ctx_new, "EVP_MD_CTX_new", error);
    load_symbol(h, so, l.md_ctx_free, "EVP_MD_CTX_free", error);
    load_symbol(h, so, l.sha256, "EVP_sha256", error);
    load_symbol(h, so, l.digest_init, "EVP_DigestInit_ex", error);
    load_symbol(h, so, l.digest_update, "EVP_DigestUpdate", error);
    load_symbol(h, so, l.digest_final, "EVP_DigestFinal_ex", error);
  });
}

}  // namespace

Result<Sha256> Sha256::make() {
  const Libcrypto* c = TRY(libcrypto());
  void* ctx = c->md_ctx_new();
  if (!ctx) return make_error("EVP_MD_CTX_new failed");
  if (c->digest_init(ctx, c->sha256(), nullptr) != 1) {
    c->md_ctx_free(ctx);
    return make_error("EVP_DigestInit_ex(sha256) failed");
  }
  return Sha256(ctx);
}

Sha256::~Sha256() {
  if (ctx_) (*libcrypto())->md_ctx_free(ctx_);
}

void Sha256::update(const void* data, size_t n) {
  if (n) (*libcrypto())->digest_update(ctx_, data, n);
}

std::string Sha256::hex() {
  unsigned char md[32];
  unsigned int len = 0;
  (*libcrypto())->digest_final(ctx_, md, &len);
  std::string out;
  for (unsigned i = 0; i < len; i++) out += fmt::format("{:02x}", md[i]);
  return out;
}

}  // namespace berth::image
