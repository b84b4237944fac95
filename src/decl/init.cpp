#include "decl/init.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cctype>
#include <string>

#include <fmt/format.h>

#include "base/signal.h"
#include "base/unique_fd.h"
#include "decl/personality.h"

namespace berth::decl {
namespace {

constexpr size_t kScanBytes = 8 << 20;  // systemd is 90 KB, busybox 2 MB, all fit

std::string base_name(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

InitKind kind_by_name(const std::string& name) {
  if (name == "systemd") return InitKind::Systemd;
  if (name == "busybox") return InitKind::Busybox;
  if (name == "openrc-init") return InitKind::OpenrcInit;
  if (name == "runit-init" || name == "runit") return InitKind::RunitInit;
  return InitKind::Unknown;
}

// What the program says of itself, for an init installed under a plain name
// (sysvinit's /sbin/init, a copied busybox).
InitKind kind_by_content(int fd) {
  std::string buf(kScanBytes, '\0');
  ssize_t got = ::pread(fd, buf.data(), buf.size(), 0);
  if (got <= 0) return InitKind::Unknown;
  buf.resize(static_cast<size_t>(got));
  struct Marker {
    std::string_view text;
    InitKind kind;
  };
  // Most specific first: a busybox or sysvinit binary never names the others'
  // markers, while "systemd" appears in many programs' strings.
  static constexpr Marker markers[] = {
      {"BusyBox v", InitKind::Busybox},      {"INIT_VERSION=sysvinit", InitKind::Sysvinit},
      {"OpenRC init", InitKind::OpenrcInit}, {"- runit: ", InitKind::RunitInit},
      {"systemd.unit=", InitKind::Systemd},
  };
  for (auto& m : markers)
    if (buf.find(m.text) != std::string::npos) return m.kind;
  return InitKind::Unknown;
}

}  // namespace

std::string_view init_name(InitKind k) {
  switch (k) {
    case InitKind::Systemd:
      return "systemd";
    case InitKind::Busybox:
      return "busybox";
    case InitKind::Sysvinit:
      return "sysvinit";
    case InitKind::OpenrcInit:
      return "openrc-init";
    case InitKind::RunitInit:
      return "runit";
    case InitKind::Unknown:
      break;
  }
  return "unknown";
}

Result<InitInfo> detect_init(const std::string& root, const std::string& init) {
  UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) return errno_error("open tree {}", root);
  auto fd = TRY_CTX(open_in_root(root_fd.get(), init), "{}", root);
  // Where it resolved to, as the kernel names it, made relative to the root.
  char buf[4096];
  ssize_t n = ::readlink(fmt::format("/proc/self/fd/{}", fd.get()).c_str(), buf, sizeof(buf) - 1);
  InitInfo info;
  if (n > 0) {
    std::string full(buf, static_cast<size_t>(n));
    n = ::readlink(fmt::format("/proc/self/fd/{}", root_fd.get()).c_str(), buf, sizeof(buf) - 1);
    std::string top = n > 0 ? std::string(buf, static_cast<size_t>(n)) : root;
    if (top == "/")
      info.path = full;
    else if (full.starts_with(top + "/"))
      info.path = full.substr(top.size());
    else
      info.path = full;
  } else {
    info.path = init;
  }
  info.kind = kind_by_name(base_name(info.path));
  if (info.kind == InitKind::Unknown) info.kind = kind_by_content(fd.get());
  return info;
}

InitInfo container_init(const Container& c, const Paths& paths) {
  auto r = detect_init(c.share_host       ? std::string("/")
                       : !c.image.empty() ? paths.image_rootfs(c.image)
                                          : c.path);
  if (!r) return {InitKind::Unknown, "/sbin/init"};
  return *r;
}

int default_halt_signal(InitKind k) {
  switch (k) {
    case InitKind::Systemd:
      return SIGRTMIN + 4;
    case InitKind::Busybox:
      return SIGUSR1;
    case InitKind::Sysvinit:
      return SIGPWR;
    case InitKind::OpenrcInit:
      return SIGTERM;
    case InitKind::RunitInit:
      return SIGCONT;
    case InitKind::Unknown:
      break;
  }
  return SIGTERM;
}

int default_reboot_signal(InitKind k) {
  switch (k) {
    case InitKind::Busybox:
      return SIGTERM;
    case InitKind::RunitInit:
      return SIGCONT;
    default:
      return SIGINT;
  }
}

int halt_signal_of(const Container& c, InitKind k) {
  return c.halt_signal ? *c.halt_signal : default_halt_signal(k);
}
int reboot_signal_of(const Container& c, InitKind k) {
  return c.reboot_signal ? *c.reboot_signal : default_reboot_signal(k);
}

bool waits_for_notify(const Container& c, InitKind k) {
  if (c.ready == Ready::Notify) return true;
  if (c.ready == Ready::Started) return false;
  return k == InitKind::Systemd;
}

std::optional<int> parse_signal(std::string_view text) {
  return parse_signal_name(text);
}

std::string signal_name(int sig) {
  return berth::signal_name(sig);
}

}  // namespace berth::decl
