"""`onnxc finetune` (tools/cmd_finetune.c over compiler/trainer.c):
(a) a torchvision resnet18 (random weights, exported at 112x112 with a
    dynamic batch) gets a fresh 2-class head trained head-only on a slice of
    hymenoptera_data (cached backbone features): the training loss goes
    down, the output passes onnx.checker (full check), reloads in onnxc, and
    onnxc's logits on it match PyTorch's resnet18 with the trained head
    loaded (1e-4 relative); a --full run (no cache, BN auto) exports a
    valid model too;
(a1) the cached-feature head equals the one trained through the whole
    model (--no-cache), with both times printed;
(a4) a MatMul + Add head under a Softmax (found through it; the loss reads
    the logits before it);
(a3) transfer: LeNet-5 trained by onnxc on MNIST, head retrained on
    Fashion-MNIST IDX features: val top-1 >= 0.5 (chance 0.1), --plot;
(b) bad input gives a clear error and writes nothing: a class folder with
    no images, a class count that differs from --classes, an unknown --head
    (the message lists candidates), an output in a missing folder."""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import SKIP, require, run_onnxc, workdir

torch = require("torch")
torchvision = require("torchvision")
onnx = require("onnx")
from onnx import numpy_helper  # noqa: E402
np = require("numpy")
shared = os.environ.get("ONNXC_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
hym = os.path.join(shared, "datasets", "hymenoptera_data")
if not os.path.isdir(os.path.join(hym, "train")):
    print(f"SKIP: needs {hym}")
    sys.exit(SKIP)
d = workdir("finetune")
ok = True

torch.manual_seed(0)
net = torchvision.models.resnet18(num_classes=1000).eval()
model = os.path.join(d, "resnet18_112.onnx")
# BatchNormalization nodes kept (not folded into the convolutions)
torch.onnx.export(net, torch.randn(1, 3, 112, 112), model, opset_version=13, input_names=["input"],
                  output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                  training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)

# (a) head-only, cached features
out = os.path.join(d, "ft_head.onnx")
if os.path.exists(out):
    os.remove(out)
rc, so, se = run_onnxc(["finetune", model, "--data", hym, "--classes", "2", "-o", out, "--size", "112",
                        "--batch", "8", "--limit", "48", "--epochs", "3", "--lr", "0.001", "--threads", "2"], timeout=900)
print("\n".join(l for l in so.splitlines() if l.startswith(("model", "data", "frozen", "features", "training", "epoch"))))
eps = re.findall(r"epoch \d+: train loss ([0-9.]+) \(first batch ([0-9.]+)", so)
cache = "computing the head's input features once" in so
down = len(eps) == 3 and float(eps[-1][0]) < float(eps[0][1])
good = rc == 0 and cache and down and "confusion matrix" in so
print(f"head-only: exit {rc}, feature cache {'used' if cache else 'NOT used'}, loss first batch "
      f"{eps[0][1] if eps else '?'} -> last epoch mean {eps[-1][0] if eps else '?'} {'ok' if good else 'FAIL ' + se[-400:]}")
ok &= good
if rc == 0:
    m = onnx.load(out)
    try:
        onnx.checker.check_model(m, full_check=True)
        print("ft_head.onnx: onnx.checker (full) accepts it")
    except Exception as e:
        print(f"ft_head.onnx: onnx.checker rejects it: {e} FAIL")
        ok = False
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    gemm = [n for n in m.graph.node if n.op_type == "Gemm"][-1]
    w, b = init[gemm.input[1]], init[gemm.input[2]]
    net2 = torchvision.models.resnet18(num_classes=1000).eval()
    net2.load_state_dict(net.state_dict())
    net2.fc = torch.nn.Linear(512, 2)
    with torch.no_grad():
        net2.fc.weight.copy_(torch.from_numpy(w.copy()))
        net2.fc.bias.copy_(torch.from_numpy(b.copy()))
    x = np.random.RandomState(3).randn(4, 3, 112, 112).astype(np.float32)
    np.save(os.path.join(d, "x.npy"), x)
    odir = os.path.join(d, "run_out")
    shutil.rmtree(odir, ignore_errors=True)
    rc2, so2, se2 = run_onnxc(["run", out, "-i", os.path.join(d, "x.npy"), "-o", odir, "--format", "npy"])
    files = [f for f in os.listdir(odir)] if os.path.isdir(odir) else []
    if rc2 == 0 and files:
        got = np.load(os.path.join(odir, files[0]))
        with torch.no_grad():
            ref = net2(torch.from_numpy(x)).numpy()
        err = float(np.abs(got - ref).max() / max(1.0, np.abs(ref).max()))
        good = got.shape == (4, 2) and err <= 1e-4
        print(f"reloaded in onnxc: logits {got.shape}, vs PyTorch with the trained head: max rel err {err:.1e} "
              f"{'ok' if good else 'FAIL'}")
    else:
        good = False
        print(f"onnxc run on the output failed: {se2[-300:]} FAIL")
    ok &= good

# (a1) the feature cache against training through the whole model (--no-cache):
# the same head, and the time each takes
import time  # noqa: E402
heads, times = [], []
for extra in ([], ["--no-cache"]):
    o = os.path.join(d, f"ft_cache{len(heads)}.onnx")
    t0 = time.time()
    rc, so, se = run_onnxc(["finetune", model, "--data", hym, "--classes", "2", "-o", o, "--size", "112", "--batch", "8",
                            "--limit", "32", "--epochs", "2", "--threads", "2"] + extra, timeout=900)
    times.append(time.time() - t0)
    if rc == 0:
        mm = onnx.load(o)
        gm = [n for n in mm.graph.node if n.op_type == "Gemm"][-1]
        ii = {t.name: numpy_helper.to_array(t) for t in mm.graph.initializer}
        heads.append(np.concatenate([ii[gm.input[1]].ravel(), ii[gm.input[2]].ravel()]))
diff = float(np.abs(heads[0] - heads[1]).max()) if len(heads) == 2 else -1
good = len(heads) == 2 and diff <= 1e-5
print(f"feature cache vs --no-cache: head max abs diff {diff:.1e}; {times[0]:.1f}s vs {times[1]:.1f}s wall "
      f"{'ok' if good else 'FAIL'}")
ok &= good

# (a2) everything trains (no cache; BN on batch statistics), a short run
out2 = os.path.join(d, "ft_full.onnx")
rc, so, se = run_onnxc(["finetune", model, "--data", hym, "--classes", "2", "-o", out2, "--size", "112",
                        "--batch", "8", "--limit", "16", "--epochs", "1", "--full", "--threads", "2"], timeout=900)
good = rc == 0 and "computing the head's input" not in so and "20 BatchNorms on batch statistics" in so
if good:
    try:
        m2 = onnx.load(out2)
        onnx.checker.check_model(m2, full_check=True)
        i2 = {t.name: numpy_helper.to_array(t) for t in m2.graph.initializer}
        stats = [n.input[3] for n in m2.graph.node if n.op_type == "BatchNormalization"]
        moved = sum(bool(np.any(i2[k] != 0)) for k in stats)  # fresh torchvision BNs start at mean 0
        print(f"--full: {moved} of {len(stats)} BN running means updated in the output")
        good &= len(stats) == 20 and moved == 20
    except Exception as e:
        print(f"ft_full.onnx: {e}")
        good = False
print(f"--full: exit {rc}: {[l for l in so.splitlines() if l.startswith('training')]} {'ok' if good else 'FAIL ' + se[-300:]}")
ok &= good

# (a3) real transfer over IDX data: LeNet-5 trained by onnxc on MNIST digits,
# its head replaced and trained on Fashion-MNIST features (a linear probe)
fm = os.path.join(shared, "datasets", "fashion-mnist")
mn = os.path.join(shared, "datasets", "mnist")
if os.path.isdir(fm) and os.path.isdir(mn):
    lenet = os.path.join(d, "lenet_mnist.onnx")
    rc, so, se = run_onnxc(["train", "--model", "lenet5", "--data", mn, "--train-size", "10000", "--val-size", "1000",
                            "--epochs", "1", "--lr", "0.02", "--threads", "2", "-o", lenet], timeout=900)
    svg = os.path.join(d, "fm.svg")
    rc2, so2, se2 = run_onnxc(["finetune", lenet, "--data", fm, "--classes", "10", "-o", os.path.join(d, "lenet_fm.onnx"),
                               "--mean", "0.1307", "--std", "0.3081", "--batch", "32", "--limit", "20000", "--epochs", "3",
                               "--plot", svg, "--threads", "2"], timeout=900)
    v = re.findall(r"val loss [0-9.]+ top-1 ([0-9.]+) top-5 ([0-9.]+)", so2)
    good = rc == 0 and rc2 == 0 and v and float(v[-1][0]) >= 0.5 and open(svg).read().startswith("<svg")
    print(f"LeNet-5 (MNIST) -> Fashion-MNIST head-only: val top-1 {v[-1][0] if v else '?'} top-5 {v[-1][1] if v else '?'} "
          f"(bar 0.50; chance 0.10) {'ok' if good else 'FAIL ' + se[-200:] + se2[-300:]}")
    ok &= bool(good)

# (a4) a MatMul + Add head under a Softmax: found through the Softmax, trained
# on the logits before it (cached and --no-cache give the same run), and the
# output model keeps its one output


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c = torch.nn.Conv2d(3, 8, 3, stride=4)
        self.bn = torch.nn.BatchNorm2d(8)
        self.W = torch.nn.Parameter(torch.randn(8, 5) * 0.1)
        self.b = torch.nn.Parameter(torch.zeros(5))

    def forward(self, x):
        return torch.softmax(torch.relu(self.bn(self.c(x))).mean((2, 3)) @ self.W + self.b, 1)


tiny = os.path.join(d, "tiny_mm.onnx")
torch.onnx.export(Tiny().eval(), torch.randn(1, 3, 64, 64), tiny, opset_version=13, input_names=["x"],
                  output_names=["p"], dynamic_axes={"x": {0: "b"}, "p": {0: "b"}},
                  training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
runs = []
for extra in ([], ["--no-cache"]):
    o = os.path.join(d, f"tiny_ft{len(runs)}.onnx")
    rc, so, se = run_onnxc(["finetune", tiny, "--data", hym, "--classes", "2", "-o", o, "--batch", "4", "--limit", "16",
                            "--epochs", "2"] + extra)
    ep = [l.split("|")[1] for l in so.splitlines() if l.startswith("epoch 2")]
    runs.append((rc, ep, o, so, se))
good = all(r[0] == 0 for r in runs) and "head '/MatMul' (MatMul" in runs[0][3] and runs[0][1] == runs[1][1]
if good:
    m = onnx.load(runs[0][2])
    onnx.checker.check_model(m, full_check=True)
    good = [o.name for o in m.graph.output] == ["p"]
print(f"MatMul+Add head under Softmax: cached {runs[0][1]} vs --no-cache {runs[1][1]} {'ok' if good else 'FAIL ' + runs[0][4][-300:]}")
ok &= good

# (b) bad input
bad = os.path.join(d, "bad_data")
shutil.rmtree(bad, ignore_errors=True)
for split in ("train", "val"):
    for c in ("ants", "bees"):
        os.makedirs(os.path.join(bad, split, c))
        src = os.path.join(hym, split, c)
        for f in sorted(os.listdir(src))[:2]:
            shutil.copy(os.path.join(src, f), os.path.join(bad, split, c, f))
    os.makedirs(os.path.join(bad, split, "wasps"))
never = os.path.join(d, "never.onnx")
cases = [
    ("empty class folder", ["--data", bad, "--classes", "3", "-o", never], "wasps"),
    ("class count", ["--data", hym, "--classes", "3", "-o", never], "2 class folders (ants, bees); --classes is 3"),
    ("unknown --head", ["--data", hym, "--classes", "2", "--head", "nope", "-o", never], "candidates: '/fc/Gemm'"),
    ("missing output folder", ["--data", hym, "--classes", "2", "-o", os.path.join(d, "no_such_dir", "x.onnx")],
     "does not exist"),
]
for name, args, want in cases:
    if os.path.exists(never):
        os.remove(never)
    rc, so, se = run_onnxc(["finetune", model, "--size", "112", "--batch", "4", "--limit", "8"] + args)
    good = rc != 0 and want in se and not os.path.exists(never) and not os.path.exists(os.path.join(d, "no_such_dir"))
    print(f"{name}: exit {rc}: {se.strip()[-220:]} {'ok' if good else 'FAIL'}")
    ok &= good

# a corrupt image: skipped with a warning naming it (and counted); --strict makes it an error
cor = os.path.join(d, "corrupt_data")
shutil.rmtree(cor, ignore_errors=True)
for split in ("train", "val"):
    for c in ("ants", "bees"):
        os.makedirs(os.path.join(cor, split, c))
        src = os.path.join(hym, split, c)
        for f in sorted(os.listdir(src))[:3]:
            shutil.copy(os.path.join(src, f), os.path.join(cor, split, c, f))
open(os.path.join(cor, "train", "bees", "broken.jpg"), "wb").write(b"\xff\xd8\xff\xe0 not really a JPEG" * 8)
o = os.path.join(d, "corrupt.onnx")
rc, so, se = run_onnxc(["finetune", model, "--size", "112", "--batch", "2", "--epochs", "1", "--data", cor, "--classes", "2",
                        "-o", o])
good = rc == 0 and "broken.jpg" in se and "skipped 1 unreadable" in se and "6 training" in so
print(f"corrupt image: exit {rc}: {[l for l in se.splitlines() if 'warning' in l][:1]} {'ok' if good else 'FAIL ' + se[-300:]}")
ok &= good
if os.path.exists(never):
    os.remove(never)
rc, so, se = run_onnxc(["finetune", model, "--size", "112", "--batch", "2", "--epochs", "1", "--data", cor, "--classes", "2",
                        "--strict", "-o", never])
good = rc == 1 and "broken.jpg" in se and not os.path.exists(never)
print(f"corrupt image with --strict: exit {rc}: {se.strip()[-200:]} {'ok' if good else 'FAIL'}")
ok &= good

print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
