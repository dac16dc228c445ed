"""Bad weights files: the generated init must refuse a weights file that is
missing, truncated (inside the header and inside the data), corrupt (one
data byte flipped), of another format version, from another model, longer
than its header says, or not a weights file at all, with one clear line
(harness exit status 1), never a crash (no signal, no sanitizer report; run
under the ASan build too). Then the good file must load and run.

Models: onnxc's own LeNet-5 and MLP (builder networks), compiled at batch 1."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cg_common import build, run_harness  # noqa: E402
from common import onnxc_binary, require, workdir  # noqa: E402

np = require("numpy")

d = workdir("codegen_weights")
a_dir, b_dir = os.path.join(d, "lenet"), os.path.join(d, "mlp")
for x in (a_dir, b_dir):
    shutil.rmtree(x, ignore_errors=True)
for name, out in (("lenet5", a_dir), ("mlp", b_dir)):
    p = subprocess.run([onnxc_binary(), "compile", "--model", name, "--batch", "1", "-o", out, "--name", "net"],
                       capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"onnxc compile --model {name} failed: {p.stderr}")
build(a_dir)
good = open(os.path.join(a_dir, "net.weights"), "rb").read()
x = np.random.RandomState(0).randn(1, 1, 28, 28).astype(np.float32)
xin = os.path.join(d, "x.npy")
np.save(xin, x)


def variant(name, data):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


flipped = bytearray(good)
flipped[64 + len(good[64:]) // 2] ^= 0x40
version = bytearray(good)
version[8] = 2
cases = [
    ("missing", os.path.join(d, "no-such.weights"), "cannot open"),
    ("truncated header", variant("trunc_header.weights", good[:40]), "truncated"),
    ("truncated data", variant("trunc_data.weights", good[:64 + (len(good) - 64) // 2]), "truncated"),
    ("corrupt", variant("corrupt.weights", bytes(flipped)), "checksum"),
    ("other version", variant("version.weights", bytes(version)), "version 2"),
    ("other model", os.path.join(b_dir, "net.weights"), "another model"),
    ("trailing bytes", variant("long.weights", good + b"\0" * 16), "longer than"),
    ("not a weights file", variant("random.weights", np.random.RandomState(1).bytes(4096)), "not an onnxc weights"),
    ("empty", variant("empty.weights", b""), "truncated"),
]
ok = True
for what, path, expect in cases:
    res = os.path.join(d, "out")
    rc, out, err = run_harness(a_dir, "net", [xin], res, weights=path)
    line = err.strip().splitlines()[-1] if err.strip() else ""
    clean = rc == 1 and "Sanitizer" not in err and "runtime error" not in err and len(err.strip().splitlines()) == 1
    good_msg = expect in line
    print(f"{what}: exit {rc}: {line}  {'ok' if clean and good_msg else 'FAIL (expected exit 1 and ' + repr(expect) + ')'}")
    ok &= clean and good_msg
rc, out, err = run_harness(a_dir, "net", [xin], os.path.join(d, "out"), weights=os.path.join(a_dir, "net.weights"))
print(f"good weights: exit {rc} {'ok' if rc == 0 else 'FAIL: ' + err.strip()}")
ok &= rc == 0
sys.exit(0 if ok else 1)
