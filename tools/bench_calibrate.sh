#!/usr/bin/env bash
# Benchmark: does calibration predict runs it was not fitted on? On this machine (CPU, Gloo):
# measure run A (ResIST, l=4, 32x32 inputs) and held-out runs that change one thing each: B (l=8),
# C (local SGD), D (16x16 inputs); calibrate the simulator on A twice, with compute from FLOPs and
# from cost tables that `resist profile` measures for each network (D's inputs make another
# table), and print each held-out run's median per-round error uncalibrated and calibrated both
# ways. Asserts nothing.
#   tools/bench_calibrate.sh [workers=2] [rounds=8]      KEEP=DIR keeps the runs there; REUSE=1
#   with KEEP takes the runs and tables already in DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
resist="${RESIST_BIN:-$root/build/tools/resist}"
workers="${1:-2}"
rounds="${2:-8}"
dir="${KEEP:-$(mktemp -d)}"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"
cd "$dir"
scenario=(--set cluster=cpu-local --set strategy.workers="$workers" --set strategy.min_depth=1
          --set model.arch=preact_resnet34 --set model.width=0.25 --set model.classes=10
          --set data.dataset=synthetic --set training.batch_size=32 --set training.epochs=null
          --set training.rounds="$rounds")
declare -A runs=([A]="--set strategy.local_iterations=4"
                 [B]="--set strategy.local_iterations=8"
                 [C]="--set strategy.local_iterations=4 --set strategy.name=local_sgd"
                 [D]="--set strategy.local_iterations=4 --set model.input=[3,16,16]")
declare -A what=([B]="ResIST l=8" [C]="local SGD l=4" [D]="ResIST l=4, 16x16 inputs")
echo "calibrated on A (ResIST l=4, preact_resnet34 width 0.25, 32x32), $workers workers on this machine's CPU (Gloo), $rounds rounds"
for r in A B C D; do
  [ -n "${REUSE:-}" ] && [ -f "$r.json" ] && [ -f "costs-$r.json" ] && continue
  # shellcheck disable=SC2086  # the run's settings are words
  "$resist" run "${scenario[@]}" ${runs[$r]} --quiet --trace "$r.json" >/dev/null
  # shellcheck disable=SC2086
  "$resist" profile "${scenario[@]}" ${runs[$r]} --threads 1 --table "costs-$r.json" >/dev/null
done
# shellcheck disable=SC2086
"$resist" calibrate A.json "${scenario[@]}" ${runs[A]} --out calibrated-flops.json >/dev/null
# shellcheck disable=SC2086
"$resist" calibrate A.json "${scenario[@]}" ${runs[A]} --set sim.cost_table="$dir/costs-A.json" \
  --out calibrated-table.json > calibrate-table.txt
error() {  # held-out run, then the scenario and settings to simulate it with
  local r="$1"; shift
  # shellcheck disable=SC2086
  "$resist" sim "$@" "${scenario[@]}" ${runs[$r]} --rounds "$rounds" --trace "sim-$r.json" >/dev/null
  "$resist" compare "sim-$r.json" "$r.json" --format json |
    python3 -c 'import json, sys; print("%.1f%%" % (100 * json.load(sys.stdin)["summary"]["median_round_error"]))'
}
echo; printf '%-28s %14s %16s %22s\n' "held-out run" uncalibrated "FLOPs, calibrated" "cost table, calibrated"
for r in B C D; do
  printf '%-28s %14s %16s %22s\n' "${r}: ${what[$r]}" "$(error "$r")" "$(error "$r" calibrated-flops.json)" \
    "$(error "$r" calibrated-table.json --set sim.cost_table="$dir/costs-$r.json")"
done
echo; grep -E '^sim.cost_scale|^median per-round' calibrate-table.txt | sed 's/^/calibration with the table: /'
