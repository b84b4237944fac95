// DNS messages for berth's forwarder (see dns.h).
#include "net/dns.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace berth::net {

namespace {

constexpr size_t kHeader = 12;

uint16_t get16(std::span<const uint8_t> m, size_t at) {
  return static_cast<uint16_t>((m[at] << 8) | m[at + 1]);
}

void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v & 0xff));
}

void put32(std::vector<uint8_t>& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v & 0xffff));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// Calls f with each line of text (without its newline).
template <class F>
void for_each_line(std::string_view text, F&& f) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t e = text.find('\n', pos);
    if (e == std::string_view::npos) e = text.size();
    f(text.substr(pos, e - pos));
    pos = e + 1;
  }
}

}  // namespace

uint16_t dns_id(std::span<const uint8_t> msg) {
  return msg.size() < kHeader ? 0 : get16(msg, 0);
}

std::optional<DnsQuestion> parse_dns_query(std::span<const uint8_t> msg) {
  if (msg.size() < kHeader) return std::nullopt;
  uint8_t flags = msg[2];
  bool response = flags & 0x80;
  int opcode = (flags >> 3) & 0x0f;
  if (response || opcode != 0 || get16(msg, 4) != 1) return std::nullopt;
  DnsQuestion q;
  q.id = get16(msg, 0);
  size_t at = kHeader;
  for (;;) {
    if (at >= msg.size()) return std::nullopt;
    uint8_t len = msg[at++];
    if (len == 0) break;
    if (len > 63 || at + len > msg.size()) return std::nullopt;  // a pointer, or cut short
    std::string_view label(reinterpret_cast<const char*>(msg.data() + at), len);
    if (label.find('.') != std::string_view::npos) return std::nullopt;
    if (!q.name.empty()) q.name += '.';
    q.name += lower(label);
    if (q.name.size() > 253) return std::nullopt;
    at += len;
  }
  if (at + 4 > msg.size()) return std::nullopt;
  q.type = get16(msg, at);
  q.klass = get16(msg, at + 2);
  q.end = at + 4;
  return q;
}

std::vector<uint8_t> dns_reply(std::span<const uint8_t> msg, const DnsQuestion& q, uint8_t rcode,
                               const std::vector<IpAddress>& addresses, uint32_t ttl) {
  Family fam = q.type == kDnsTypeAAAA ? Family::V6 : Family::V4;
  std::vector<const IpAddress*> rr;
  if (rcode == kDnsNoError && (q.type == kDnsTypeA || q.type == kDnsTypeAAAA))
    for (auto& a : addresses)
      if (a.family == fam) rr.push_back(&a);
  std::vector<uint8_t> out;
  put16(out, q.id);
  out.push_back(static_cast<uint8_t>(0x80 | 0x04 | (msg[2] & 0x01)));  // QR, AA, RD as asked
  out.push_back(static_cast<uint8_t>(0x80 | (rcode & 0x0f)));          // RA
  put16(out, 1);
  put16(out, static_cast<uint16_t>(rr.size()));
  put16(out, 0);
  put16(out, 0);
  out.insert(out.end(), msg.begin() + kHeader, msg.begin() + static_cast<ptrdiff_t>(q.end));
  for (auto* a : rr) {
    put16(out, 0xc000 | kHeader);  // the question's name
    put16(out, q.type);
    put16(out, kDnsClassIN);
    put32(out, ttl);
    put16(out, static_cast<uint16_t>(a->size()));
    out.insert(out.end(), a->bytes.begin(), a->bytes.begin() + static_cast<ptrdiff_t>(a->size()));
  }
  return out;
}

std::optional<DnsLocalAnswer> dns_local_answer(
    const DnsQuestion& q, const std::vector<std::pair<std::string, std::string>>& hosts_entries) {
  static constexpr std::string_view kZone = "containers";
  bool ours = q.name == kZone || (q.name.size() > kZone.size() + 1 && q.name.ends_with(kZone) &&
                                  q.name[q.name.size() - kZone.size() - 1] == '.');
  if (!ours) return std::nullopt;
  DnsLocalAnswer ans;
  if (q.klass != kDnsClassIN) {
    ans.rcode = kDnsNotImp;
    return ans;
  }
  bool known = q.name == kZone;
  for (auto& [addr, host] : hosts_entries) {
    if (lower(host) != q.name) continue;
    known = true;
    if (auto a = parse_address(addr); a.ok()) ans.addresses.push_back(*a);
  }
  if (!known) ans.rcode = kDnsNxDomain;
  return ans;
}

std::vector<IpAddress> resolv_conf_nameservers(std::string_view text) {
  std::vector<IpAddress> out;
  for_each_line(text, [&](std::string_view line) {
    static constexpr std::string_view kw = "nameserver";
    if (!line.starts_with(kw) || line.size() == kw.size() ||
        !std::isspace(static_cast<unsigned char>(line[kw.size()])))
      return;
    line.remove_prefix(kw.size());
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())))
      line.remove_prefix(1);
    size_t end = 0;
    while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end]))) ++end;
    if (auto a = parse_address(line.substr(0, end)); a.ok()) out.push_back(*a);
  });
  return out;
}

std::string resolv_conf_with(std::string_view host, const std::vector<IpAddress>& nameservers,
                             std::string_view comment) {
  std::string out = comment.empty() ? std::string() : fmt::format("# {}\n", comment);
  for (auto& a : nameservers) out += fmt::format("nameserver {}\n", a.str());
  for_each_line(host, [&](std::string_view line) {
    if (line.starts_with("search") || line.starts_with("domain") || line.starts_with("options"))
      out += fmt::format("{}\n", line);
  });
  return out;
}

}  // namespace berth::net
