#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer targets (tests/fuzz/fuzz_*.c; clang with
# ASan and UBSan) in build-fuzz, seeds a corpus per target and runs each
# for SECONDS, two at a time. Prints executions, corpus size and the
# outcome per target; exits 1 if any target found a crash, a leak, a
# sanitizer report or a timeout (the reproducer is left in
# build-fuzz/findings/<target>/; copy it into tests/fuzz/regress/<target>/
# once fixed, where fuzz.sh replays every file before fuzzing).
#
#   tools/fuzz.sh [SECONDS (default 60)] [TARGET ...]   targets: import run tensor image idx
#
# ONNXC_FUZZ_TIMEOUT (default 10): seconds one input may take before it
# counts as a hang (wall time: raise it on a machine whose processes get
# stopped and resumed, or a pause reads as a hang).
#
# Seeds: the ONNX backend suite's models and tensors (../shared), the
# repository's own test files, small images and IDX files cut from the
# shared data sets when they are there. Corpora persist in build-fuzz/corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=${*:-import run tensor image idx}
shared=${ONNXC_SHARED:-../shared}
out=build-fuzz
if [ ! -f $out/CMakeCache.txt ]; then
  CC=clang cmake -S . -B $out -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONNXC_FUZZ=ON >/dev/null
fi
cmake --build $out -j2 --target $(for t in $targets; do printf 'fuzz_%s ' "$t"; done) >/dev/null

seed() { # seed TARGET: fills $out/corpus/TARGET once
  local t=$1 c=$out/corpus/$1
  [ -d "$c" ] && [ -n "$(ls -A "$c")" ] && return 0
  mkdir -p "$c"
  local node=$shared/onnx-backend-tests/node
  case $t in
    import)
      find tests/fuzz/seeds "$node" -name '*.onnx' 2>/dev/null | head -400 | while read -r f; do cp "$f" "$c/$(echo "$f" | md5sum | cut -c1-16)"; done ;;
    run) # two length bytes, the model, then input bytes
      find tests/fuzz/seeds "$node" -name '*.onnx' -size -60k 2>/dev/null | head -300 | while read -r f; do
        n=$(stat -c %s "$f")
        { printf "\\x$(printf %02x $((n >> 8 & 255)))\\x$(printf %02x $((n & 255)))"; cat "$f"; head -c 64 /dev/urandom; } \
          >"$c/$(echo "$f" | md5sum | cut -c1-16)"
      done ;;
    tensor) # first byte: 0 = .npy, 1 = .pb, 3 = an OptionalProto .pb, 2 = an onnxc tensors file
      for f in tests/fuzz/seeds/*.tns; do [ -f "$f" ] && { printf '\x02'; cat "$f"; } >"$c/$(basename "$f")"; done
      find "$node" -name 'input_*.pb' -size -20k 2>/dev/null | head -300 | while read -r f; do
        { printf '\x01'; cat "$f"; } >"$c/$(echo "$f" | md5sum | cut -c1-16)"; done
      find "$node" -path '*optional*' -name 'input_*.pb' -size -20k 2>/dev/null | while read -r f; do
        { printf '\x03'; cat "$f"; } >"$c/opt$(echo "$f" | md5sum | cut -c1-16)"; done
      if /usr/bin/python3 -c "import numpy" 2>/dev/null; then
        /usr/bin/python3 - "$c" <<'PY'
import io, sys, numpy as np
for i, a in enumerate([np.zeros((2, 3), np.float32), np.arange(5, dtype=np.int64), np.ones((1, 1, 4, 4), np.float64),
                       np.array(3.5, np.float32), np.zeros((0, 2), np.float32), np.array([True, False])]):
    b = io.BytesIO()
    np.save(b, a)
    open(f"{sys.argv[1]}/npy{i}", "wb").write(b"\x00" + b.getvalue())
PY
      fi ;;
    image)
      cp examples/data/seven.pgm "$c/pgm" 2>/dev/null || true
      if /usr/bin/python3 -c "import PIL" 2>/dev/null; then
        /usr/bin/python3 - "$c" <<'PY'
import io, sys
from PIL import Image
im = Image.new("RGB", (9, 7), (200, 30, 90))
for fmt in ("PNG", "JPEG", "BMP", "GIF", "TGA", "PPM"):
    for mode in ("RGB", "L"):
        b = io.BytesIO()
        im.convert(mode).save(b, fmt)
        open(f"{sys.argv[1]}/{fmt}_{mode}", "wb").write(b"\x05" + b.getvalue())
PY
      fi
      find "$shared/datasets/hymenoptera_data/val" -name '*.jpg' -size -40k 2>/dev/null | head -5 | while read -r f; do
        { printf '\x07'; cat "$f"; } >"$c/$(basename "$f")"; done ;;
    idx) # two bytes: where the images file ends; images then labels
      for pre in t10k train; do
        im=$shared/datasets/mnist-t10k/$pre-images-idx3-ubyte; lb=$shared/datasets/mnist-t10k/$pre-labels-idx1-ubyte
        [ -f "$im" ] || im=$im.gz
        [ -f "$lb" ] || lb=$lb.gz
        [ -f "$im" ] && [ -f "$lb" ] || continue
        /usr/bin/python3 - "$im" "$lb" "$c/$pre" <<'PY'
import gzip, struct, sys
rd = lambda p: (gzip.open(p) if p.endswith(".gz") else open(p, "rb")).read()
im, lb = rd(sys.argv[1]), rd(sys.argv[2])
im = im[:4] + struct.pack(">I", 3) + im[8:16] + im[16:16 + 3 * 784]
lb = lb[:4] + struct.pack(">I", 3) + lb[8:11]
open(sys.argv[3], "wb").write(struct.pack(">H", len(im)) + im + lb)
PY
        break
      done ;;
  esac
  [ -n "$(ls -A "$c")" ] || head -c 64 /dev/urandom >"$c/random"
}

status=0
run_one() {
  local t=$1 bin=$out/fuzz_$1 find=$out/findings/$1 log=$out/fuzz_$1.log
  mkdir -p "$find"
  if [ -d "tests/fuzz/regress/$t" ] && [ -n "$(ls -A "tests/fuzz/regress/$t")" ]; then
    "$bin" -runs=0 tests/fuzz/regress/$t/* >"$log.regress" 2>&1 || { echo "fuzz_$t: a regression file fails again (see $log.regress)"; return 1; }
  fi
  local rc=0
  "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout="${ONNXC_FUZZ_TIMEOUT:-10}" -max_len=262144 -print_final_stats=1 \
    -artifact_prefix="$find/" "$out/corpus/$t" >"$log" 2>&1 || rc=$?
  local execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  local size=$(ls "$out/corpus/$t" | wc -l)
  if [ $rc -eq 0 ]; then
    echo "fuzz_$t: ${execs:-?} executions in ${secs}s, corpus $size files, no findings"
  else
    echo "fuzz_$t: FINDING after ${execs:-?} executions (exit $rc): $(grep -m1 -E 'ERROR|SUMMARY|runtime error' "$log" || true); see $log and $find"
    return 1
  fi
}
for t in $targets; do seed "$t" || true; done
set -- $targets
while [ $# -gt 0 ]; do # two at a time (2 cores)
  run_one "$1" & p1=$!
  p2=
  if [ $# -gt 1 ]; then run_one "$2" & p2=$!; fi
  wait $p1 || status=1
  [ -z "$p2" ] || wait $p2 || status=1
  shift; [ $# -gt 0 ] && shift
done
exit $status
