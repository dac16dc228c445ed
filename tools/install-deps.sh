#!/usr/bin/env bash
# Installs onnxc's build dependencies and the reference tools its tests use
# (Debian packages). Safe to run again: apt skips what is installed.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
BUILD="build-essential cmake pkg-config libprotobuf-c-dev protobuf-c-compiler libopenblas-dev libxsmm-dev libstb-dev zlib1g-dev openmpi-bin libopenmpi-dev"
# Reference side of the tests only (the product never needs Python or Node):
REFERENCE="python3 python3-numpy python3-onnx python3-torch python3-torchvision python3-protobuf python3-sklearn nodejs npm"
# libFuzzer targets (tools/fuzz.sh, run by tests/run.sh):
FUZZ="clang"
missing=""
for p in $BUILD $REFERENCE $FUZZ; do
  # nodesource's nodejs bundles npm (Provides+Conflicts npm): a working npm command counts.
  if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
