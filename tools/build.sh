#!/usr/bin/env bash
# Installs what is missing, then configures (once) and builds resist in ./build. Quiet when all
# goes well; when a step fails, its own output is shown and the step is named.
# Under CI (CI=true) warnings are errors.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
step() {  # step DESCRIPTION COMMAND...: runs the command, its output kept for when it fails
  local what=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "resist: $what failed: '$*' (its last output above)" >&2
    exit 1
  fi
}
if [ ! -f build/build.ninja ]; then
  rm -rf build  # a configuration that failed half-way
  step "configuring the build" meson setup build ${CI:+-Dwerror=true}
  grep -E '^Message: |WARNING: ' "$log" | grep -v 'WARNING: Project specifies' || true
fi
step "building" meson compile -C build
