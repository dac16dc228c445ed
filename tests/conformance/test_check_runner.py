"""`onnxc check --known` is honest about its list: on four small cases in
the backend-test layout, a listed case that passes is PASS plus "listed but
passes", a listed clean failure is SKIP with the listed reason, an unlisted
failure is FAIL, and a listed case whose process dies from a signal (here
SIGXCPU from a 1 s CPU limit on a large MatMul) is FAIL (CRASH), never SKIP.
Then update_known.py must refuse a log in which a case that passed before
fails now, and one with a crash, leaving its output file unwritten."""
import os
import resource
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import onnxc_binary, require, workdir

onnx = require("onnx")
np = require("numpy")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

d = workdir("check_runner")
shutil.rmtree(d, ignore_errors=True)
os.makedirs(d)
vi = helper.make_tensor_value_info


def write_case(name, nodes, inputs, outputs, inits, feeds, expected):
    cdir = os.path.join(d, "cases", name)
    os.makedirs(os.path.join(cdir, "test_data_set_0"))
    m = helper.make_model(helper.make_graph(nodes, name, inputs, outputs, initializer=inits),
                          opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(m, os.path.join(cdir, "model.onnx"))
    for k, (kind, arr) in enumerate([("input", a) for a in feeds] + [("output", a) for a in expected]):
        idx = k if kind == "input" else k - len(feeds)
        with open(os.path.join(cdir, "test_data_set_0", f"{kind}_{idx}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(arr).SerializeToString())


x = np.array([[-1.0, 2.0, -3.0, 4.0]], np.float32)
relu = ([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x", TensorProto.FLOAT, [1, 4])],
        [vi("y", TensorProto.FLOAT, [1, 4])], [])
write_case("case_pass", *relu, [x], [np.maximum(x, 0)])
write_case("case_fail_listed", *relu, [x], [np.maximum(x, 0) + 1])
write_case("case_fail_unlisted", *relu, [x], [np.maximum(x, 0) + 1])
n = 4096  # two 4096^2 MatMuls of ConstantOfShape data: far more than 1 s of CPU
shape = numpy_helper.from_array(np.array([n, n], np.int64), "s")
write_case("case_crash_listed", [helper.make_node("ConstantOfShape", ["s"], ["a"], name="fill"),
                                 helper.make_node("MatMul", ["a", "a"], ["b"], name="mm1"),
                                 helper.make_node("MatMul", ["b", "a"], ["y"], name="mm2")],
           [], [vi("y", TensorProto.FLOAT, [n, n])], [shape], [], [np.zeros((1, 1), np.float32)])
known = os.path.join(d, "known.txt")
with open(known, "w") as f:
    f.write("case_pass  listed by mistake\ncase_fail_listed  wrong on purpose\ncase_crash_listed  listed crash\n")


def cpu_limit():
    resource.setrlimit(resource.RLIMIT_CPU, (1, 2))


p = subprocess.run([onnxc_binary(), "check", os.path.join(d, "cases"), "--known", known], capture_output=True,
                   text=True, timeout=300, preexec_fn=cpu_limit)
lines = p.stdout.splitlines()
log = os.path.join(d, "after.log")
with open(log, "w") as f:
    f.write(p.stdout)


def has(prefix):
    return any(l.startswith(prefix) for l in lines)


checks = [
    ("listed case that passes: PASS", has("PASS case_pass:")),
    ("... and reported as stale", has("listed but passes: case_pass")),
    ("listed clean failure: SKIP with the reason", has("SKIP case_fail_listed: known failure: wrong on purpose")),
    ("unlisted failure: FAIL", has("FAIL case_fail_unlisted:")),
    ("listed case killed by a signal: FAIL (CRASH)", has("FAIL (CRASH) case_crash_listed: crashed with signal")),
    ("summary", lines[-1:] == ["1 passed, 2 failed, 1 skipped"] and p.returncode == 1),
]
ok = True
for label, good in checks:
    print(f"{'ok  ' if good else 'FAIL'} {label}")
    ok &= good
if not ok:
    print(p.stdout, p.stderr)

# update_known.py: case_pass passed before and fails now, and a case crashed
before = os.path.join(d, "before.log")
with open(before, "w") as f:
    f.write("PASS case_pass: max abs diff 0 over 1 data set\n")
with open(log, "a") as f:
    f.write("FAIL case_pass: test_data_set_0: output 0 'y': max abs diff 1 exceeds rtol 0.001 / atol 1e-05\n")
out = os.path.join(d, "new_known.txt")
u = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "update_known.py"), "--previous", before,
                    log, "--output", out], capture_output=True, text=True, timeout=60)
good = (u.returncode == 1 and "regressions" in u.stdout and "case_pass" in u.stdout and "crash" in u.stdout
        and not os.path.exists(out))
print(f"{'ok  ' if good else 'FAIL'} update_known.py refuses a regression and a crash (exit {u.returncode}): "
      f"{' | '.join(l.strip() for l in u.stdout.splitlines()[:4])}")
ok &= good
sys.exit(0 if ok else 1)
