// `berth kill NAME`: a signal to a running container's init, or to every
// process in its cgroup (as machinectl kill --kill-whom=leader|all): the
// engine's kill (berth-oci kill [--all]).
#include "base/signal.h"
#include "engine/container.h"
#include "engine/state.h"
#include "manager/manager.h"
#include "manager/runtime.h"

namespace berth::manager {

Result<void> kill(const decl::Paths& paths, const std::string& name, int sig, KillWho who) {
  RunDir rd(paths, name);
  auto store = rd.store();
  auto s = store.load(name);
  if (!s || engine::current_status(store, *s) == engine::Status::Stopped)
    return make_error("{} is not running", name);
  if (auto r = engine::kill(store, name, sig, who == KillWho::All); !r)
    return std::move(r).error().wrap(fmt::format("send {}", signal_name(sig)));
  return ok();
}

}  // namespace berth::manager
