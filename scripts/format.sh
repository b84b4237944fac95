#!/usr/bin/env bash
# Formats every C and C++ source of the tree with Debian 12's clang-format
# (clang-format-14) and the repository's .clang-format.
#
# usage: scripts/format.sh           rewrite the files in place
#        scripts/format.sh --check   change nothing; print the diff of each
#                                    file that is not formatted and exit 1
# The check runs in every test run (the ctest test `format`); a missing
# clang-format-14 makes it exit 77 (ctest: skipped) naming the package.
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
case "${1:-}" in
  --check) check=1 ;;
  '') ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
cf=${CLANG_FORMAT:-clang-format-14}
command -v "$cf" >/dev/null || { echo "format: $cf is missing (scripts/install-deps.sh test installs clang-format-14)" >&2; exit 77; }

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- '*.c' '*.cpp' '*.h')
else
  mapfile -t files < <(find src tests bench -name '*.c' -o -name '*.cpp' -o -name '*.h' | sort)
fi

if [ "$check" = 0 ]; then
  printf '%s\0' "${files[@]}" | xargs -0 "$cf" -i
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  if ! "$cf" "$f" | diff -u --label "$f" --label "$f (clang-format)" "$f" - ; then
    bad=$((bad + 1))
  fi
done
if [ "$bad" -gt 0 ]; then
  echo "format: $bad of ${#files[@]} files differ from clang-format; run scripts/format.sh" >&2
  exit 1
fi
echo "format: ${#files[@]} files formatted"
