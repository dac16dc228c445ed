#!/usr/bin/env bash
# Newcomer's first run: install dependencies, build, export the included
# ResNet-18 (built in C by models/, BatchNorm layers kept) to ONNX, then
# show what onnxc does with it: the model summary, the graph passes and
# what they changed, and a timed run of the compiled plan with every pass
# against the same plan with no rewrites (fused vs unfused, per-layer
# kernels and GFLOP/s); then transfer learning on the shared data sets and
# the finetuned model compiled to standalone C, and compiled again with
# --train: generated C that runs training steps.
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
# the variants, their ratio and each variant's time per op type (sed reads
# to the end: `head` would close the pipe on onnxc under pipefail)
./build/onnxc bench build/resnet18.onnx --batch 1 --compare fused,unfused --runs 10 --profile |
  sed -n '1,/median: /p;/^profile (/p;/^by op type/,/^$/p'
# Transfer learning on the shared data sets (skipped when they are absent):
# LeNet-5 trained from scratch on MNIST digits, written as ONNX, then its
# classifier head swapped for a fresh 10-class layer and finetuned on
# Fashion-MNIST with the backbone frozen (features computed once).
data=../shared/datasets
if [ -d "$data/mnist-t10k" ] && [ -d "$data/fashion-mnist" ]; then
  echo
  ./build/onnxc train --model lenet5 --data "$data/mnist-t10k" --epochs 2 --train-size 6000 --val-size 2000 \
    --lr 0.02 --threads 1 -o build/lenet5_mnist.onnx | tail -2
  ./build/onnxc finetune build/lenet5_mnist.onnx --data "$data/fashion-mnist" --classes 10 --limit 3000 \
    --threads 1 -o build/lenet5_fashion.onnx | grep -v "^  class"
  # The finetuned model as standalone C: compile, build the generated code
  # against this build tree's runtime library, run it on one image and
  # compare with `onnxc run` on the same input.
  echo
  ./build/onnxc compile build/lenet5_fashion.onnx -o build/lenet5_c --name lenet5 | tail -3
  make -s -C build/lenet5_c ONNXC_CFLAGS="-I$PWD" \
    ONNXC_LIBS="$PWD/build/libonnxc_runtime.a $(pkg-config --libs openblas) -lstb -lz -lpthread -lm"
  shape=$(./build/onnxc info build/lenet5_fashion.onnx | sed -n 's/^input: *[^ ]* float32 \[\(.*\)\]/\1/p')
  /usr/bin/python3 -c "import numpy as np; np.save('build/x.npy', np.random.RandomState(0).rand($shape).astype('float32'))" \
    2>/dev/null || true
  if [ -f build/x.npy ]; then
    ./build/lenet5_c/lenet5_run -i build/x.npy -o build/lenet5_c_out > /dev/null
    ./build/onnxc run build/lenet5_fashion.onnx -i build/x.npy -o build/lenet5_run_out --format pb > /dev/null
    for f in build/lenet5_run_out/*.pb; do
      if cmp -s "$f" "build/lenet5_c_out/$(basename "$f")"; then
        echo "generated C (build/lenet5_c) and onnxc run give the same $(basename "$f"), byte for byte"
      else
        echo "generated C and onnxc run DIFFER on $(basename "$f")"; exit 1
      fi
    done
  fi
  # Generated C that trains: the same model compiled with --train gets a
  # second module (lenet5_train: forward, loss, backward, SGD momentum on
  # the head) with its own harness; 16 steps on 64 Fashion-MNIST training
  # images in generated C, then the trained tensors back into the ONNX model.
  echo
  ./build/onnxc compile build/lenet5_fashion.onnx -o build/lenet5_c --name lenet5 --train --freeze backbone \
    --momentum 0.9 | tail -1
  make -s -C build/lenet5_c ONNXC_CFLAGS="-I$PWD" \
    ONNXC_LIBS="$PWD/build/libonnxc_runtime.a $(pkg-config --libs openblas) -lstb -lz -lpthread -lm"
  /usr/bin/python3 - "$data/fashion-mnist" <<'PY' 2>/dev/null || true
import gzip, sys, numpy as np
d = sys.argv[1]
x = np.frombuffer(gzip.open(d + "/train-images-idx3-ubyte.gz").read(), np.uint8, 64 * 784, 16)
y = np.frombuffer(gzip.open(d + "/train-labels-idx1-ubyte.gz").read(), np.uint8, 64, 8)
np.save("build/xt.npy", (x.reshape(64, 1, 28, 28) / 255.0).astype(np.float32))
np.save("build/yt.npy", y.astype(np.int64))
PY
  if [ -f build/xt.npy ]; then
    ./build/lenet5_c/lenet5_train_run -i build/xt.npy --labels build/yt.npy --steps 16 --lr 0.05 \
      -w build/lenet5_c/lenet5_train.weights --save build/lenet5_trained.tns | sed -n '1p;5p;9p;13p;17p' # batch 1 of each pass
    ./build/onnxc export build/lenet5_fashion.onnx --trained build/lenet5_trained.tns -o build/lenet5_ondevice.onnx
  fi
else
  echo "(transfer-learning demo skipped: $data/mnist-t10k and $data/fashion-mnist are not there)"
fi
