#!/usr/bin/env bash
# test_install.sh: installs onnxc into a temporary prefix and builds the
# examples/ programs against it as an outside project would: with
# pkg-config (Makefile; shared, then static) and with CMake
# (find_package(onnxc)), then runs them. LeNet-5 comes from the installed
# `onnxc export`; finetune trains it on MNIST (the first 4000 images, one
# epoch) and must reach 85% on 1000 test images; classify reads the
# trained model and an included digit image, and the .npy path. A
# runtime-only consumer (include "runtime/plan.h", link onnxc-runtime)
# checks the runtime package on its own.
#
# Usage: test_install.sh BUILD_DIR SOURCE_DIR DATASETS_DIR WORK_DIR
# Exit 77 (skipped) when MNIST is missing, 1 then with ONNXC_REQUIRE_DATA=1.
set -euo pipefail
build=$1 src=$2 datasets=$3 work=$4
mnist=$datasets/mnist
rm -rf "$work" && mkdir -p "$work"
prefix=$work/prefix

echo "== cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in include/onnxc/onnxc.h include/onnxc/runtime/plan.h include/onnxc/runtime/kernels/conv.h \
         lib/libonnxc.so lib/libonnxc.a lib/libonnxc_runtime.so lib/libonnxc_runtime.a \
         lib/pkgconfig/onnxc.pc lib/pkgconfig/onnxc-runtime.pc lib/cmake/onnxc/onnxcConfig.cmake bin/onnxc; do
  [ -e "$prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
# the shared library exports only the public prefixes
bad=$(nm -D --defined-only "$prefix/lib/libonnxc.so" "$prefix/lib/libonnxc_runtime.so" | awk 'NF==3 && $3 !~ /^(oc_|onnxc_|ONNXC_)/ {print $3}' | head -5)
[ -z "$bad" ] || { echo "FAIL: libonnxc exports non-API symbols: $bad"; exit 1; }
soname=$(readelf -d "$prefix/lib/libonnxc.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = libonnxc.so.0 ] || { echo "FAIL: SONAME '$soname'"; exit 1; }
echo "installed; libonnxc.so SONAME $soname, only oc_/onnxc_ symbols exported"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
echo "== runtime-only consumer (pkg-config onnxc-runtime)"
cat >"$work/rt.c" <<'C'
#include <stdio.h>
#include "runtime/plan.h"
#include "runtime/kernels/conv.h"
int main(void)
{
    oc_diag d;
    oc_diag_init(&d);
    int64_t dims[2] = {2, 3};
    oc_tensor *t = oc_tensor_new(OC_FLOAT, 2, dims, &d);
    printf("runtime tensor of %lld floats\n", t ? (long long)t->numel : -1LL);
    oc_tensor_free(t);
    return t ? 0 : 1;
}
C
cc -std=c11 -Wall -Werror $(pkg-config --cflags onnxc-runtime) -o "$work/rt" "$work/rt.c" \
   $(pkg-config --libs onnxc-runtime) -Wl,-rpath,"$prefix/lib"
"$work/rt"
cc -std=c11 $(pkg-config --cflags onnxc-runtime) -o "$work/rt_static" "$work/rt.c" \
   "$prefix/lib/libonnxc_runtime.a" $(pkg-config --static --libs-only-other --libs-only-L onnxc-runtime) \
   $(pkg-config --static --libs-only-l onnxc-runtime | sed 's/-lonnxc_runtime//')
"$work/rt_static"

echo "== examples with pkg-config (shared and static)"
cp -r "$src/examples" "$work/mk" && make -s -C "$work/mk" CFLAGS="-O2 -Wall -Wextra -Werror -std=c11"
cp -r "$src/examples" "$work/mk_static" && make -s -C "$work/mk_static" STATIC=1 CFLAGS="-O2 -Wall -Wextra -Werror -std=c11"
ldd "$work/mk_static/classify" | grep -q libonnxc && { echo "FAIL: the static build links libonnxc.so"; exit 1; }
echo "== examples with CMake (find_package(onnxc))"
cmake -S "$src/examples" -B "$work/cm" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="-Werror" >"$work/cm.log"
cmake --build "$work/cm" >>"$work/cm.log"
cmake -S "$src/examples" -B "$work/cm_static" -DCMAKE_PREFIX_PATH="$prefix" -DONNXC_EXAMPLES_STATIC=ON >"$work/cms.log"
cmake --build "$work/cm_static" >>"$work/cms.log"

echo "== run"
"$prefix/bin/onnxc" export --model lenet5 -o "$work/lenet5.onnx"
if [ ! -f "$mnist/train-images-idx3-ubyte.gz" ] || [ ! -f "$mnist/t10k-labels-idx1-ubyte.gz" ]; then
  echo "SKIP: MNIST is not in $mnist (finetune needs it)"
  [ "${ONNXC_REQUIRE_DATA:-0}" = 1 ] && exit 1
  exit 77
fi
"$work/cm/finetune" "$work/lenet5.onnx" "$mnist" "$work/lenet5_mnist.onnx" --samples 4000 --min-accuracy 0.85
# head-only through the pkg-config build: only LeNet-5's last layer trains
"$work/mk/finetune" "$work/lenet5_mnist.onnx" "$mnist" "$work/lenet5_head.onnx" --samples 1024 \
  --head-only fc3.weight,fc3.bias --min-accuracy 0.85 | tee "$work/head.txt"
grep -q "training 2 parameter tensors" "$work/head.txt" || { echo "FAIL: head-only trained more than fc3"; exit 1; }
for b in mk mk_static cm_static; do
  "$work/$b/classify" "$work/lenet5_mnist.onnx" "$src/examples/data/seven.pgm" | tee "$work/classify_$b.txt"
  grep -q "1. class" "$work/classify_$b.txt"
done
"$work/cm/classify" "$work/lenet5_mnist.onnx" "$src/examples/data/seven.pgm" | tee "$work/classify_cm.txt"
grep -q "1. class 7 " "$work/classify_cm.txt" || echo "note: the drawn seven was not classified as 7 (top-1 above)"
# the .npy path: MNIST's first test image (a 7), normalized as in training
if /usr/bin/python3 -c "import numpy" 2>/dev/null; then
  /usr/bin/python3 - "$mnist/t10k-images-idx3-ubyte.gz" "$work/t10k0.npy" <<'PY'
import gzip, sys, numpy as np
raw = gzip.open(sys.argv[1]).read()
x = (np.frombuffer(raw[16:16 + 784], np.uint8).astype(np.float32) / 255 - 0.1307) / 0.3081
np.save(sys.argv[2], x.reshape(1, 1, 28, 28))
PY
  "$work/cm/classify" "$work/lenet5_mnist.onnx" "$work/t10k0.npy" | tee "$work/npy.txt"
  grep -q "1. class 7 " "$work/npy.txt" || { echo "FAIL: MNIST test image 0 (a 7) not classified as 7"; exit 1; }
fi
# bad input: a clear message and status 1, no crash
if "$work/cm/classify" "$work/lenet5_mnist.onnx" "$src/examples/Makefile" 2>"$work/err.txt"; then
  echo "FAIL: classify accepted a Makefile as an image"; exit 1
fi
cat "$work/err.txt"
if "$work/cm/classify" "$src/examples/Makefile" "$src/examples/data/seven.pgm" 2>"$work/err2.txt"; then
  echo "FAIL: classify accepted a Makefile as a model"; exit 1
fi
cat "$work/err2.txt"

echo "== generated C (onnxc compile) built against the installed runtime"
"$prefix/bin/onnxc" compile "$work/lenet5_mnist.onnx" -o "$work/gen" --name lenet --batch 1 >"$work/compile.log"
make -s -C "$work/gen" CFLAGS="-O2 -Wall -Wextra -Werror" LDFLAGS="-Wl,-rpath,$prefix/lib"
cmake -S "$work/gen" -B "$work/gen_cm" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="-Werror" >"$work/gen_cm.log"
cmake --build "$work/gen_cm" >>"$work/gen_cm.log"
if [ -f "$work/t10k0.npy" ]; then
  "$prefix/bin/onnxc" run "$work/lenet5_mnist.onnx" -i "$work/t10k0.npy" -o "$work/run_out" --format pb >/dev/null
  for b in "$work/gen/lenet_run" "$work/gen_cm/lenet_run"; do
    rm -rf "$work/gen_out" && mkdir -p "$work/gen_out"
    (cd "$work/gen" && "$b" -i "$work/t10k0.npy" -o "$work/gen_out")
    for f in "$work"/run_out/*.pb; do
      cmp -s "$f" "$work/gen_out/$(basename "$f")" || { echo "FAIL: $b: $(basename "$f") differs from onnxc run"; exit 1; }
    done
  done
  echo "generated LeNet-5 (pkg-config and CMake builds) writes the same outputs as onnxc run, byte for byte"
fi
echo "PASS: installed tree builds and runs the examples and generated code with pkg-config and CMake"
