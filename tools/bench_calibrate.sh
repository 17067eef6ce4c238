#!/usr/bin/env bash
# Benchmark: does calibration predict runs it was not fitted on? On this machine (CPU, Gloo):
# measure run A (ResIST, l=4, 32x32 inputs) and held-out runs that change one thing each: B (l=8),
# C (local SGD), D (16x16 inputs); calibrate the simulator on A twice, with compute as a roofline (FLOPs
# and memory traffic, from the cluster's rates) and
# from cost tables that `resist profile` measures for each network (D's inputs make another
# table), and print each held-out run's median per-round error uncalibrated and calibrated both
# ways. Asserts nothing.
#   tools/bench_calibrate.sh [workers=2] [rounds=8]      KEEP=DIR keeps the runs there; REUSE=1
#   with KEEP takes the runs and tables already in DIR; REPEAT=N measures each run N times and
#   prints each error as the median [lowest-highest] over every calibration run and held-out run
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
repeat="${REPEAT:-1}"
name() { [ "$2" = 1 ] && echo "$1.json" || echo "$1-$2.json"; }  # run $1's repetition $2
echo "calibrated on A (ResIST l=4, preact_resnet34 width 0.25, 32x32), $workers workers on this machine's CPU (Gloo), $rounds rounds, $repeat run(s) of each"
for r in A B C D; do
  for i in $(seq "$repeat"); do
    [ -n "${REUSE:-}" ] && [ -f "$(name "$r" "$i")" ] && continue
    # shellcheck disable=SC2086  # the run's settings are words
    "$resist" run "${scenario[@]}" ${runs[$r]} --quiet --trace "$(name "$r" "$i")" >/dev/null
  done
  [ -n "${REUSE:-}" ] && [ -f "costs-$r.json" ] && continue
  # shellcheck disable=SC2086
  "$resist" profile "${scenario[@]}" ${runs[$r]} --threads 1 --table "costs-$r.json" >/dev/null
done
for i in $(seq "$repeat"); do
  # shellcheck disable=SC2086
  "$resist" calibrate "$(name A "$i")" "${scenario[@]}" ${runs[A]} --out "calibrated-flops-$i.json" >/dev/null
  # shellcheck disable=SC2086
  "$resist" calibrate "$(name A "$i")" "${scenario[@]}" ${runs[A]} --set sim.cost_table="$dir/costs-A.json" \
    --out "calibrated-table-$i.json" > "calibrate-table-$i.txt"
done
errors() {  # held-out run, calibration (none, flops, table): its median per-round errors over every
  local r="$1" how="$2" i j  # calibration run i and held-out run j, as "median [lowest-highest]"
  for i in $(seq "$repeat"); do
    [ "$how" = none ] && [ "$i" -gt 1 ] && break
    local with=() table=()
    [ "$how" = none ] || with=("calibrated-$how-$i.json")
    [ "$how" = table ] && table=(--set sim.cost_table="$dir/costs-$r.json")
    # shellcheck disable=SC2086
    "$resist" sim "${with[@]}" "${scenario[@]}" ${runs[$r]} "${table[@]}" --rounds "$rounds" --trace "sim-$r.json" >/dev/null
    for j in $(seq "$repeat"); do median_error "sim-$r.json" "$(name "$r" "$j")"; done
  done | tr -d % | sort -g | awk '{v[NR] = $1} END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    if (NR == 1) printf "%.1f%%", m; else printf "%.1f%% [%.1f-%.1f]", m, v[1], v[NR] }'
}
echo; printf '%-28s %20s %20s %24s\n' "held-out run" uncalibrated "roofline, calibrated" "cost table, calibrated"
for r in B C D; do
  printf '%-28s %20s %20s %24s\n' "${r}: ${what[$r]}" "$(errors "$r" none)" "$(errors "$r" flops)" "$(errors "$r" table)"
done
echo; for i in $(seq "$repeat"); do
  grep -E '^sim.cost_scale|^median per-round' "calibrate-table-$i.txt" | sed "s/^/calibration $i with the table: /"
done
