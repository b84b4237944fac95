#include "decl/util.h"

#include <algorithm>
#include <cctype>
#include <map>

#include <fmt/format.h>

namespace berth::decl {

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
      case '\\':
        out += '\\';
        out += static_cast<char>(c);
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f)
          out += fmt::format("\\u{:04x}", c);
        else
          out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string join_key(const std::string& prefix, const std::string& key) {
  bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  std::string k = bare ? key : quote(key);
  return prefix.empty() ? k : prefix + "." + k;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

namespace {
std::string snake(const std::string& k) {
  std::string out;
  for (char c : k) {
    if (std::isupper(static_cast<unsigned char>(c))) {
      if (!out.empty() && out.back() != '_') out += '_';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      out += c == '-' ? '_' : c;
    }
  }
  return out;
}
}  // namespace

std::string suggest(const std::string& key, const std::vector<std::string>& candidates) {
  // NixOS option names that do not map by case alone.
  static const std::map<std::string, std::string> aliases = {
      {"auto_start", "autostart"},
      {"timeout_start_sec", "timeout_start"},
      {"is_read_only", "read_only"},
      {"readonly", "read_only"},
      {"capabilities", "additional_capabilities"},
      {"env", "environment"},
      {"memory_max", "resources.memory"},
      {"cpu_quota", "resources.cpu"},
      {"tasks_max", "resources.pids"},
      {"network_namespace_path", "network_namespace"},
      {"container", "containers"},
  };
  std::string k = snake(key);
  auto has = [&](const std::string& c) {
    return std::find(candidates.begin(), candidates.end(), c) != candidates.end();
  };
  if (auto it = aliases.find(k); it != aliases.end() && has(it->second)) return it->second;
  if (has(k) && k != key) return k;
  for (auto& c : candidates)
    if (auto dot = c.rfind('.'); dot != std::string::npos && c.substr(dot + 1) == k) return c;
  size_t limit = k.size() <= 4 ? 1 : k.size() <= 8 ? 2 : 3;
  std::string best;
  size_t best_d = limit + 1;
  for (auto& c : candidates) {
    size_t d = edit_distance(k, c);
    if (auto dot = c.rfind('.'); dot != std::string::npos)
      d = std::min(d, edit_distance(k, std::string_view(c).substr(dot + 1)));
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

bool valid_container_name(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameLength || s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool valid_hostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    if (!std::all_of(label.begin(), label.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
        }))
      return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool valid_link_name(std::string_view s) {
  if (s.empty() || s.size() > 15 || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isgraph(static_cast<unsigned char>(c)) && c != '/' && c != ':';
  });
}

bool valid_mac(std::string_view s) {
  if (s.size() != 17) return false;
  for (size_t i = 0; i < 17; ++i) {
    if (i % 3 == 2) {
      if (s[i] != ':') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace berth::decl
