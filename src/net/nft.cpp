#include "net/nft.h"

#include <fcntl.h>
#include <nftables/libnftables.h>

#include <cctype>
#include <map>

#include <nlohmann/json.hpp>

#include "base/dynlib.h"
#include "base/files.h"
#include "base/json.h"
#include "net/netns.h"

namespace berth::net {

namespace {

// libnftables and what it pulls in (libnftnl, libmnl, libjansson, libgmp,
// libxtables) are loaded when a rule is first written, not at every start
// of berth: most containers have no port forward or NAT, and loading and
// relocating six shared libraries cost milliseconds of each exec.
struct Nftables {
  decltype(&nft_ctx_new) ctx_new = nullptr;
  decltype(&nft_ctx_free) ctx_free = nullptr;
  decltype(&nft_ctx_output_set_flags) output_set_flags = nullptr;
  decltype(&nft_ctx_buffer_output) buffer_output = nullptr;
  decltype(&nft_ctx_buffer_error) buffer_error = nullptr;
  decltype(&nft_ctx_get_output_buffer) get_output_buffer = nullptr;
  decltype(&nft_ctx_get_error_buffer) get_error_buffer = nullptr;
  decltype(&nft_run_cmd_from_buffer) run_cmd_from_buffer = nullptr;
  std::string error;
};

const Nftables& nftables() {
  static const Nftables lib = [] {
    Nftables l;
    const char* so = "libnftables.so.1";
    void* h = open_library(so, "libnftables1", l.error);
    if (!h) return l;
    auto sym = [&](auto& fn, const char* name) { load_symbol(h, so, fn, name, l.error); };
    sym(l.ctx_new, "nft_ctx_new");
    sym(l.ctx_free, "nft_ctx_free");
    sym(l.output_set_flags, "nft_ctx_output_set_flags");
    sym(l.buffer_output, "nft_ctx_buffer_output");
    sym(l.buffer_error, "nft_ctx_buffer_error");
    sym(l.get_output_buffer, "nft_ctx_get_output_buffer");
    sym(l.get_error_buffer, "nft_ctx_get_error_buffer");
    sym(l.run_cmd_from_buffer, "nft_run_cmd_from_buffer");
    return l;
  }();
  return lib;
}

// One libnftables context per call, created on the worker thread so its
// netlink socket is opened inside the target namespace.
Result<std::string> run_nft(int netns_fd, std::string_view script, unsigned output_flags) {
  const Nftables& nft = nftables();
  if (!nft.error.empty()) return make_error("nft: {}", nft.error);
  std::string out;
  auto r = run_in_netns(netns_fd, [&]() -> Result<void> {
    nft_ctx* ctx = nft.ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) return make_error("nft_ctx_new failed");
    nft.output_set_flags(ctx, output_flags);
    nft.buffer_output(ctx);
    nft.buffer_error(ctx);
    std::string buf(script);
    int rc = nft.run_cmd_from_buffer(ctx, buf.c_str());
    Result<void> res;
    if (rc != 0) {
      std::string err = nft.get_error_buffer(ctx);
      while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
      res = make_error("nft: {}", err.empty() ? "command failed" : err);
    } else {
      out = nft.get_output_buffer(ctx);
    }
    nft.ctx_free(ctx);
    return res;
  });
  if (!r) return std::move(r).error();
  return out;
}

bool valid_container_name(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  return true;
}

}  // namespace

std::string nft_rule_comment(std::string_view container) {
  return fmt::format("berth:{}", container);
}

namespace {

// The DNAT rules of forwards to one target, then its loopback SNAT rules.
Result<void> forward_rules(const ForwardTarget& t, const std::string& comment, std::string& v4,
                           std::string& v6, std::string& post4, std::string& post6) {
  for (const auto& f : t.forwards) {
    if (f.protocol != "tcp" && f.protocol != "udp")
      return make_error("port forward: unknown protocol '{}' (want tcp or udp)", f.protocol);
    if (f.host_port == 0) return make_error("port forward: host port 0");
    if (!t.local4 && !t.local6)
      return make_error("port forward {}/{}: the container has no local address", f.protocol,
                        f.host_port);
    int to = f.container_port ? f.container_port : f.host_port;
    if (t.local4) {
      std::string a = t.local4->str();
      for (const char* chain : {"prerouting", "output"})
        v4 += fmt::format(
            "add rule ip {} {} fib daddr type local {} dport {} dnat to {}:{} comment \"{}\"\n",
            kNftTable, chain, f.protocol, f.host_port, a, to, comment);
    }
    if (t.local6) {
      std::string a = t.local6->str();
      v6 += fmt::format(
          "add rule ip6 {} prerouting fib daddr type local {} dport {} dnat to [{}]:{} comment "
          "\"{}\"\n",
          kNftTable, f.protocol, f.host_port, a, to, comment);
      // From ::1 only with host6: without an address to SNAT to, the
      // container could not answer.
      v6 += fmt::format(
          "add rule ip6 {} output fib daddr type local {}{} dport {} dnat to [{}]:{} comment "
          "\"{}\"\n",
          kNftTable, t.host6 ? "" : "ip6 daddr != ::1 ", f.protocol, f.host_port, a, to, comment);
    }
  }
  if (!t.forwards.empty() && t.local4)
    // Loopback-sourced connections keep 127.0.0.1 as their source after DNAT;
    // the container could not answer that, so they leave as the host.
    post4 += fmt::format(
        "add rule ip {} postrouting ip saddr 127.0.0.0/8 ip daddr {} masquerade comment \"{}\"\n",
        kNftTable, t.local4->str(), comment);
  if (!t.forwards.empty() && t.local6 && t.host6)
    post6 += fmt::format(
        "add rule ip6 {} postrouting ip6 saddr ::1 ip6 daddr {} snat to {} comment \"{}\"\n",
        kNftTable, t.local6->str(), t.host6->str(), comment);
  return ok();
}

}  // namespace

Result<std::string> nat_rules_script(const NatRules& rules) {
  if (!valid_container_name(rules.container))
    return make_error("invalid container name '{}' for nat rules", rules.container);
  std::string comment = nft_rule_comment(rules.container);
  std::string v4, v6, post4, post6;
  TRY(forward_rules({rules.local4, rules.local6, rules.host6, rules.forwards}, comment, v4, v6,
                    post4, post6));
  for (const auto& t : rules.extra) TRY(forward_rules(t, comment, v4, v6, post4, post6));
  v4 += post4;
  v6 += post6;
  if (rules.masquerade) {
    if (rules.local4)
      v4 += fmt::format(
          "add rule ip {} postrouting ip saddr {} oifname != \"ve-*\" oifname != \"vb-*\" "
          "masquerade comment \"{}\"\n",
          kNftTable, rules.local4->str(), comment);
    if (rules.local6)
      v6 += fmt::format(
          "add rule ip6 {} postrouting ip6 saddr {} oifname != \"ve-*\" oifname != \"vb-*\" "
          "masquerade comment "
          "\"{}\"\n",
          kNftTable, rules.local6->str(), comment);
  }
  auto base = [](const char* family) {
    return fmt::format(
        "add table {0} {1}\n"
        "add chain {0} {1} prerouting {{ type nat hook prerouting priority dstnat; policy accept; "
        "}}\n"
        "add chain {0} {1} output {{ type nat hook output priority -100; policy accept; }}\n"
        "add chain {0} {1} postrouting {{ type nat hook postrouting priority srcnat; policy "
        "accept; }}\n",
        family, kNftTable);
  };
  std::string script;
  if (!v4.empty()) script += base("ip") + v4;
  if (!v6.empty()) script += base("ip6") + v6;
  return script;
}

Result<void> nft_run(int netns_fd, std::string_view script) {
  TRY(run_nft(netns_fd, script, 0));
  return ok();
}

Result<std::string> nft_list_json(int netns_fd, std::string_view command) {
  return run_nft(netns_fd, command, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
}

namespace {

// berth's nat tables are shared by the containers of a network namespace,
// which monitors set up and tear down in parallel: a removal that deletes
// the table it found empty must not drop the rules another monitor is adding.
// Each change holds a lock on the namespace itself (its nsfs inode; the
// namespace's own, whatever berth root or process makes the change).
Result<UniqueFd> lock_netns(int netns_fd) {
  std::string path = netns_fd == kCurrentNetns ? std::string("/proc/thread-self/ns/net")
                                               : fmt::format("/proc/self/fd/{}", netns_fd);
  return TRY_CTX(lock_exclusive(path, O_RDONLY), "nat rules");
}

Result<void> remove_nat_rules_locked(int netns_fd, std::string_view container);

}  // namespace

Result<void> add_nat_rules(int netns_fd, const NatRules& rules) {
  std::string script = TRY(nat_rules_script(rules));
  UniqueFd lock = TRY(lock_netns(netns_fd));
  TRY_CTX(remove_nat_rules_locked(netns_fd, rules.container), "replace nat rules of {}",
          rules.container);
  if (script.empty()) return ok();
  TRY_CTX(nft_run(netns_fd, script), "add nat rules of {}", rules.container);
  return ok();
}

Result<void> remove_nat_rules(int netns_fd, std::string_view container) {
  UniqueFd lock = TRY(lock_netns(netns_fd));
  return remove_nat_rules_locked(netns_fd, container);
}

namespace {

Result<void> remove_nat_rules_locked(int netns_fd, std::string_view container) {
  std::string text =
      TRY_CTX(nft_list_json(netns_fd, "list ruleset"), "remove nat rules of {}", container);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.contains("nftables")) return ok();  // empty ruleset prints nothing
  std::string comment = nft_rule_comment(container);
  std::string script;
  std::map<std::string, int> remaining;  // family -> rules of other containers
  std::map<std::string, bool> tables;
  for (const auto& item : j["nftables"]) {
    if (item.contains("table")) {
      const auto& t = item["table"];
      std::string f = t.value("family", "");
      if (t.value("name", "") == kNftTable && (f == "ip" || f == "ip6"))
        tables[t.value("family", "")] = true;
      continue;
    }
    if (!item.contains("rule")) continue;
    const auto& r = item["rule"];
    if (r.value("table", "") != kNftTable) continue;
    std::string family = r.value("family", "");
    if (family != "ip" && family != "ip6") continue;
    if (r.value("comment", "") == comment)
      script += fmt::format("delete rule {} {} {} handle {}\n", family, kNftTable,
                            r.value("chain", ""), json_integer_field<int64_t>(r, "handle", 0));
    else
      remaining[family]++;
  }
  for (const auto& [family, present] : tables)
    if (present && remaining[family] == 0)
      script += fmt::format("delete table {} {}\n", family, kNftTable);
  if (script.empty()) return ok();
  TRY_CTX(nft_run(netns_fd, script), "remove nat rules of {}", container);
  return ok();
}

}  // namespace

Result<void> enable_ip_forwarding(int netns_fd, bool ipv6) {
  TRY(write_sysctl(netns_fd, "net/ipv4/ip_forward", "1"));
  if (ipv6) TRY(write_sysctl(netns_fd, "net/ipv6/conf/all/forwarding", "1"));
  return ok();
}

Result<void> enable_route_localnet(int netns_fd) {
  return write_sysctl(netns_fd, "net/ipv4/conf/all/route_localnet", "1");
}

}  // namespace berth::net
