#include "base/signal.h"

#include <signal.h>

#include <cctype>

#include <fmt/format.h>

#include "base/parse.h"

namespace berth {
namespace {

struct NamedSignal {
  const char* name;
  int sig;
};
// Canonical names first: signal_name takes the first match.
constexpr NamedSignal kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},     {"BUS", SIGBUS},   {"FPE", SIGFPE},
    {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},     {"PWR", SIGPWR},       {"SYS", SIGSYS},   {"IOT", SIGIOT},
    {"POLL", SIGPOLL},
};

// "RTMIN", "RTMIN+N", "RTMAX", "RTMAX-N" (s upper case, without "SIG").
std::optional<int> realtime(const std::string& s) {
  for (auto [base, origin] : {std::pair{"RTMIN", SIGRTMIN}, std::pair{"RTMAX", SIGRTMAX}}) {
    std::string_view b = base;
    if (!s.starts_with(b)) continue;
    std::string_view rest = std::string_view(s).substr(b.size());
    if (rest.empty()) return origin;
    if (rest[0] != '+' && rest[0] != '-') return std::nullopt;
    auto n = parse_int<int>(rest.substr(1));
    if (!n || *n < 0 || *n > SIGRTMAX) return std::nullopt;
    int v = origin + (rest[0] == '+' ? *n : -*n);
    if (v < SIGRTMIN || v > SIGRTMAX) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

}  // namespace

std::optional<int> parse_signal_name(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    auto n = parse_int<int>(text);
    if (!n || *n <= 0 || *n > SIGRTMAX) return std::nullopt;
    return *n;
  }
  std::string s;
  for (char ch : text) s += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (s.starts_with("SIG")) s.erase(0, 3);
  for (auto& ns : kSignals)
    if (s == ns.name) return ns.sig;
  return realtime(s);
}

std::string signal_name(int sig) {
  for (auto& ns : kSignals)
    if (ns.sig == sig) return fmt::format("SIG{}", ns.name);
  if (sig >= SIGRTMIN && sig <= SIGRTMAX)
    return sig == SIGRTMIN ? "SIGRTMIN" : fmt::format("SIGRTMIN+{}", sig - SIGRTMIN);
  return fmt::format("signal {}", sig);
}

}  // namespace berth
