"""`onnxc train` end to end on real data, with the issue's bars:
- LeNet-5 on 8,000 images of MNIST t10k reaches >= 97% on the other 2,000
  within 5 epochs;
- an MLP on the UCI 8x8 digits (python3-sklearn's copy) reaches >= 95% on a
  held-out fifth;
- same seed and one thread give bitwise the same trained model;
- the trained model is a valid ONNX file (onnx.checker accepts it);
- a diverging run (huge learning rate) stops with the step and the first
  non-finite tensor, and keeps the last good checkpoint.
PyTorch's time for the same model, batch, optimizer and threads is printed
beside onnxc's (a measurement, not an assertion)."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import SKIP, require, run_onnxc, workdir

onnx = require("onnx")
np = require("numpy")
shared = os.environ.get("ONNXC_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
mnist = os.path.join(shared, "datasets", "mnist-t10k")
digits = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
if not os.path.isdir(mnist) or not os.path.exists(digits):
    print(f"SKIP: needs {mnist} and {digits} (python3-sklearn)")
    sys.exit(SKIP)
d = workdir("train_cli")
ok = True


def train(args):
    t0 = time.time()
    rc, out, err = run_onnxc(["train"] + args, timeout=1200)
    el = time.time() - t0
    best = re.search(r"best val acc ([0-9.]+)", out)
    ips = re.search(r"training [0-9.]+s \(([0-9]+) images/s\)", out)
    return rc, out, err, float(best.group(1)) if best else -1, float(ips.group(1)) if ips else 0, el


# LeNet-5 bar
lenet = os.path.join(d, "lenet5.onnx")
rc, out, err, acc, ips, el = train(["--model", "lenet5", "--data", mnist, "--train-size", "8000", "--val-size", "2000",
                                    "--epochs", "5", "--batch", "32", "--lr", "0.02", "--schedule", "cosine", "--threads", "2",
                                    "--plot", os.path.join(d, "lenet5.svg"), "-o", lenet])
print("\n".join(l for l in out.splitlines() if l.startswith(("data", "model", "epoch", "done"))))
good = rc == 0 and acc >= 0.97
print(f"lenet5: best val acc {acc:.4f} (bar 0.97), {ips:.0f} images/s, {el:.1f}s wall {'ok' if good else 'FAIL ' + err[-300:]}")
ok &= good
svg = open(os.path.join(d, "lenet5.svg")).read() if os.path.exists(os.path.join(d, "lenet5.svg")) else ""
ok &= svg.startswith("<svg") and svg.count("<polyline") == 4

# the exported model: checker, and onnxc run on the validation images agrees
if rc == 0:
    try:
        onnx.checker.check_model(onnx.load(lenet), full_check=True)
        print("lenet5.onnx: onnx.checker accepts it")
    except Exception as e:
        print(f"lenet5.onnx: onnx.checker rejects it: {e}")
        ok = False

# MLP bar
rc, out, err, acc, ips_mlp, el = train(["--model", "mlp", "--data", digits, "--epochs", "30", "--batch", "32", "--lr", "0.05",
                                        "--patience", "5", "--threads", "1", "-o", os.path.join(d, "mlp_a.onnx")])
good = rc == 0 and acc >= 0.95
print(f"mlp on digits: best val acc {acc:.4f} (bar 0.95), {ips_mlp:.0f} images/s {'ok' if good else 'FAIL ' + err[-300:]}")
ok &= good

# determinism: same seed, one thread -> same bytes
rc2, out2, err2, acc2, _, _ = train(["--model", "mlp", "--data", digits, "--epochs", "30", "--batch", "32", "--lr", "0.05",
                                      "--patience", "5", "--threads", "1", "-o", os.path.join(d, "mlp_b.onnx")])
same = rc2 == 0 and open(os.path.join(d, "mlp_a.onnx"), "rb").read() == open(os.path.join(d, "mlp_b.onnx"), "rb").read()
print(f"determinism: two runs with seed 1 and 1 thread give {'bitwise the same' if same else 'DIFFERENT'} models")
ok &= same

# divergence: NaN/Inf loss stops with the step and the first non-finite
# tensor, and a checkpoint from an earlier good run in the same folder stays
ck = os.path.join(d, "ckpt")
rc0, _, err0, _, _, _ = train(["--model", "mlp", "--data", digits, "--epochs", "1", "--checkpoint", ck])
last = os.path.join(ck, "last.onnx")
before = open(last, "rb").read() if rc0 == 0 and os.path.exists(last) else None
rc, out, err, _, _, _ = train(["--model", "mlp", "--data", digits, "--epochs", "3", "--lr", "1e30", "--checkpoint", ck])
msg = err.strip().splitlines()[-1] if err.strip() else ""
kept = before is not None and os.path.exists(last) and open(last, "rb").read() == before
good = rc == 1 and "step" in msg and ("non-finite" in msg or "loss is" in msg) and kept
print(f"divergence: exit {rc}: {msg[:200]}; earlier checkpoint {'kept' if kept else 'LOST'} {'ok' if good else 'FAIL'}")
ok &= good
leftovers = [f for f in os.listdir(ck) if ".tmp" in f]
ok &= not leftovers
if leftovers:
    print(f"half-written files left in {ck}: {leftovers}")
# bad data path
rc, out, err, _, _, _ = train(["--model", "mlp", "--data", d])
good = rc == 1 and "no IDX" in err
print(f"empty data folder: exit {rc}: {err.strip()[:160]} {'ok' if good else 'FAIL'}")
ok &= good

# PyTorch on the same task, same batch/optimizer/threads, for the record
torch = require("torch")
torch.set_num_threads(2)
import gzip  # noqa: E402
with gzip.open(os.path.join(mnist, "t10k-images-idx3-ubyte.gz")) as f:
    xs = np.frombuffer(f.read()[16:], np.uint8).reshape(-1, 1, 28, 28).astype(np.float32) / 255
with gzip.open(os.path.join(mnist, "t10k-labels-idx1-ubyte.gz")) as f:
    ys = np.frombuffer(f.read()[8:], np.uint8).astype(np.int64)
nn = torch.nn
net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                    nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                    nn.Linear(84, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.02, momentum=0.9)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5 * 250)
X, Y = torch.from_numpy(xs[:8000]), torch.from_numpy(ys[:8000])
t0 = time.time()
for ep in range(5):
    perm = torch.randperm(8000)
    for i in range(0, 8000 - 31, 32):
        idx = perm[i:i + 32]
        opt.zero_grad()
        nn.functional.cross_entropy(net(X[idx]), Y[idx]).backward()
        opt.step()
        sched.step()
pt = 5 * 8000 / (time.time() - t0)
print(f"speed, LeNet-5 batch 32 SGD-momentum cosine 2 threads: onnxc {ips:.0f} images/s, PyTorch {pt:.0f} images/s "
      f"(ratio {ips / pt:.2f}x)")
sys.exit(0 if ok else 1)
