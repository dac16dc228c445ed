"""Runs `onnxc check` on one ONNX backend-test suite with the known-failure
list (tests/conformance/known_failures.txt: each listed case that fails
cleanly is reported as skipped with its reason, never as passed; a crash is
always a failure). Fails when any case fails unexpectedly or crashes, when
a listed case passes (a stale entry: remove it from the list), or when
fewer than MIN_PASS cases pass. Prints the summary line."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import SKIP, onnxc_binary

suite, min_pass = sys.argv[1], int(sys.argv[2])
known = os.path.join(os.path.dirname(__file__), "known_failures.txt")
if not os.path.isdir(suite):
    print(f"SKIP: suite folder {suite} is not there")
    sys.exit(SKIP)
p = subprocess.run([onnxc_binary(), "check", suite, "--known", known], capture_output=True, text=True,
                   timeout=3000)
lines = p.stdout.splitlines()
stale = [l for l in lines if l.startswith("listed but passes: ")]
for l in lines:
    if l.startswith("FAIL") or l.startswith("listed but passes: "):
        print(l)
summary = lines[-1] if lines else ""
print(f"{os.path.basename(suite)}: {summary}")
if p.returncode not in (0, 1) or p.stderr.strip():
    print(p.stderr[-2000:])
parts = summary.replace(",", "").split()
passed = int(parts[0]) if parts and parts[0].isdigit() else -1
failed = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else -1
if failed != 0 or passed < min_pass or stale:
    print(f"bar: {min_pass} passing cases, no unexpected failure or crash, no stale entry in the known list "
          f"({len(stale)} stale)")
    sys.exit(1)
