"""Loads every model of an ONNX backend-test suite with `onnxc info`.
Bar: no crash, signal or sanitizer report on any file; every failure is a
single clear error line. Prints how many loaded and the error kinds."""
import collections
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import SKIP, run_onnxc

suite = sys.argv[1]
if not os.path.isdir(suite):
    print(f"SKIP: suite folder {suite} is not there")
    sys.exit(SKIP)
cases = sorted(c for c in os.listdir(suite) if os.path.exists(os.path.join(suite, c, "model.onnx")))
loaded, errors, crashes = 0, collections.Counter(), []
for c in cases:
    rc, out, err = run_onnxc(["info", os.path.join(suite, c, "model.onnx"), "--json"], timeout=120)
    lines = [l for l in err.splitlines() if l.strip() and "warning:" not in l]
    if rc == 0 and not lines:
        loaded += 1
    elif rc == 1 and len(lines) == 1 and lines[0].startswith("onnxc info: error:"):
        msg = lines[0].split("model.onnx: ", 1)[-1]
        errors[re.sub(r"'[^']*'|\[[^\]]*\]|\d+", "_", msg)[:90]] += 1
    else:
        crashes.append((c, rc, err.strip()[-300:]))
print(f"{suite}: {len(cases)} models: {loaded} loaded, {sum(errors.values())} clear errors, {len(crashes)} crashes")
for msg, n in errors.most_common(25):
    print(f"  {n:4d} x {msg}")
for c, rc, e in crashes:
    print(f"  CRASH {c}: exit {rc}: {e}")
sys.exit(1 if crashes or not cases else 0)
