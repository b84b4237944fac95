#!/usr/bin/env bash
# The test command: installs what is needed (Debian 12 packages), builds, and
# runs every tier of tests under ctest. Needs root (integration tests run real
# containers). ctest's summary is the last thing printed.
#
# Two build trees, one ctest run over both:
# - build/ (gcc, the shipped binaries with their static linking): every tier,
#   unit, integration and system;
# - build-san/ (clang, -DBERTH_SANITIZE=ON: AddressSanitizer and UBSan, see
#   CMakeLists.txt): the unit and integration tiers again (tests named san:...)
#   and the libFuzzer targets of tests/fuzz (fuzz_NAME, BERTH_FUZZ_SECONDS
#   each). BERTH_SANITIZE=0 leaves it out.
# Arguments go to ctest (e.g. -L unit, -R Security).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (integration tests start real containers)" >&2; exit 1; }
build=${BUILD_DIR:-build}
san=${SAN_BUILD_DIR:-build-san}
groups=(build test system)
[ "${BERTH_SANITIZE:-1}" = 0 ] || groups+=(sanitize)
bash scripts/install-deps.sh "${groups[@]}"
bash scripts/build.sh
dirs=("$PWD/$build")
if [ "${BERTH_SANITIZE:-1}" != 0 ]; then
  BUILD_DIR=$san BERTH_CMAKE_ARGS="-DBERTH_SANITIZE=ON -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14" \
    bash scripts/build.sh
  dirs+=("$PWD/$san")
fi
# ctest reads a CTestTestfile.cmake; this one names both trees as subdirs.
all=$build/all-trees
mkdir -p "$all"
printf 'subdirs("%s")\n' "${dirs[@]}" > "$all/CTestTestfile.cmake"
# -j: unit tests, fuzz targets and fixtures run side by side; the integration
# and system tiers are RUN_SERIAL (tests/CMakeLists.txt): each runs alone.
exec ctest --test-dir "$all" --output-on-failure --timeout 600 -j "$(nproc)" "$@"
