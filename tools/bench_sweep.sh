#!/usr/bin/env bash
# Benchmark of resist sweep: 100 points of the paper's scenario (ResNet-101, l = 50, batch 128) on
# the 1,024-GPU fat-tree cluster: strategy (resist, local SGD) x workers (16..256) x l (10..200) x
# dtype (fp32, bf16), 20 rounds simulated per point, on every core. Prints the wall time, points
# per second and what one point costs alone. Asserts nothing.
#
#   tools/bench_sweep.sh [JOBS=all cores]
set -euo pipefail
cd "$(dirname "$0")/.."
resist=build/tools/resist
[ -x "$resist" ] || { echo "bench_sweep: build first (tools/build.sh)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
jobs=${1:-$(nproc)}
vary=(--vary strategy.name=resist,local_sgd --vary strategy.workers=16..256x2 --vary strategy.local_iterations=10,25,50,100,200
      --vary training.dtype=fp32,bf16)
start=$(date +%s.%N)
"$resist" sweep --set cluster=fattree-1024-25g "${vary[@]}" --jobs "$jobs" --out "$out/sweep" 2>/dev/null >/dev/null
end=$(date +%s.%N)
points=$(($(wc -l < "$out/sweep/sweep.csv") - 1))
errors=$(python3 -c "import json,sys; print(sum('error' in r for r in json.load(open(sys.argv[1]))['rows']))" "$out/sweep/sweep.json")
one_start=$(date +%s.%N)
"$resist" sim --set cluster=fattree-1024-25g --set strategy.workers=256 --format json >/dev/null
one_end=$(date +%s.%N)
python3 - "$start" "$end" "$points" "$errors" "$jobs" "$one_start" "$one_end" <<'PY'
import sys
start, end, points, errors, jobs, s1, e1 = sys.argv[1:]
wall = float(end) - float(start)
print(f"sweep: {points} points ({errors} with errors) on {jobs} processes in {wall:.1f} s: "
      f"{int(points) / wall:.2f} points/s; one point alone (256 workers, 20 rounds): {float(e1) - float(s1):.2f} s")
PY
