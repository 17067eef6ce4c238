#!/usr/bin/env bash
# Benchmark: test accuracy of channels-last against contiguous (NCHW) training on the CPU, over
# several seeds, for local SGD (one worker) and ResIST (two workers): what decides
# training.memory_format's `auto` on the CPU. Fashion-MNIST (Debian's dataset-fashion-mnist),
# preact ResNet width 0.25 depths [1,1,6,1], l = 50, batch 64, 2 epochs, the rate cut tenfold at
# 1.5 epochs (at a constant rate the final accuracy swings by several points from one round to the
# next, which hides any layout effect). Prints a table; asserts nothing.
#   [SEEDS="1 2 3"] [KEEP=DIR [REUSE=1]] tools/bench_layout_accuracy.sh
# KEEP keeps the runs' summaries in DIR; REUSE=1 then skips the runs whose summary is there.
# ~2 min per run on 2 quiet cores, 12 runs with the default seeds.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
resist="${RESIST_BIN:-$root/build/tools/resist}"
seeds="${SEEDS:-1 2 3}"
[[ -x "$resist" ]] || { echo "bench_layout_accuracy.sh: $resist is missing: ninja -C build tools/resist" >&2; exit 2; }
out="${KEEP:-$(mktemp -d)}"
mkdir -p "$out"
[[ -n "${KEEP:-}" ]] || trap 'rm -rf "$out"' EXIT
common=(--quiet --format json --set data.dataset=fashion_mnist --set model.input=[1,28,28] --set model.classes=10
        --set model.arch=preact_resnet18 --set model.width=0.25 --set model.depths=[1,1,6,1]
        --set strategy.local_iterations=50 --set training.batch_size=64 --set training.epochs=2
        --set training.lr_steps=[1.5])
for seed in $seeds; do
  for layout in channels_last contiguous; do
    for case in "local_sgd 1 2" "resist 2 1"; do
      read -r strategy workers threads <<<"$case"
      [[ "${REUSE:-0}" = 1 && -s "$out/$strategy-$layout-$seed.json" ]] && continue
      echo "bench_layout_accuracy.sh: $strategy, $layout, seed $seed..." >&2
      "$resist" run "${common[@]}" --set strategy.name="$strategy" --set strategy.workers="$workers" \
        --threads "$threads" --set strategy.seed="$seed" --set training.memory_format="$layout" \
        --out "$out/$strategy-$layout-$seed.json" 2>/dev/null
    done
  done
done
/usr/bin/python3 - "$out" "$seeds" <<'PY'
import json, statistics, sys
out, seeds = sys.argv[1], sys.argv[2].split()
print("Fashion-MNIST, preact_resnet18 width 0.25 depths [1,1,6,1], l=50, batch 64, 2 epochs (rate x0.1 at 1.5)")
print(f"{'strategy':<10} {'layout':<14} " + " ".join(f"{'seed ' + s:>8}" for s in seeds) + f" {'mean':>7} {'compute s/round':>16}")
for strategy in ("local_sgd", "resist"):
    for layout in ("channels_last", "contiguous"):
        runs = [json.load(open(f"{out}/{strategy}-{layout}-{s}.json"))["summary"] for s in seeds]
        acc = [100 * r["accuracy"] for r in runs]
        compute = statistics.median(r["compute_s"] for r in runs)
        print(f"{strategy:<10} {layout:<14} " + " ".join(f"{a:>7.2f}%" for a in acc)
              + f" {statistics.mean(acc):>6.2f}% {compute:>16.3f}")
PY
