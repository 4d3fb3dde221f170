#!/usr/bin/env bash
# bench/gpu_checks.sh BUILD_DIR [OUT_DIR] -- the Vulkan checks to run on a
# machine with a GPU, in one go: what the device is, the per-op benchmark,
# the op-parity and 20-step training-parity tests on that device (not on
# lavapipe), and training throughput on the device against the CPU backend.
# Every step writes OUT_DIR/<step>.txt and its exit status goes to
# OUT_DIR/summary.txt, so one failing step never hides the others.
#
# Leave VK_DRIVER_FILES unset on a GPU machine (the tests' meson
# environment pins lavapipe; here the test programs are run directly, so
# `vulkan` picks the best device). STEPS (default 200) sets the training
# benchmark's length; DEVICE (default vulkan) the device spec.
set -uo pipefail
b=${1:?usage: bench/gpu_checks.sh BUILD_DIR [OUT_DIR]}
out=${2:-gpu-checks}
steps=${STEPS:-200}
device=${DEVICE:-vulkan}
mkdir -p "$out"
: >"$out/summary.txt"

step() { # name, command...
  local name=$1; shift
  local t0=$SECONDS
  "$@" >"$out/$name.txt" 2>&1
  local rc=$?
  printf '%-24s rc=%-3d %4ds  %s\n' "$name" "$rc" $((SECONDS - t0)) "$*" | tee -a "$out/summary.txt"
}

step devices "$b/host/cvl-host" --devices --select "$device"
step bench_vulkan "$b/bench/cvl-bench-vulkan" --device "$device"
for t in ops conv conv_f16 matmul_f16 graph_ops loss_optim norm_pool large exec; do
  step "vk_$t" "$b/tests/backend/vulkan/test_vk_$t"
done
VK_TRAIN_VERBOSE=1 step vk_train_parity "$b/tests/backend/vulkan/test_vk_train" "$b/plugins"
for m in mlp cnn resnet18s; do
  step "train_${m}_vulkan" "$b/bench/cvl-bench-train" --model "$m" --steps "$steps" --no-eval --device "$device"
  step "train_${m}_cpu" "$b/bench/cvl-bench-train" --model "$m" --steps "$steps" --no-eval --threads "$(nproc)"
done
echo "outputs in $out/"
