#!/usr/bin/env bash
# Installs what is missing, then configures (once) and builds resist in ./build.
# Under CI (CI=true) warnings are errors.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
if [ ! -f build/build.ninja ]; then
  meson setup build ${CI:+-Dwerror=true} >/dev/null
fi
meson compile -C build >/dev/null
