#!/usr/bin/env bash
# Benchmark: resist's training step against a plain LibTorch loop (build/tools/bench_exec) and a
# plain Python PyTorch script of the same protocol (tools/bench_exec_reference.py, on Debian's
# python3-torch: the same LibTorch), side by side: images/s per worker of training-step time (the
# local iterations; communication excluded), ResIST and local SGD, 1 and 2 threads per worker.
# With PYTHON_CL=1 the Python script also runs with channels_last (resist's CPU default).
# REPEAT=N runs each N times, alternating, and keeps the best (this machine's noise is +-10%). Prints a table;
# asserts nothing. With SAME_ALLOC=1 the plain loop and Python run with the malloc settings resist's
# workers give themselves (exec/worker.cpp keep_working_set, as GLIBC_TUNABLES): the executor's
# own cost without the allocator's (by default they page-fault their activations back in on every
# iteration, which costs them 25-40% on this machine with channels-last).
# SETS="--set K=V ..." adds settings to resist's run and the plain loop (e.g. --set
# training.memory_format=channels_last; the Python script's layout follows PYTHON_CL only).
#   ninja -C build tools/bench_exec && [THREADS="1 2"] [REPEAT=1] [PYTHON_CL=0] [SAME_ALLOC=0] [KEEP=DIR] [SETS=...] tools/bench_exec.sh [rounds=5] [workers=2] [device=cpu]
# Fashion-MNIST (Debian's dataset-fashion-mnist), preact ResNet width 0.25 depths [1,1,6,1],
# l = 50, batch 64.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${RESIST_BUILD:-$root/build}"
rounds="${1:-5}"
workers="${2:-2}"
device="${3:-cpu}"
python="${PYTHON:-/usr/bin/python3}"
threads_list="${THREADS:-1 2}"
repeat="${REPEAT:-1}"
python_cl="${PYTHON_CL:-0}"
same_alloc="${SAME_ALLOC:-0}"
if [ "$same_alloc" = 1 ]; then  # keep_working_set's mallopt values
  export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=67108864
fi
for tool in "$build/tools/resist" "$build/tools/bench_exec"; do
  [[ -x "$tool" ]] || { echo "bench_exec.sh: $tool is missing: ninja -C $build tools/resist tools/bench_exec" >&2; exit 2; }
done
"$python" -c 'import torch' 2>/dev/null || { echo "bench_exec.sh: $python has no torch (apt install python3-torch)" >&2; exit 2; }
sets=(--set data.dataset=fashion_mnist --set model.input=[1,28,28] --set model.classes=10
      --set model.arch=preact_resnet18 --set model.width=0.25 --set model.depths=[1,1,6,1]
      --set strategy.local_iterations=50 --set training.batch_size=64 --set training.epochs=null
      --set training.rounds="$rounds" --set strategy.workers="$workers")
read -r -a extra_sets <<<"${SETS:-}"
sets+=("${extra_sets[@]}")
out="${KEEP:-$(mktemp -d)}"  # KEEP=DIR keeps the runs' traces and summaries there
mkdir -p "$out"
[[ -n "${KEEP:-}" ]] || trap 'rm -rf "$out"' EXIT
"$build/tools/resist" model preact_resnet18 --width 0.25 --depths 1,1,6,1 --input 1x28x28 --classes 10 \
  --format json --out "$out/network.json"
port=$((29700 + RANDOM % 200))
for rep in $(seq "$repeat"); do
for threads in $threads_list; do
  for strategy in resist local_sgd; do
    tag="$strategy-$threads"
    echo "bench_exec.sh: $strategy, $threads thread(s) per worker (run $rep of $repeat)..." >&2
    "$build/tools/resist" plan "${sets[@]}" --set strategy.name="$strategy" --format json --out "$out/plan-$tag.json"
    "$build/tools/resist" run "${sets[@]}" --set strategy.name="$strategy" --threads "$threads" --device "$device" \
      --quiet --format json --out "$out/resist-$tag-$rep.json" --trace "$out/trace-$tag-$rep.json"
    "$build/tools/bench_exec" "${sets[@]}" --set strategy.name="$strategy" --threads "$threads" --device "$device" \
      > "$out/plain-$tag-$rep.json"
    "$python" "$root/tools/bench_exec_reference.py" --plan "$out/plan-$tag.json" --network "$out/network.json" \
      --workers "$workers" --threads "$threads" --device "$device" --port "$port" --out "$out/python-$tag-$rep.json"
    if [ "$python_cl" = 1 ]; then
      "$python" "$root/tools/bench_exec_reference.py" --plan "$out/plan-$tag.json" --network "$out/network.json" \
        --workers "$workers" --threads "$threads" --device "$device" --port "$((port + 1))" --channels-last \
        --out "$out/python-cl-$tag-$rep.json"
    fi
  done
done
done
"$python" - "$out" "$rounds" "$workers" "$device" "$threads_list" "$repeat" "$python_cl" "$same_alloc" <<'PY'
import collections, json, sys
out, rounds, workers, device, threads_list, repeat, python_cl, same_alloc = sys.argv[1:]
reps = range(1, int(repeat) + 1)
def resist_rate(tag, rep):
    # Per worker: the images it trained over the time of its compute operations (its local iterations).
    trace = json.load(open(f"{out}/trace-{tag}-{rep}.json"))["traceEvents"]
    plan = json.load(open(f"{out}/plan-{tag}.json"))
    images = collections.Counter(); seconds = collections.Counter()
    for e in trace:
        if e.get("cat") == "compute":
            seconds[e["tid"]] += e["dur"] / 1e6
    for r in plan["rounds"]:
        for op in r["ops"]:
            if op["kind"] == "compute":
                images[op["worker"]] += op["samples"]
    return sum(images[w] / seconds[w] for w in seconds) / len(seconds)
def best(kind, tag):
    return max(json.load(open(f"{out}/{kind}-{tag}-{r}.json"))["images_per_s"] for r in reps)
print(f"Fashion-MNIST, preact_resnet18 width 0.25 depths [1,1,6,1], {workers} workers, l=50, batch 64, "
      f"{rounds} rounds, {device}; images/s per worker of training-step time, best of {repeat}; "
      + ("resist's malloc settings for all" if same_alloc == "1" else "plain and Python with glibc's default malloc"))
cl = python_cl == "1"
print(f"{'strategy':<10} {'threads':>7} {'resist':>8} {'plain':>8} {'python':>8} " + (f"{'python-cl':>9} " if cl else "") +
      f"{'/plain':>7} {'/python':>8} " + (f"{'/py-cl':>7} " if cl else "") + f"{'acc resist':>10} {'acc python':>10}")
for threads in map(int, threads_list.split()):
    for s in ("resist", "local_sgd"):
        tag = f"{s}-{threads}"
        r = max(resist_rate(tag, rep) for rep in reps)
        plain, py = best("plain", tag), best("python", tag)
        acc = json.load(open(f"{out}/resist-{tag}-1.json"))["summary"]["accuracy"]
        pyacc = json.load(open(f"{out}/python-{tag}-1.json"))["accuracy"]
        line = f"{s:<10} {threads:>7} {r:>8.1f} {plain:>8.1f} {py:>8.1f} "
        if cl:
            line += f"{best('python-cl', tag):>9.1f} "
        line += f"{r / plain:>6.2f}x {r / py:>7.2f}x "
        if cl:
            line += f"{r / best('python-cl', tag):>6.2f}x "
        print(line + f"{100 * acc:>9.2f}% {100 * pyacc:>9.2f}%")
PY
