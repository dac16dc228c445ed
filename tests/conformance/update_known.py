"""Regenerates known_failures.txt from `onnxc check` logs: every FAIL line
becomes 'case  reason', grouped under its reason. Run after a change that
fixes or adds failures, read the diff, and commit it: the list is the honest
record of what does not pass yet and why.

The list must not absorb regressions: a case that PASSed in the previous
log (the run before the change) and fails now is refused, and so is a crash
("FAIL (CRASH)"), which the runner never excuses anyway. Both are printed,
nothing is written, and the exit status is 1: fix them, or say why in the
commit and pass --allow-regressions.

    onnxc check ../shared/onnx-backend-tests/node --known tests/conformance/known_failures.txt > before.log
    (make the change, rebuild)
    onnxc check ../shared/onnx-backend-tests/node --known tests/conformance/known_failures.txt > after.log
    python3 tests/conformance/update_known.py --previous before.log after.log [more.log ...]

--no-previous regenerates without a baseline (a new suite, a first list)."""
import argparse
import collections
import os
import re
import sys

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("logs", nargs="+", help="onnxc check logs of the current build")
ap.add_argument("--previous", action="append", default=[], help="onnxc check log from before the change (repeatable)")
ap.add_argument("--no-previous", action="store_true", help="no baseline: skip the regression check")
ap.add_argument("--allow-regressions", action="store_true", help="list cases that passed before anyway")
ap.add_argument("--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "known_failures.txt"),
                help="the list to write (default: tests/conformance/known_failures.txt)")
args = ap.parse_args()
if not args.previous and not args.no_previous:
    ap.error("give --previous LOG (the run before the change) so that regressions are refused, or --no-previous")

line_re = re.compile(r"(FAIL \(CRASH\)|PASS|FAIL|SKIP) (\S+): (.*)")


def results(log):
    """(kind, case, message) per case. For a listed case `onnxc check` prints
    the listed reason and, on the next line in parentheses, the error it
    gives now: that one is the message, so that reasons do not go stale."""
    lines = open(log).read().splitlines()
    for i, line in enumerate(lines):
        m = line_re.match(line)
        if m:
            kind, case, msg = m.group(1), m.group(2), m.group(3)
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if kind == "SKIP" and msg.startswith("known failure: ") and nxt.startswith("     (") and nxt.endswith(")"):
                msg = "known failure: " + nxt.strip()[1:-1]
            yield kind, case, msg


passed_before = {case for log in args.previous for kind, case, _ in results(log) if kind == "PASS"}
groups = collections.defaultdict(list)
regressions, crashes = [], []
for log in args.logs:
    for kind, case, msg in results(log):
        if kind == "FAIL (CRASH)":
            crashes.append(f"{case}: {msg}")
            continue
        if kind == "PASS" or (kind == "SKIP" and "known failure" not in msg):
            continue
        if case in passed_before:
            regressions.append(f"{case}: {msg}")
        msg = re.sub(r"^known failure: ", "", msg)
        msg = re.sub(r"^test_data_set_\d+: ", "", msg)
        msg = re.sub(r"\S*/model\.onnx: ", "", msg)
        msg = re.sub(r"\S*/((?:input|output)_\d+\.pb)", r"\1", msg)
        msg = re.sub(r"node '[^']*' \((\w+)\): ", r"\1: ", msg)
        msg = re.sub(r"value '[^']*'", "a value", msg)
        msg = re.sub(r"output (\d+) '[^']*'", r"output \1", msg)
        msg = re.sub(r"max abs diff [0-9.e+-]+", "max abs diff above tolerance", msg)
        msg = re.sub(r"\[[0-9?,]*\]", "[...]", msg)
        groups[msg[:200]].append(case)
# Entries of the present list whose case no given log ran (another suite's
# cases, when only some suites' logs are given) are kept as they are.
ran = {case for log in args.logs for _, case, _ in results(log)}
kept = 0
if os.path.exists(args.output):
    for line in open(args.output):
        parts = line.rstrip("\n").split("  ", 1)
        if line.startswith("test_") and len(parts) == 2 and parts[0] not in ran:
            groups[parts[1]].append(parts[0])
            kept += 1
bad = False
if crashes:
    print(f"refused: {len(crashes)} case(s) crash; the list never excuses a crash, fix them:")
    print("\n".join("  " + c for c in crashes))
    bad = True
if regressions and not args.allow_regressions:
    print(f"refused: {len(regressions)} case(s) passed in the previous log and fail now (regressions):")
    print("\n".join("  " + r for r in regressions))
    bad = True
if bad:
    print(f"{args.output} left unchanged")
    sys.exit(1)
out = args.output
with open(out, "w") as f:
    f.write("# ONNX backend-test cases onnxc does not pass yet, with the reason (from onnxc check).\n"
            "# `onnxc check --known` reports these as skipped with the reason, never as passed;\n"
            "# a crash is always a failure. Regenerate with tests/conformance/update_known.py and review the diff.\n")
    for reason in sorted(groups, key=lambda r: (-len(groups[r]), r)):
        f.write(f"\n# {len(groups[reason])} x {reason}\n")
        for c in sorted(set(groups[reason])):
            f.write(f"{c}  {reason}\n")
print(f"{sum(len(v) for v in groups.values())} cases in {len(groups)} groups -> {out}"
      f" ({kept} kept unchanged: no given log ran them)")
