#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, one per loader) with clang, AddressSanitizer and
# UBSan in ./build-fuzz, and runs each on its corpus.
#
#   tools/fuzz.sh [SECONDS] [TARGET...]   each target for SECONDS (default 60) or FUZZ_RUNS
#                                         executions (default 10000000), whichever comes first
#   tools/fuzz.sh --merge [TARGET...]     fold what the runs found into tests/fuzz/corpus (minimised)
#
# Targets: fuzz_scenario fuzz_cluster fuzz_plan fuzz_cost_table fuzz_trace_compare fuzz_trace_calibrate fuzz_sweep_merge. A crash,
# a sanitizer report, a leak or an input over 1 s (5 s for fuzz_trace_calibrate; FUZZ_TIMEOUT for all) fails the run; the input is kept
# as build-fuzz/findings/TARGET-crash-*, to become a test case in tests/. Runs FUZZ_JOBS targets at
# a time (default: the number of cores), each pinned to a core of FUZZ_CPUS (default: all, in
# turn), so that the simulating targets' threads need no TLB shootdowns on a core busy with
# something else (on a 2-core VM those stalls pushed 0.4 s inputs past 1 s). Inputs the runs add to the corpus go to
# build-fuzz/corpus/TARGET; tests/fuzz/corpus/TARGET (the seeds from the shipped files, and what
# earlier runs found) is only read.
# FUZZ_ASAN_OPTIONS adds to ASAN_OPTIONS (e.g. quarantine_size_mb=16 for a long calibrate campaign).
set -uo pipefail
cd "$(dirname "$0")/.."
all=(fuzz_scenario fuzz_cluster fuzz_plan fuzz_cost_table fuzz_trace_compare fuzz_trace_calibrate fuzz_sweep_merge)
merge=false
seconds=60
if [ "${1-}" = --merge ]; then merge=true; shift
elif [[ "${1-}" =~ ^[0-9]+$ ]]; then seconds=$1; shift; fi
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz: no target $t (one of: ${all[*]})" >&2; exit 2; }
done

bash tools/install-deps.sh clang libclang-rt-dev || exit 1
if [ ! -f build-fuzz/build.ninja ]; then
  rm -rf build-fuzz
  if ! CXX=clang++ meson setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false \
      -Dtorch=disabled -Dreport=disabled -Dtests=false >build-fuzz.log 2>&1; then
    tail -n 40 build-fuzz.log >&2; rm -rf build-fuzz build-fuzz.log
    echo "fuzz: configuring the fuzzing build failed (its output above)" >&2; exit 1
  fi
  rm -f build-fuzz.log
fi
if ! meson compile -C build-fuzz "${targets[@]}" >build-fuzz/compile.log 2>&1; then
  tail -n 60 build-fuzz/compile.log >&2
  echo "fuzz: building the targets failed (its output above)" >&2; exit 1
fi

if $merge; then
  for t in "${targets[@]}"; do
    [ -d "build-fuzz/corpus/$t" ] || continue
    mkdir -p "tests/fuzz/corpus/$t"
    build-fuzz/tests/fuzz/$t -merge=1 "tests/fuzz/corpus/$t" "build-fuzz/corpus/$t" 2>&1 | grep -E '^MERGE-OUTER: [0-9]+ new files' || true
  done
  exit 0
fi

mkdir -p build-fuzz/findings
# Seconds an input may take (FUZZ_TIMEOUT for every target when set). 1 s, but fuzz_trace_calibrate
# 5 s: each input it accepts runs up to three simulations, each in a forked child of the fuzzer
# (SimGrid allows one engine per process), with actors as threads under ASan. Alone such an input
# takes 0.3 s here (0.66 s the first, with the set-up); inside a long run on this 2-core VM the
# fork's copy-on-write faults of the fuzzer's 0.1-0.5 GB pushed ordinary 2-round traces past 1 s
# once every few minutes (build-fuzz/findings kept none that is slow on its own).
timeout_of() {
  if [ -n "${FUZZ_TIMEOUT-}" ]; then echo "$FUZZ_TIMEOUT"
  elif [ "$1" = fuzz_trace_calibrate ]; then echo 5
  else echo 1; fi
}
run_one() {  # TARGET CPU; the target's log in build-fuzz/TARGET.log; one line of figures at the end
  local t=$1 log=build-fuzz/$1.log
  mkdir -p "build-fuzz/corpus/$t"
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1${FUZZ_ASAN_OPTIONS:+:$FUZZ_ASAN_OPTIONS} UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    taskset -c "$2" build-fuzz/tests/fuzz/$t -max_total_time="$seconds" -runs="${FUZZ_RUNS:-10000000}" \
    -timeout="$(timeout_of "$t")" -rss_limit_mb=4096 -max_len=1048576 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/findings/$t-" "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
  local rc=$?
  local runs secs
  runs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  secs=$(grep -oE '^Done [0-9]+ runs in [0-9]+ second' "$log" | grep -oE 'in [0-9]+' | grep -oE '[0-9]+')
  if [ $rc = 0 ]; then
    echo "fuzz: $t: ${runs:-?} executions in ${secs:-?} s, no finding"
  else
    grep -E 'ERROR: |SUMMARY: |runtime error|terminate called|what\(\)|^fuzz: |Test unit written' "$log" | head -n 12 >&2
    echo "fuzz: $t: FAILED after ${runs:-?} executions (log: $log)" >&2
  fi
  return $rc
}
read -ra cpus <<<"$(echo "${FUZZ_CPUS:-$(seq -s ' ' 0 $(($(nproc) - 1)))}" | tr ',' ' ')"
jobs=${FUZZ_JOBS:-${#cpus[@]}}
slots=()  # the job running on cpus[k], by pid
for t in "${targets[@]}"; do
  rm -f "build-fuzz/$t.rc"
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n; done
  k=0
  while ((k < jobs)) && [ -n "${slots[k]-}" ] && kill -0 "${slots[k]}" 2>/dev/null; do k=$((k + 1)); done
  (run_one "$t" "${cpus[k % ${#cpus[@]}]}"; echo $? >"build-fuzz/$t.rc") &
  slots[k]=$!
done
wait
status=0
for t in "${targets[@]}"; do [ "$(cat "build-fuzz/$t.rc" 2>/dev/null)" = 0 ] || status=1; done
exit $status
