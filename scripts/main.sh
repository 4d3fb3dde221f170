#!/usr/bin/env bash
# The main job: install what is missing, build, and run cvlization.
# Until the training pipeline lands this lists the installed components.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
exec ./build/host/cvl-host --list "$@"
