#include "base/signal.h"
#include "engine/container.h"

namespace berth::engine {

Result<int> parse_signal(const std::string& in) {
  if (auto sig = parse_signal_name(in)) return *sig;
  return make_error("invalid signal \"{}\"", in);
}

}  // namespace berth::engine
