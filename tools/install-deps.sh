#!/usr/bin/env bash
# Installs the Debian 12 packages resist needs to build and test, and any packages named as
# arguments (tools/fuzz.sh adds clang's). Idempotent, and silent when everything is already
# there. Uses sudo when not run as root.
set -euo pipefail

# libopenblas0-openmp: Debian's LibTorch calls BLAS through libblas.so.3, which without it is the
# reference BLAS: fully connected layers (IST's MLP) train 8.6x slower (0.103 against 0.012 s per
# round, 2 workers). The OpenMP build follows LibTorch's thread setting (the pthread one would
# start threads of its own on top). iproute2: `ip` and `tc`, with which resist emulate makes a
# cluster of network namespaces.
packages=(g++ meson ninja-build pkg-config cmake nlohmann-json3-dev libfmt-dev libcli11-dev
          doctest-dev libboost-graph-dev libsimgrid-dev libtorch-dev libgloo-dev libopenblas0-openmp
          zlib1g-dev dataset-fashion-mnist python3 python3-torch chromium fonts-dejavu-core iproute2 "$@")
# npm installs the report's charting library at build time; any npm will do (Debian's, or one
# that came with a NodeSource nodejs).
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "resist: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
