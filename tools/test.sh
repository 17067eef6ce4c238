#!/usr/bin/env bash
# README command 2: install, build, and run the whole test suite. .ci/run calls exactly this.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh || exit 1
meson test -C build --print-errorlogs
status=$?
# One closing line over every doctest binary: "doctest: N passed, N failed, N skipped".
awk -F'|' '/\[doctest\] test cases:/ {
    for (i = 2; i <= NF; i++) { split($i, f, " "); n[f[2]] += f[1] }
  } END { printf "doctest: %d passed, %d failed, %d skipped\n", n["passed"], n["failed"], n["skipped"] }' \
  build/meson-logs/testlog.txt
exit $status
