"""The training losses of `onnxc grad --loss NAME` against PyTorch's
functional losses: a tiny model (one Linear layer, a Sigmoid after it for
bce) exported to ONNX; the loss value must match within a relative error of
1e-4 and every parameter gradient within a max relative error of 1e-3
(max abs difference over the max magnitude of PyTorch's gradient), for each
loss and option combination (label smoothing, class weights, Huber delta,
SmoothL1 beta). The reference runs the same weights in float64."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, run_onnxc, workdir

torch = require("torch")
onnx = require("onnx")
np = require("numpy")
from onnx import numpy_helper  # noqa: E402

nn = torch.nn
F = nn.functional
N, D_IN, C = 7, 6, 5
LOSS_TOL, GRAD_TOL = 1e-4, 1e-3


class Net(nn.Module):
    def __init__(self, sigmoid=False):
        super().__init__()
        self.fc, self.sigmoid = nn.Linear(D_IN, C), sigmoid

    def forward(self, x):
        y = self.fc(x)
        return torch.sigmoid(y) if self.sigmoid else y


W32 = torch.tensor([0.5, 2.0, 1.0, 0.25, 3.0])
W = W32.double()  # the class weights of the float64 reference (cases read the global W)
# (name, --loss, extra onnxc args, torch loss fn(out, target), target kind, sigmoid)
cases = [
    ("ce", "cross_entropy", [], lambda o, t: F.cross_entropy(o, t), "class", False),
    ("ce_ls", "cross_entropy", ["--label-smoothing", "0.1"], lambda o, t: F.cross_entropy(o, t, label_smoothing=0.1),
     "class", False),
    ("ce_w", "cross_entropy", ["--class-weights", "W"], lambda o, t: F.cross_entropy(o, t, weight=W), "class", False),
    ("ce_ls_w", "cross_entropy", ["--label-smoothing", "0.25", "--class-weights", "W"],
     lambda o, t: F.cross_entropy(o, t, weight=W, label_smoothing=0.25), "class", False),
    ("ce_ls1", "cross_entropy", ["--label-smoothing", "1"], lambda o, t: F.cross_entropy(o, t, label_smoothing=1.0),
     "class", False),
    ("nll", "nll", [], lambda o, t: F.nll_loss(o, t), "class", False),
    ("nll_w", "nll", ["--class-weights", "W"], lambda o, t: F.nll_loss(o, t, weight=W), "class", False),
    ("mse", "mse", [], lambda o, t: F.mse_loss(o, t), "float", False),
    ("l1", "l1", [], lambda o, t: F.l1_loss(o, t), "float", False),
    ("huber", "huber", [], lambda o, t: F.huber_loss(o, t), "float", False),
    ("huber_d", "huber", ["--huber-delta", "0.3"], lambda o, t: F.huber_loss(o, t, delta=0.3), "float", False),
    ("smooth_l1", "smooth_l1", [], lambda o, t: F.smooth_l1_loss(o, t), "float", False),
    ("smooth_l1_b", "smooth_l1", ["--huber-delta", "0.4"], lambda o, t: F.smooth_l1_loss(o, t, beta=0.4), "float",
     False),
    ("smooth_l1_b0", "smooth_l1", ["--huber-delta", "0"], lambda o, t: F.smooth_l1_loss(o, t, beta=0.0), "float",
     False),
    ("bce", "bce", [], lambda o, t: F.binary_cross_entropy(o, t), "prob", True),
    ("bce_hard", "bce", [], lambda o, t: F.binary_cross_entropy(o, t), "hard", True),
    ("bce_logits", "bce_with_logits", [], lambda o, t: F.binary_cross_entropy_with_logits(o, t), "prob", False),
    ("bce_logits_big", "bce_with_logits", [], lambda o, t: F.binary_cross_entropy_with_logits(o, t), "hard", False,
     40.0),
]

ok = True
for name, loss, args, fn, kind, sigmoid, *extra in cases:
    d = workdir(f"losses_{name}")
    torch.manual_seed(0)
    model = Net(sigmoid).eval()
    x = torch.randn(N, D_IN) * (extra[0] if extra else 1.0)  # large inputs: logits far outside exp's range
    if kind == "class":
        t = torch.randint(0, C, (N,))
    elif kind == "float":
        t = torch.randn(N, C)
    elif kind == "prob":
        t = torch.rand(N, C)
    else:
        t = (torch.rand(N, C) > 0.5).float()
    path = os.path.join(d, "model.onnx")
    torch.onnx.export(model, x, path, input_names=["x"], output_names=["out"], opset_version=13,
                      do_constant_folding=False)
    # reference in float64 (the exported model stays float32); nll takes the raw
    # output as log-probabilities, as onnxc grad does
    ref_model = Net(sigmoid).eval()
    ref_model.load_state_dict(model.state_dict())
    ref_model.double()
    W = W32.double()
    ref = fn(ref_model(x.double()), t if kind == "class" else t.double())
    ref.backward()
    np.save(os.path.join(d, "x.npy"), x.numpy())
    np.save(os.path.join(d, "t.npy"), t.numpy().astype(np.int64 if kind == "class" else np.float32))
    np.save(os.path.join(d, "w.npy"), W32.numpy())
    args = [os.path.join(d, "w.npy") if a == "W" else a for a in args]
    out = os.path.join(d, "out")
    rc, so, se = run_onnxc(["grad", path, "-i", os.path.join(d, "x.npy"), "--labels", os.path.join(d, "t.npy"),
                            "--loss", loss, "-o", out] + args)
    if rc:
        print(f"{name}: onnxc grad failed ({rc}): {se.strip()}")
        ok = False
        continue
    got = float(numpy_helper.to_array(onnx.load_tensor(os.path.join(out, "loss.pb"))))
    want = float(ref)
    lrel = abs(got - want) / max(abs(want), 1e-12)
    good = lrel <= LOSS_TOL
    print(f"{name:15s} loss onnxc {got:.6g} torch {want:.6g} rel err {lrel:.2e} {'ok' if good else 'FAIL'}")
    ok &= good
    m = onnx.load(path)
    names = [i.name for i in m.graph.initializer]
    for pname, prm in zip(names, [ref_model.fc.weight, ref_model.fc.bias]):
        f = os.path.join(out, "grad_" + pname.replace("/", "_") + ".pb")
        if not os.path.exists(f):
            print(f"  {pname}: no gradient written")
            ok = False
            continue
        g = numpy_helper.to_array(onnx.load_tensor(f))
        w = prm.grad.numpy()
        if pname.endswith("weight") and g.shape != w.shape and g.T.shape == w.shape:
            g = g.T  # exported as a transposed MatMul weight
        rel = float(np.max(np.abs(g - w)) / max(np.max(np.abs(w)), 1e-12)) if g.shape == w.shape else 1e9
        good = rel <= GRAD_TOL
        print(f"  {pname:12s} {list(w.shape)} max rel err {rel:.2e} {'ok' if good else 'FAIL'}")
        ok &= good
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
