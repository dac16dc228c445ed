"""Whole-model gradients from `onnxc grad` against PyTorch's
loss.backward() on the same ONNX-exported weights: the loss must match and
every parameter's gradient within a max relative error of 1e-3 (max abs
difference over the max magnitude of PyTorch's gradient)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, run_onnxc, workdir

torch = require("torch")
onnx = require("onnx")
np = require("numpy")
from onnx import numpy_helper  # noqa: E402

nn = torch.nn
TOL = 1e-3


def mlp():
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def mlp_deep():  # Flatten + residual-free stack with a shared fan-out (Add of two branches)
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c = nn.Linear(48, 32), nn.Linear(32, 32), nn.Linear(32, 5)

        def forward(self, x):
            h = torch.relu(self.a(torch.flatten(x, 1)))
            return self.c(h + torch.relu(self.b(h)))  # h fans out: gradients accumulate
    return M()


cases = [("mlp", mlp, (8, 64), 10), ("mlp_residual", mlp_deep, (6, 3, 16), 5)]
ok = True
for name, make, shape, classes in cases:
    d = workdir(f"grad_{name}")
    torch.manual_seed(0)
    model = make().eval()
    x = torch.randn(*shape)
    y = torch.randint(0, classes, (shape[0],))
    path = os.path.join(d, "model.onnx")
    torch.onnx.export(model, x, path, input_names=["x"], output_names=["logits"], opset_version=13,
                      do_constant_folding=False)
    loss = nn.functional.cross_entropy(model(x), y)
    model.zero_grad()
    loss.backward()
    np.save(os.path.join(d, "x.npy"), x.numpy())
    np.save(os.path.join(d, "y.npy"), y.numpy().astype(np.int64))
    out = os.path.join(d, "out")
    rc, so, se = run_onnxc(["grad", path, "-i", os.path.join(d, "x.npy"), "--labels", os.path.join(d, "y.npy"),
                            "-o", out])
    if rc:
        print(f"{name}: onnxc grad failed ({rc}): {se.strip()}")
        ok = False
        continue
    got_loss = float(numpy_helper.to_array(onnx.load_tensor(os.path.join(out, "loss.pb"))))
    good = abs(got_loss - loss.item()) <= 1e-5 + 1e-4 * abs(loss.item())
    print(f"{name}: loss onnxc {got_loss:.6f} PyTorch {loss.item():.6f} {'ok' if good else 'MISMATCH'}")
    ok &= good
    for pname, p in model.named_parameters():
        f = os.path.join(out, "grad_" + pname.replace("/", "_") + ".pb")
        if not os.path.exists(f):
            print(f"  {pname}: no gradient file written")
            ok = False
            continue
        got = numpy_helper.to_array(onnx.load_tensor(f))
        want = p.grad.numpy()
        rel = float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-12)) if got.shape == want.shape else 1e9
        good = rel <= TOL
        print(f"  {pname:12s} {list(want.shape)} max rel err {rel:.2e} {'ok' if good else 'FAIL'}")
        ok &= good
sys.exit(0 if ok else 1)
