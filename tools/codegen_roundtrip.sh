#!/bin/sh
# codegen_roundtrip.sh: the full node-suite round trip of `onnxc compile`
# (CI runs a sample: ctest -R codegen.roundtrip). Every ONNX backend node
# case the runtime passes is compiled, built with -Wall -Wextra -Werror and
# run through its harness against the reference outputs, in default mode
# and in --portable mode; prints the counts and names every case that does
# not round-trip with its reason.
#   tools/codegen_roundtrip.sh [BUILD_DIR] [JOBS]   (default: build, 2)
set -e
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
jobs=${2:-2}
suite="$here/../shared/onnx-backend-tests/node"
export ONNXC="$build/onnxc" ONNXC_BUILD="$build" ONNXC_TEST_TMP="$build/test-tmp"
status=0
/usr/bin/python3 "$here/tests/codegen/roundtrip_nodes.py" "$suite" --jobs "$jobs" || status=1
/usr/bin/python3 "$here/tests/codegen/roundtrip_nodes.py" "$suite" --portable --jobs "$jobs" || status=1
exit $status
