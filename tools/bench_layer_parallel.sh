#!/usr/bin/env bash
# Benchmark: serial training (one stage), layer-parallel with AuxNets (K = 2, 4; K = 2 also with the
# augmented-Lagrangian method, which differs from the penalty from the second epoch on), ResIST and local
# SGD (2 workers, l = 10) on the same small net and data: Fashion-MNIST (Debian's
# dataset-fashion-mnist), preact ResNet-18 width 0.125 depths [1,1,3,1], batch 32 per worker,
# one thread per worker. For each: test accuracy, training time and bytes moved, measured
# (`resist run`) and simulated (`resist sim` on the cpu-local cluster, compute timed from a cost
# table `resist profile` measures here first, which also balances the layer-parallel stages).
# Prints a table; asserts nothing.
#   tools/bench_layer_parallel.sh [epochs=1]       KEEP=DIR keeps the runs' outputs there;
#   ONLY="lp2 lp2-al" runs those alone (serial lp2 lp2-al lp4 resist local_sgd)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
resist="${RESIST_BIN:-$root/build/tools/resist}"
epochs="${1:-1}"
out="${KEEP:-$(mktemp -d)}"
mkdir -p "$out"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$out"' EXIT
model=(--set data.dataset=fashion_mnist --set model.input=[1,28,28] --set model.classes=10
       --set model.arch=preact_resnet18 --set model.width=0.125 --set model.depths=[1,1,3,1]
       --set training.batch_size=32 --set training.epochs="$epochs" --set training.learning_rate=0.05
       --set strategy.local_iterations=10)
"$resist" profile "${model[@]}" --threads 1 --table "$out/costs.json" > "$out/profile.txt"
runs=("serial layer_parallel 1" "lp2 layer_parallel 2" "lp2-al layer_parallel 2 augmented_lagrangian"
      "lp4 layer_parallel 4" "resist resist 2" "local_sgd local_sgd 2")
if [ -n "${ONLY:-}" ]; then  # ONLY="lp2 lp2-al": those runs alone
  kept=()
  for run in "${runs[@]}"; do [[ " $ONLY " == *" ${run%% *} "* ]] && kept+=("$run"); done
  runs=("${kept[@]}")
fi
# Layer-parallel stages balanced by the measured seconds (on a CPU the first blocks are slow per FLOP).
balance=(--set sim.cost_table="$out/costs.json" --set strategy.layer_parallel.balance=cost_table)
for run in "${runs[@]}"; do
  read -r name strategy workers method <<< "$run"
  sets=("${model[@]}" --set strategy.name="$strategy" --set strategy.workers="$workers" "${balance[@]}"
        --set strategy.layer_parallel.method="${method:-penalty}")
  "$resist" run "${sets[@]}" --workers "$workers" --quiet --format json --out "$out/$name.run.json"
  "$resist" sim "${sets[@]}" --set cluster=cpu-local --rounds 50 --format json --out "$out/$name.sim.json"
done
/usr/bin/python3 - "$out" "$epochs" "${runs[@]}" <<'PY'
import json, sys
out, epochs, runs = sys.argv[1], sys.argv[2], [r.split() for r in sys.argv[3:]]
print(f"Fashion-MNIST, preact_resnet18 width 0.125 depths [1,1,3,1], batch 32, {epochs} epoch(s), "
      f"1 thread per worker; simulated on cpu-local with the cost table measured here")
print(f"{'run':<10} {'strategy':<15} {'workers':>7} {'rounds':>7} {'accuracy':>9} {'measured':>10} "
      f"{'simulated':>10} {'error':>7} {'MB moved':>10}")
for name, strategy, workers, *method in runs:
    m = json.load(open(f"{out}/{name}.run.json"))["summary"]
    s = json.load(open(f"{out}/{name}.sim.json"))["strategies"][0]
    measured = m["round_s"] * m["rounds"]  # the rounds' time, without start-up and evaluation
    moved = m["wire_bytes_per_round"] * m["rounds"] / 1e6
    error = 100 * (s["total_time_s"] - measured) / measured
    print(f"{name:<10} {strategy:<15} {workers:>7} {m['rounds']:>7} {100 * m['accuracy']:>8.2f}% "
          f"{measured:>9.1f}s {s['total_time_s']:>9.1f}s {error:>+6.1f}% {moved:>10.1f}")
PY
