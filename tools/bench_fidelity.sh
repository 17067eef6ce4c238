#!/usr/bin/env bash
# Benchmark: do the simulator's predictions hold when communication decides? On an emulated
# cluster (resist emulate: one network namespace per host, links shaped with tc), train ResIST and
# local SGD at l = 1 and 5 over links of 10 Mbit/s, 100 Mbit/s and 1 Gbit/s; calibrate the
# simulator on one run (ResIST, l = 1, 100 Mbit/s), predict every run, and print each run's
# median per-round error and the speedup of ResIST over local SGD, measured and predicted.
# Needs root (network namespaces). Asserts nothing.
#   tools/bench_fidelity.sh [hosts=2] [rounds=6]     RATES="10Mbps 100Mbps 1Gbps" LS="1 5"
#   KEEP=DIR keeps the runs there; REUSE=1 with KEEP takes the measured traces already in DIR;
#   CALIBRATE_ON=resist-l1-100Mbps names the run the simulator is calibrated on (none: predict with
#   the settings the scenario has). The simulator times compute from a cost table that `resist
#   profile` measures first on this machine (sub-networks cost their blocks); COST_TABLE=none times
#   it from FLOPs instead.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
resist="${RESIST_BIN:-$root/build/tools/resist}"
hosts="${1:-2}"
rounds="${2:-6}"
rates=(${RATES:-10Mbps 100Mbps 1Gbps})
ls=(${LS:-1 5})
dir="${KEEP:-$(mktemp -d)}"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"
cd "$dir"
if [ "$(id -u)" != 0 ]; then echo "bench_fidelity: needs root (network namespaces)" >&2; exit 77; fi

# The issue's protocol: preact ResNet-18 width 0.5 depths [1,1,6,1], Fashion-MNIST, batch 32, one
# thread per worker.
model=(--set model.arch=preact_resnet18 --set model.width=0.5 --set model.depths=[1,1,6,1]
       --set model.classes=10 --set model.input=[1,28,28] --set data.dataset=fashion_mnist
       --set training.batch_size=32 --set training.epochs=null --set training.rounds="$rounds"
       --set strategy.workers="$hosts")
for rate in "${rates[@]}"; do
  cat > "cluster-$rate.json" <<EOF
{"name": "$hosts single-core hosts on $rate", "shape": "star", "gpu": "CPU-core", "gpus": $hosts,
 "link": {"bandwidth": "$rate", "latency": "20us", "kind": "ethernet", "transport": "tcp"}}
EOF
done

run() {  # strategy l rate
  local name="$1-l$2-$3"
  if [ -n "${REUSE:-}" ] && [ -f "$name.json" ]; then
    printf '  measured %-22s %s (kept)\n' "$name" "$(grep '^per round' "$name.out")"
    return
  fi
  "$resist" emulate "cluster-$3.json" -- "$resist" run "${model[@]}" --set strategy.name="$1" \
    --set strategy.local_iterations="$2" --threads 1 --quiet --trace "$name.json" > "$name.out" 2> "$name.err" ||
    { echo "run $name failed:"; tail -5 "$name.err"; exit 1; }
  printf '  measured %-22s %s\n' "$name" "$(grep '^per round' "$name.out")"
}

echo "fidelity on an emulated cluster: $hosts hosts, ${rates[*]}, l in ${ls[*]}, $rounds rounds each"
for rate in "${rates[@]}"; do
  for l in "${ls[@]}"; do
    for strategy in resist local_sgd; do run "$strategy" "$l" "$rate"; done
  done
done

if [ "${COST_TABLE:-}" != none ]; then
  [ -n "${REUSE:-}" ] && [ -f costs.json ] || "$resist" profile "${model[@]}" --threads 1 --table costs.json > profile.txt
  model+=(--set sim.cost_table="$dir/costs.json")
  echo; echo "compute timed from a cost table: $(tail -n 1 profile.txt)"
fi

base="${CALIBRATE_ON:-resist-l${ls[0]}-100Mbps}"
scenario=(calibrated.json)
if [ "$base" = none ]; then
  echo; echo "== not calibrated"
  scenario=()
else
  [ -f "$base.json" ] || base="resist-l${ls[0]}-${rates[0]}"
  echo; echo "== calibrated on $base"
  rest="${base#*-l}"  # the run's name: strategy-lL-rate
  "$resist" calibrate "$base.json" "${model[@]}" --set strategy.name="${base%%-l*}" \
    --set strategy.local_iterations="${rest%%-*}" --set cluster="$dir/cluster-${base##*-}.json" --out calibrated.json |
    grep -E '^(sim\.(efficiency|cost_scale|bandwidth_scale|shared_link_efficiency) |note|calibrated)'
fi

echo; echo 'median round time, measured and predicted (calibrated), and the median per-round error'
for rate in "${rates[@]}"; do
  for l in "${ls[@]}"; do
    for strategy in resist local_sgd; do
      name="$strategy-l$l-$rate"
      "$resist" sim "${scenario[@]}" "${model[@]}" --set strategy.name="$strategy" --set strategy.local_iterations="$l" \
        --set cluster="$dir/cluster-$rate.json" --rounds "$rounds" --trace "sim-$name.json" > /dev/null
      "$resist" compare "sim-$name.json" "$name.json" --format json > "cmp-$name.json"
      python3 - "$name" "cmp-$name.json" <<'EOF'
import json, statistics, sys
c = json.load(open(sys.argv[2]))
m = statistics.median(r["measured_s"] for r in c["rounds"])
p = statistics.median(r["predicted_s"] for r in c["rounds"])
print(f"{sys.argv[1]:<24} {m:9.3f}s {p:9.3f}s {100 * c['summary']['median_round_error']:9.1f}%")
EOF
    done
  done
done

echo; echo "speedup of ResIST over local SGD (median round time), measured / predicted"
for rate in "${rates[@]}"; do
  for l in "${ls[@]}"; do
    python3 - "$rate" "$l" "cmp-resist-l$l-$rate.json" "cmp-local_sgd-l$l-$rate.json" <<'EOF'
import json, statistics, sys
med = lambda c, k: statistics.median(r[k] for r in c["rounds"])
a = json.load(open(sys.argv[3])); b = json.load(open(sys.argv[4]))
m = med(b, "measured_s") / med(a, "measured_s"); p = med(b, "predicted_s") / med(a, "predicted_s")
print(f"  {sys.argv[1]:>8} l={sys.argv[2]}: measured {m:.2f}x, predicted {p:.2f}x ({100 * (p / m - 1):+.1f}%)")
EOF
  done
done
