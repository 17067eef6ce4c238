#!/usr/bin/env bash
# README command 1: install, build, plan and simulate the built-in default scenario (the paper's
# CIFAR-100 setup: pre-activation ResNet-101 on 4 workers), comparing it with local SGD and
# data-parallel training.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
build/tools/resist plan --rounds 3
echo
exec build/tools/resist sim --compare local_sgd,data_parallel "$@"
