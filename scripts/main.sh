#!/usr/bin/env bash
# The main job: install what is missing, build, and train the default model
# (examples/fashion_mnist/cnn.json: the reference CNN on Fashion-MNIST from
# Debian's dataset-fashion-mnist) on the CPU. Extra arguments go to
# `cvl-host train` (e.g. --set epochs=1, --threads 2, --run-dir DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
exec ./build/host/cvl-host train examples/fashion_mnist/cnn.json "$@"
