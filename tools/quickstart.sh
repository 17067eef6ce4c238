#!/usr/bin/env bash
# README command 1: install, build, and plan the built-in default scenario (the ResIST paper's
# CIFAR-100 setup: pre-activation ResNet-101 on 4 workers), comparing it with local SGD and
# data-parallel training.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
exec build/tools/resist plan --rounds 5 --compare local_sgd,data_parallel "$@"
