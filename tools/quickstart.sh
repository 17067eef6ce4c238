#!/usr/bin/env bash
# README command 1: install, build, plan and simulate the built-in default scenario (the paper's
# CIFAR-100 setup: pre-activation ResNet-101 on 4 workers), comparing it with local SGD and
# data-parallel training, and end with the HTML report (report.html, or the path given as $1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
build/tools/resist plan --rounds 3
echo
build/tools/resist sim --compare local_sgd,data_parallel
echo
build/tools/resist report --compare local_sgd,data_parallel --out "${1:-report.html}"
