#!/usr/bin/env bash
# Benchmark: does calibration predict runs it was not fitted on? On this machine (CPU, Gloo):
# measure run A (ResIST, l=4, 32x32 inputs) and held-out runs that change one thing each: B (l=8),
# C (local SGD), D (16x16 inputs); calibrate the simulator on A twice, with compute from FLOPs and
# from cost tables that `resist profile` measures for each network (D's inputs make another
# table), and print each held-out run's median per-round error uncalibrated and calibrated both
# ways. Asserts nothing.
#   tools/bench_calibrate.sh [workers=2] [rounds=8]      KEEP=DIR keeps the runs there; REUSE=1
#   with KEEP takes the runs and tables already in DIR
#   H100=1 tools/bench_calibrate.sh     the shipped traces of 4 processes sharing one H100
#   (tests/traces/h100-fashion-mnist): calibrated on each strategy, the other one predicted
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
resist="${RESIST_BIN:-$root/build/tools/resist}"
median_error() {  # simulated trace, measured trace
  "$resist" compare "$1" "$2" --format json |
    python3 -c 'import json, sys; print("%.1f%%" % (100 * json.load(sys.stdin)["summary"]["median_round_error"]))'
}
if [ -n "${H100:-}" ]; then
  traces="$root/tests/traces/h100-fashion-mnist"
  dir="${KEEP:-$(mktemp -d)}"
  [ -n "${KEEP:-}" ] || trap 'rm -rf "$dir"' EXIT
  mkdir -p "$dir"
  echo "4 processes sharing one H100 (preact ResNet-101, Fashion-MNIST, l=50, batch 128, 12 rounds): $traces"
  printf '\n%-12s %-12s %14s %16s %16s\n' "calibrated" "predicted" uncalibrated "on itself" "held out"
  for pair in "resist local_sgd" "local_sgd resist"; do
    read -r on other <<<"$pair"
    "$resist" calibrate "$traces/$on-measured.json" --scenario "$traces/$on.json" --out "$dir/$on-calibrated.json" \
      > "$dir/calibrate-$on.txt"
    "$resist" sim "$traces/$other.json" --rounds 12 --trace "$dir/raw-$other.json" >/dev/null
    "$resist" sim "$dir/$on-calibrated.json" --rounds 12 --trace "$dir/self-$on.json" >/dev/null
    "$resist" sim "$dir/$on-calibrated.json" --set strategy.name="$other" --rounds 12 --trace "$dir/held-$other.json" >/dev/null
    printf '%-12s %-12s %14s %16s %16s\n' "$on" "$other" "$(median_error "$dir/raw-$other.json" "$traces/$other-measured.json")" \
      "$(median_error "$dir/self-$on.json" "$traces/$on-measured.json")" \
      "$(median_error "$dir/held-$other.json" "$traces/$other-measured.json")"
  done
  echo; for on in resist local_sgd; do
    grep -E '^sim\.(efficiency|iteration_overhead_s|bandwidth_scale)' "$dir/calibrate-$on.txt" | sed "s/^/calibrated on $on: /"
  done
  exit 0
fi
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
  median_error "sim-$r.json" "$r.json"
}
echo; printf '%-28s %14s %16s %22s\n' "held-out run" uncalibrated "FLOPs, calibrated" "cost table, calibrated"
for r in B C D; do
  printf '%-28s %14s %16s %22s\n' "${r}: ${what[$r]}" "$(error "$r")" "$(error "$r" calibrated-flops.json)" \
    "$(error "$r" calibrated-table.json --set sim.cost_table="$dir/costs-$r.json")"
done
echo; grep -E '^sim.cost_scale|^median per-round' calibrate-table.txt | sed 's/^/calibration with the table: /'
