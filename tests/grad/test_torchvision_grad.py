"""Whole-model gradients of torchvision ResNet-18 and VGG-11 (eval-mode
BatchNorm, random weights, seed 0, batch 2 at 224x224) from `onnxc grad`
against PyTorch's loss.backward() on the same exported weights: max
relative error <= 1e-3 for every parameter tensor."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, run_onnxc, workdir

torch = require("torch")
torchvision = require("torchvision")
onnx = require("onnx")
np = require("numpy")
from onnx import numpy_helper  # noqa: E402

TOL = 1e-3
ok = True
for name in sys.argv[1:] or ["resnet18", "vgg11"]:
    d = workdir(f"tvgrad_{name}")
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)().eval()
    x = torch.randn(2, 3, 224, 224)
    y = torch.tensor([3, 917])
    path = os.path.join(d, "model.onnx")
    torch.onnx.export(model, x, path, input_names=["x"], output_names=["logits"], opset_version=13,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    model.zero_grad()
    loss.backward()
    np.save(os.path.join(d, "x.npy"), x.numpy())
    np.save(os.path.join(d, "y.npy"), y.numpy().astype(np.int64))
    out = os.path.join(d, "out")
    rc, so, se = run_onnxc(["grad", path, "-i", os.path.join(d, "x.npy"), "--labels", os.path.join(d, "y.npy"), "-o", out],
                           timeout=1200)
    os.remove(path)
    if rc:
        print(f"{name}: onnxc grad failed ({rc}): {se.strip()}")
        ok = False
        continue
    got_loss = float(numpy_helper.to_array(onnx.load_tensor(os.path.join(out, "loss.pb"))))
    worst, worst_name, n = 0.0, "", 0
    for pname, p in model.named_parameters():
        f = os.path.join(out, "grad_" + pname + ".pb")
        if not os.path.exists(f):
            print(f"  {pname}: no gradient written")
            ok = False
            continue
        got, want = numpy_helper.to_array(onnx.load_tensor(f)), p.grad.numpy()
        rel = float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-12)) if got.shape == want.shape else 1e9
        n += 1
        if rel > worst:
            worst, worst_name = rel, pname
    good = abs(got_loss - loss.item()) <= 1e-4 * max(1.0, abs(loss.item())) and worst <= TOL
    print(f"{name}: loss onnxc {got_loss:.6f} PyTorch {loss.item():.6f}; {n} parameter gradients, worst max rel err "
          f"{worst:.2e} ({worst_name}) {'ok' if good else 'FAIL'}")
    ok &= good
sys.exit(0 if ok else 1)
