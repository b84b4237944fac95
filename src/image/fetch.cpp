// Downloads over http(s) with libcurl, and the SHA256SUMS beside them (as
// machinectl pull-tar --verify=checksum).
#include <unistd.h>

#include <cerrno>

#include "base/files.h"
#include "image/internal.h"

namespace berth::image {

bool is_url(std::string_view s) {
  return s.find("://") != std::string_view::npos;
}

namespace {

struct Sink {
  int fd = -1;                  // the file written, or
  std::string* text = nullptr;  // the text kept
  uint64_t limit = 0, done = 0;
  std::optional<Sha256> hash;
  const Progress* progress = nullptr;
  bool too_big = false;
  int error = 0;
};

size_t write_cb(char* data, size_t, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  if (s->done + n > s->limit) {
    s->too_big = true;
    return 0;
  }
  if (s->fd >= 0) {
    if (auto w = write_all(s->fd, std::string_view(data, n)); !w) {
      s->error = w.error().code;
      return 0;
    }
  } else {
    s->text->append(data, n);
  }
  if (s->hash) s->hash->update(data, n);
  s->done += n;
  return n;
}

int progress_cb(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* s = static_cast<Sink*>(user);
  if (cancelled()) return 1;  // curl ends the transfer
  if (s->progress && *s->progress)
    (*s->progress)("download", static_cast<uint64_t>(now), static_cast<uint64_t>(total));
  return 0;
}

Result<void> get(const std::string& url, Sink& sink) {
  if (!url.starts_with("http://") && !url.starts_with("https://"))
    return make_error("{}: only http:// and https:// URLs can be imported", url);
  const Libcurl& c = *TRY(libcurl());
  CURL* h = c.curl_easy_init();
  if (!h) return make_error("curl_easy_init failed");
  struct Cleanup {
    const Libcurl& c;
    CURL* h;
    ~Cleanup() { c.curl_easy_cleanup(h); }
  } cleanup{c, h};
  char errbuf[CURL_ERROR_SIZE] = "";
  c.curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  c.curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  c.curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  c.curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  c.curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  c.curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
  c.curl_easy_setopt(h, CURLOPT_USERAGENT, "berth");
  c.curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled transfer ends (under 1 kB/s for a minute), a slow one does not.
  c.curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  c.curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  c.curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  c.curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
  c.curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  c.curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  c.curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
  c.curl_easy_setopt(h, CURLOPT_XFERINFODATA, &sink);
  c.curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = c.curl_easy_perform(h);
  if (rc == CURLE_OK) return ok();
  if (cancelled()) return make_error("interrupted");
  if (sink.too_big) return make_error("{}: more than {} bytes", url, sink.limit);
  if (sink.error) return code_error(sink.error, "{}: write what was downloaded", url);
  long status = 0;
  c.curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  Error e = make_error("{}: {}", url, *errbuf ? errbuf : c.curl_easy_strerror(rc));
  if (status == 404) e.code = ENOENT;
  return e;
}

}  // namespace

Result<std::string> download(const std::string& url, int out_fd, uint64_t limit,
                             const Progress& progress) {
  Sink s;
  s.fd = out_fd;
  s.limit = limit;
  s.hash.emplace(TRY(Sha256::make()));
  s.progress = &progress;
  TRY(get(url, s));
  return s.hash->hex();
}

Result<std::string> fetch_text(const std::string& url, size_t limit) {
  std::string text;
  Sink s;
  s.text = &text;
  s.limit = limit;
  TRY(get(url, s));
  return text;
}

// Lines "HASH  FILE" or "HASH *FILE" (sha256sum's text and binary modes).
Result<std::string> checksum_for(std::string_view sums, std::string_view file) {
  size_t p = 0;
  while (p < sums.size()) {
    size_t nl = sums.find('\n', p);
    if (nl == std::string_view::npos) nl = sums.size();
    std::string_view line = sums.substr(p, nl - p);
    p = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() < 66 || (line[64] != ' ') || (line[65] != ' ' && line[65] != '*')) continue;
    std::string_view name = line.substr(66);
    if (name.starts_with("./")) name.remove_prefix(2);
    std::string hash = lower(std::string(line.substr(0, 64)));
    if (name == file && is_sha256_hex(hash)) return hash;
  }
  return make_error("SHA256SUMS has no line for {}", file);
}

}  // namespace berth::image
