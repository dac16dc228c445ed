#!/usr/bin/env bash
# Newcomer's first run: install dependencies, build, export the included
# ResNet-18 (built in C by models/, BatchNorm layers kept) to ONNX, then
# show what onnxc does with it: the model summary, the graph passes and
# what they changed, and a timed run of the compiled plan with every pass
# against the same plan with no rewrites (fused vs unfused, per-layer
# kernels and GFLOP/s).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j"$(nproc)"
./build/onnxc export --model resnet18 -o build/resnet18.onnx
./build/onnxc info build/resnet18.onnx --batch 1 | tail -4
echo
./build/onnxc info build/resnet18.onnx --batch 1 --passes | grep -E "^(passes|pass |[a-z_]+ +(fold|cleanup|fuse) )"
echo
./build/onnxc bench build/resnet18.onnx --batch 1 --compare fused,unfused --runs 10 --profile | head -16
