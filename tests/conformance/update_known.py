"""Regenerates known_failures.txt from an `onnxc check` log: every FAIL
line becomes 'case  reason', grouped under its reason. Run after a change
that fixes or adds failures, read the diff, and commit it: the list is the
honest record of what does not pass yet and why.

    onnxc check ../shared/onnx-backend-tests/node > node.log
    python3 tests/conformance/update_known.py node.log [more.log ...]"""
import collections
import os
import re
import sys

groups = collections.defaultdict(list)
for log in sys.argv[1:]:
    for line in open(log):
        m = re.match(r"(FAIL|SKIP) (\S+): (.*)", line)
        if not m or (m.group(1) == "SKIP" and "known failure" not in m.group(3)):
            continue
        case, msg = m.group(2), m.group(3)
        msg = re.sub(r"^test_data_set_\d+: ", "", msg)
        msg = re.sub(r"^known failure: ", "", msg)
        msg = re.sub(r"\S*/model\.onnx: ", "", msg)
        msg = re.sub(r"node '[^']*' \((\w+)\): ", r"\1: ", msg)
        msg = re.sub(r"value '[^']*'", "a value", msg)
        msg = re.sub(r"output (\d+) '[^']*'", r"output \1", msg)
        msg = re.sub(r"max abs diff [0-9.e+-]+", "max abs diff above tolerance", msg)
        msg = re.sub(r"\[[0-9?,]*\]", "[...]", msg)
        groups[msg[:200]].append(case)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "known_failures.txt")
with open(out, "w") as f:
    f.write("# ONNX backend-test cases onnxc does not pass yet, with the reason (from onnxc check).\n"
            "# `onnxc check --known` reports these as skipped with the reason, never as passed.\n"
            "# Regenerate with tests/conformance/update_known.py and review the diff.\n")
    for reason in sorted(groups, key=lambda r: (-len(groups[r]), r)):
        f.write(f"\n# {len(groups[reason])} x {reason}\n")
        for c in sorted(set(groups[reason])):
            f.write(f"{c}  {reason}\n")
print(f"{sum(len(v) for v in groups.values())} cases in {len(groups)} groups -> {out}")
