#!/usr/bin/env bash
# Newcomer's first run: install dependencies, build, export the included
# ResNet-18 (built in C by models/) to ONNX, and summarize the ONNX file.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j"$(nproc)"
./build/onnxc export --model resnet18 -o build/resnet18.onnx
./build/onnxc info build/resnet18.onnx --batch 1
