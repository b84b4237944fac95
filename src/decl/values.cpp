// Value syntaxes shared by the parser and its callers: sizes, durations,
// addresses, capability names.
#include <arpa/inet.h>
#include <sys/capability.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "base/parse.h"
#include "base/table.h"
#include "decl/decl.h"

namespace berth::decl {

std::string Cidr::str() const {
  return explicit_prefix ? fmt::format("{}/{}", address, prefix) : address;
}

Result<Cidr> parse_cidr(std::string_view text, int family) {
  const char* what = family == 6 ? "an IPv6 address" : "an IPv4 address";
  unsigned max = family == 6 ? 128 : 32;
  auto bad = [&] { return make_error("expected {}, got \"{}\"", what, text); };
  Cidr c;
  c.v6 = family == 6;
  c.prefix = max;
  std::string addr(text);
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr = std::string(text.substr(0, slash));
    std::string_view p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), ::isdigit))
      return make_error("expected {} with an optional /prefix (0-{}), got \"{}\"", what, max, text);
    auto n = parse_int<unsigned>(p);
    if (!n || *n > max)
      return make_error("expected {} with an optional /prefix (0-{}), got \"{}\"", what, max, text);
    c.prefix = *n;
    c.explicit_prefix = true;
  }
  unsigned char buf[16];
  int af = family == 6 ? AF_INET6 : AF_INET;
  if (::inet_pton(af, addr.c_str(), buf) != 1) return bad();
  char out[INET6_ADDRSTRLEN];
  ::inet_ntop(af, buf, out, sizeof out);
  c.address = out;
  return c;
}

std::optional<uint64_t> parse_size(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  std::string num(text.substr(0, i));
  std::string unit(text.substr(i));
  if (num.empty() || std::count(num.begin(), num.end(), '.') > 1 || num.front() == '.' ||
      num.back() == '.')
    return std::nullopt;
  for (auto& ch : unit) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  // "M", "MB" and "MiB" all mean 2^20, as in systemd's MemoryMax=.
  for (const char* tail : {"ib", "b"}) {
    if (unit.size() > std::string(tail).size() && unit.ends_with(tail)) {
      unit.resize(unit.size() - std::string(tail).size());
      break;
    }
  }
  double mult;
  if (unit.empty() || unit == "b")
    mult = 1;
  else if (unit == "k")
    mult = 1024.0;
  else if (unit == "m")
    mult = 1024.0 * 1024;
  else if (unit == "g")
    mult = 1024.0 * 1024 * 1024;
  else if (unit == "t")
    mult = 1024.0 * 1024 * 1024 * 1024;
  else
    return std::nullopt;
  if (mult == 1 && num.find('.') != std::string::npos) return std::nullopt;
  auto n = parse_double(num);  // digits and one dot: only a range error fails
  if (!n) return std::nullopt;
  double v = *n * mult;
  if (!(v < 1.8e19)) return std::nullopt;
  return static_cast<uint64_t>(std::round(v));  // llround would overflow above 2^63
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  using namespace std::chrono;
  static constexpr Named<double> units[] = {
      {"us", 0.001},   {"usec", 0.001},   {"ms", 1},          {"msec", 1},
      {"s", 1000},     {"sec", 1000},     {"second", 1000},   {"seconds", 1000},
      {"m", 60000},    {"min", 60000},    {"minute", 60000},  {"minutes", 60000},
      {"h", 3600000},  {"hr", 3600000},   {"hour", 3600000},  {"hours", 3600000},
      {"d", 86400000}, {"day", 86400000}, {"days", 86400000},
  };
  double total = 0;
  size_t i = 0;
  bool any = false;
  auto skip_ws = [&] {
    while (i < text.size() && text[i] == ' ') ++i;
  };
  skip_ws();
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    std::string num(text.substr(start, i - start));
    if (num.empty() || num.front() == '.' || num.back() == '.' ||
        std::count(num.begin(), num.end(), '.') > 1)
      return std::nullopt;
    skip_ws();
    start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(start, i - start);
    double mult = -1;
    if (unit.empty()) mult = 1000;  // a bare number is seconds, as in systemd
    if (const double* m = lookup(units, unit)) mult = *m;
    if (mult < 0) return std::nullopt;
    auto n = parse_double(num);
    if (!n) return std::nullopt;
    total += *n * mult;
    any = true;
    skip_ws();
  }
  if (!any || total > 1e15) return std::nullopt;
  return milliseconds(static_cast<int64_t>(std::llround(total)));
}

std::string_view restart_name(Restart r) {
  switch (r) {
    case Restart::No:
      return "no";
    case Restart::OnFailure:
      return "on-failure";
    case Restart::Always:
      return "always";
  }
  return "on-failure";
}

std::span<const Named<ResolvConf>> resolv_conf_names() {
  static constexpr Named<ResolvConf> names[] = {{"auto", ResolvConf::Auto},
                                                {"off", ResolvConf::Off},
                                                {"copy-host", ResolvConf::CopyHost},
                                                {"copy-uplink", ResolvConf::CopyUplink},
                                                {"replace-host", ResolvConf::ReplaceHost},
                                                {"replace-uplink", ResolvConf::ReplaceUplink},
                                                {"bind-host", ResolvConf::BindHost},
                                                {"bind-uplink", ResolvConf::BindUplink},
                                                {"delete", ResolvConf::Delete}};
  return names;
}

std::string_view resolv_conf_name(ResolvConf r) {
  for (auto& [n, v] : resolv_conf_names())
    if (v == r) return n;
  return "auto";
}

const std::vector<std::string>& known_capabilities() {
  // The names libcap knows, as the engine takes them (cap_from_name), in
  // the kernel's order: CAP_CHOWN ... CAP_LAST_CAP of the build's headers.
  static const std::vector<std::string> caps = [] {
    std::vector<std::string> out;
    for (cap_value_t v = 0; v <= CAP_LAST_CAP; v++) {
      char* name = cap_to_name(v);
      if (!name) continue;
      std::string n = name;
      cap_free(name);
      for (auto& ch : n) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (n.starts_with("CAP_")) out.push_back(n);  // not a bare number libcap has no name for
    }
    return out;
  }();
  return caps;
}

std::optional<int> capability_number(const std::string& name) {
  std::string lower = name;
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  cap_value_t cap;
  if (cap_from_name(lower.c_str(), &cap) < 0) return std::nullopt;
  return static_cast<int>(cap);
}

std::string Diagnostic::str() const {
  std::string out;
  if (line <= 0)
    out = fmt::format("{}: {}", file, message);
  else if (key.empty())
    out = fmt::format("{}:{}: {}", file, line, message);
  else
    out = fmt::format("{}:{}: {}: {}", file, line, key, message);
  // One problem, one line, whatever the parser quoted back from the input.
  std::string safe;
  for (char c : out) {
    if (c == '\n')
      safe += "\\n";
    else if (c == '\r')
      safe += "\\r";
    else
      safe += c;
  }
  return safe;
}

std::string LoadResult::error_text() const {
  std::string out;
  for (auto& e : errors) {
    if (!out.empty()) out += '\n';
    out += e.str();
  }
  return out;
}

int Container::line_of(const std::string& key) const {
  auto it = key_lines.find(key);
  return it == key_lines.end() ? line : it->second;
}

}  // namespace berth::decl
