#!/usr/bin/env bash
# Benchmark: does calibration predict a run it was not fitted on? On this machine (CPU, Gloo):
# measure run A (l=4) and run B (l=8) of the same ResIST scenario, calibrate the simulator on A,
# predict B, and print the errors before and after. Asserts nothing.
#   tools/bench_calibrate.sh [workers=2] [rounds=8]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
resist="${RESIST_BIN:-$root/build/tools/resist}"
workers="${1:-2}"
rounds="${2:-8}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
cd "$dir"
scenario=(--set cluster=cpu-local --set strategy.workers="$workers" --set strategy.min_depth=1
          --set model.arch=preact_resnet34 --set model.width=0.25 --set model.classes=10
          --set data.dataset=synthetic --set training.batch_size=32 --set training.epochs=null
          --set training.rounds="$rounds")
echo "ResIST, preact_resnet34 width 0.25, $workers workers on this machine's CPU (Gloo), $rounds rounds"
"$resist" run "${scenario[@]}" --set strategy.local_iterations=4 --quiet --trace a.json >/dev/null
"$resist" run "${scenario[@]}" --set strategy.local_iterations=8 --quiet --trace b.json >/dev/null
echo; echo "== calibrate on run A (l=4)"
"$resist" calibrate a.json "${scenario[@]}" --set strategy.local_iterations=4 --out calibrated.json
for which in uncalibrated calibrated; do
  if [ "$which" = calibrated ]; then src=(calibrated.json); else src=(); fi
  "$resist" sim "${src[@]}" "${scenario[@]}" --set strategy.local_iterations=8 --rounds "$rounds" \
    --trace "sim-$which.json" >/dev/null
  echo; echo "== held-out run B (l=8), $which simulator"
  "$resist" compare "sim-$which.json" b.json | tail -n 2
done
