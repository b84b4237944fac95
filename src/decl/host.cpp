#include "decl/host.h"

#include "cgroup/probe.h"

namespace berth::decl {
namespace {

std::function<Result<void>()>& io_weight_probe() {
  static std::function<Result<void>()> p;
  return p;
}

}  // namespace

Result<void> host_io_weight_support() {
  auto& p = io_weight_probe();
  return p ? p() : cgroup::io_weight_support();
}

void set_io_weight_probe(std::function<Result<void>()> probe) {
  io_weight_probe() = std::move(probe);
}

}  // namespace berth::decl
