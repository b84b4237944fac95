# What the side-by-side benches share (sourced): their [N] [ROUNDS]
# arguments, the build's paths, the checks before anything runs, and the
# timing helpers.
#
# bench_args DEFAULT_N DEFAULT_ROUNDS "$@" sets n, rounds, repo, build,
# berth (env: BERTH_BUILD_DIR, default <repo>/build; BERTH) and load0 (the
# load average at the start), and exits unless run as root with berth built.

bench_args() {
  local default_n=$1 default_rounds=$2
  shift 2
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  n=${1:-$default_n}
  rounds=${2:-$default_rounds}
  for v in "$n" "$rounds"; do
    case $v in '' | *[!0-9]*) echo "usage: $0 [N] [ROUNDS]" >&2; exit 2 ;; esac
  done
  build=${BERTH_BUILD_DIR:-$repo/build}
  berth=${BERTH:-$build/berth}
  [ "$(id -u)" = 0 ] || { echo "bench: must run as root" >&2; exit 1; }
  [ -x "$berth" ] || { echo "bench: $berth not built" >&2; exit 1; }
  load0=$(cut -d' ' -f1-3 /proc/loadavg)
}

# Nanoseconds now; the median of numbers on stdin; microseconds as "12.3 ms".
bench_ns() { date +%s%N; }
bench_median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
bench_ms() { echo "$(($1 / 1000)).$((($1 % 1000) / 100)) ms"; }
# The load at the start and now, for the last line.
bench_load() { echo "load $load0 -> $(cut -d' ' -f1-3 /proc/loadavg)"; }
