#!/usr/bin/env bash
# Installs the Debian packages cvlization needs to build, test and train.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail
pkgs=(
  build-essential meson ninja-build pkg-config python3
  libffi-dev libjansson-dev libopenblas-dev zlib1g-dev libstb-dev
  libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers vulkan-tools glslang-tools
  clang libclang-rt-14-dev
  dataset-fashion-mnist
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
