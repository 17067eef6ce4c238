#!/usr/bin/env bash
# Builds resist against a LibTorch folder in ./build-libtorch (or $BUILD_DIR):
#
#   tools/build-libtorch.sh TORCH [DEPS]
#
# TORCH: an unpacked LibTorch archive, or a PyTorch wheel's torch/ folder, e.g.
#   $(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
# (NCCL then comes from the nvidia/nccl folder beside it, Gloo's headers from DEPS or the system).
# DEPS: for a machine without Debian's -dev packages, a folder of .deb files (nlohmann-json3-dev,
# libfmt-dev, libcli11-dev, libgloo-dev, libboost1.74-dev or libboost-graph-dev, zlib1g-dev,
# doctest-dev; `apt-get download` them on a Debian machine), unpacked into the build folder, or a
# folder where they are unpacked already (with usr/include in it).
# Extra Meson options can follow in MESON_OPTIONS (e.g. -Dnccl_home=FOLDER).
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "build-libtorch: $*" >&2; exit 1; }
(($# >= 1 && $# <= 2)) || die "usage: tools/build-libtorch.sh TORCH_FOLDER [DEPS_FOLDER]"
torch=$(cd "$1" 2>/dev/null && pwd) || die "$1: no such folder"
[ -d "$torch/include" ] && [ -d "$torch/lib" ] || die "$torch: expected a LibTorch folder with include/ and lib/"
build=${BUILD_DIR:-build-libtorch}
options=(-Dlibtorch="$torch")
if (($# == 2)); then
  deps=$(cd "$2" 2>/dev/null && pwd) || die "$2: no such folder"
  if [ ! -d "$deps/usr/include" ]; then  # .deb files: unpack them
    mkdir -p "$build-deps"
    found=0
    for deb in "$deps"/*.deb; do
      [ -e "$deb" ] || continue
      dpkg -x "$deb" "$build-deps" || die "cannot unpack $deb (dpkg -x)"
      found=1
    done
    ((found)) || die "$deps: neither .deb files nor an unpacked tree (usr/include)"
    deps=$(cd "$build-deps" && pwd)
  fi
  options+=(-Ddeps_root="$deps")
fi
# shellcheck disable=SC2206
options+=(${MESON_OPTIONS:-})
if [ ! -f "$build/build.ninja" ]; then
  rm -rf "$build"
  meson setup "$build" "${options[@]}" || die "meson setup failed (its output above)"
fi
meson compile -C "$build" || die "the build failed (its output above)"
echo "build-libtorch: built in $build (meson test -C $build runs the suite)"
