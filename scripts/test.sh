#!/usr/bin/env bash
# The test command: installs what is needed (Debian 12 packages), builds, and
# runs every tier of tests under ctest. Needs root (integration tests run real
# containers). ctest's summary is the last thing printed.
#
# Two build trees: build/ (gcc, the shipped static binaries) runs every tier;
# build-san/ (clang, -fsanitize=address,undefined, see BERTH_SANITIZE in
# CMakeLists.txt) runs the unit and integration tiers under the sanitizers and
# the libFuzzer targets of tests/fuzz (label fuzz, BERTH_FUZZ_SECONDS each).
# The sanitizer tree runs first when BERTH_SANITIZE=1; its failures make the
# exit status non-zero too. It is not on by default yet: the whole clang tree
# has not been built and run through once (see the README's Tests section).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (integration tests start real containers)" >&2; exit 1; }
san_rc=0
if [ "${BERTH_SANITIZE:-0}" != 0 ]; then
  bash scripts/install-deps.sh build test system sanitize
  san=${SAN_BUILD_DIR:-build-san}
  BUILD_DIR=$san BERTH_CMAKE_ARGS="-DBERTH_SANITIZE=ON -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14" \
    bash scripts/build.sh
  # halt_on_error: a UBSan report fails the test; leaks are reported at exit.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0}
  ctest --test-dir "$san" --output-on-failure --timeout 600 -L 'unit|integration|fuzz' || san_rc=$?
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
  echo "test.sh: the sanitizer tree ($san) $([ $san_rc = 0 ] && echo passed || echo FAILED, see above)"
else
  bash scripts/install-deps.sh build test system
fi
bash scripts/build.sh
build=${BUILD_DIR:-build}
rc=0
ctest --test-dir "$build" --output-on-failure --timeout 600 "$@" || rc=$?
[ $rc = 0 ] || exit $rc
exit $san_rc
