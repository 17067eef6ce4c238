#!/usr/bin/env bash
# Benchmark: ResIST against local SGD on the same workers and data (Fashion-MNIST from Debian's
# dataset-fashion-mnist): time per round, bytes moved per round, images/s and test accuracy after
# the same number of epochs. Prints a table; asserts nothing.
#   tools/bench_accuracy.sh [epochs=2] [workers=2] [extra resist run options...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
resist="${RESIST_BIN:-$root/build/tools/resist}"
epochs="${1:-2}"
workers="${2:-2}"
shift $(( $# > 2 ? 2 : $# ))
common=(--workers "$workers" --quiet --format json
        --set data.dataset=fashion_mnist --set model.input=[1,28,28] --set model.classes=10
        --set model.arch=preact_resnet18 --set model.width=0.125 --set model.depths=[1,1,3,1]
        --set strategy.local_iterations=10 --set training.batch_size=32
        --set training.epochs="$epochs" --set training.learning_rate=0.05 "$@")
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for strategy in resist local_sgd; do
  "$resist" run "${common[@]}" --set strategy.name="$strategy" --out "$out/$strategy.json"
done
/usr/bin/python3 - "$out" "$epochs" "$workers" <<'PY'
import json, sys
out, epochs, workers = sys.argv[1], sys.argv[2], sys.argv[3]
print(f"Fashion-MNIST, preact_resnet18 width 0.125 depths [1,1,3,1], {workers} workers, l=10, "
      f"batch 32, {epochs} epochs, 1 thread per worker")
print(f"{'strategy':<10} {'rounds':>7} {'s/round':>8} {'compute':>8} {'comm':>8} {'payload/round':>14} "
      f"{'wire/round':>11} {'images/s':>9} {'accuracy':>9}")
for s in ("resist", "local_sgd"):
    m = json.load(open(f"{out}/{s}.json"))["summary"]
    print(f"{s:<10} {m['rounds']:>7} {m['round_s']:>8.3f} {m['compute_s']:>8.3f} {m['comm_s']:>8.3f} "
          f"{m['payload_bytes_per_round']/1e6:>11.2f} MB {m['wire_bytes_per_round']/1e6:>8.2f} MB "
          f"{m['images_per_s']:>9.1f} {100*m['accuracy']:>8.2f}%")
PY
