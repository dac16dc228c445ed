"""Whole-model gradients of torchvision ResNet-18 and VGG-11 (eval-mode
BatchNorm, random weights, seed 0, batch 2 at 224x224) from `onnxc grad`
against PyTorch's loss.backward() on the same exported weights: max
relative error <= 1e-3 for every parameter tensor.

ReLU is not differentiable at 0, and a deep float32 network has a few ReLU
inputs within rounding of zero: onnxc and PyTorch may then round one to
different sides and take different (both valid) branches, which moves the
gradient of a small bias by ~1e-3 relative (seen on ResNet-18: one input of
float64 value 1.2e-6, found with per-activation probes). So the reference is
PyTorch's backward in float64 with every ReLU taking the branch onnxc took:
the model is re-exported with each Relu output as an extra graph output,
`onnxc run` gives onnxc's activation pattern, and PyTorch's ReLUs apply that
pattern. The plain comparison with PyTorch float32 is printed as well."""
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
nn = torch.nn


class MaskedReLU(nn.Module):
    """ReLU whose branch per element comes from a recorded pattern (one
    pattern per call, in call order)."""

    def __init__(self, patterns):
        super().__init__()
        self.patterns = patterns

    def forward(self, x):
        m = torch.from_numpy(self.patterns.pop(0)).to(x.dtype)
        return x * m


def rel_err(got, want):
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-12)) if got.shape == want.shape else 1e9


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
    loss = nn.functional.cross_entropy(model(x), y)
    model.zero_grad()
    loss.backward()
    g32 = {n: p.grad.numpy().copy() for n, p in model.named_parameters()}
    np.save(os.path.join(d, "x.npy"), x.numpy())
    np.save(os.path.join(d, "y.npy"), y.numpy().astype(np.int64))
    out = os.path.join(d, "out")
    rc, so, se = run_onnxc(["grad", path, "-i", os.path.join(d, "x.npy"), "--labels", os.path.join(d, "y.npy"), "-o", out],
                           timeout=1200)
    if rc:
        print(f"{name}: onnxc grad failed ({rc}): {se.strip()}")
        ok = False
        continue
    # onnxc's activation pattern: every Relu output as a graph output
    m = onnx.load(path)
    relus = [n.output[0] for n in m.graph.node if n.op_type == "Relu"]
    for r in relus:
        m.graph.output.append(onnx.helper.make_tensor_value_info(r, onnx.TensorProto.FLOAT, None))
    probe = os.path.join(d, "relus.onnx")
    onnx.save(m, probe)
    os.remove(path)
    act = os.path.join(d, "act")
    # --no-fuse: the same graph `onnxc grad` runs (no BN folding), so the same ReLU branches;
    # and the same conv kernels: grad's W are trainable, so its convs run im2col + SGEMM, while
    # this probe's constant W would take Winograd, whose other rounding (F(4x4): ~1e-6 relative)
    # sends a few near-zero ReLU inputs to the other branch than grad's forward took
    os.environ["ONNXC_CONV_WINOGRAD"] = "0"
    rc, so, se = run_onnxc(["run", probe, "-i", f"x={os.path.join(d, 'x.npy')}", "-o", act, "--top", "0",
                            "--no-fuse"], timeout=1200)
    del os.environ["ONNXC_CONV_WINOGRAD"]
    os.remove(probe)
    if rc:
        print(f"{name}: onnxc run of the Relu probe failed: {se.strip()}")
        ok = False
        continue
    safe = lambda s: "".join(c if c.isalnum() or c in "_-." else "_" for c in s)
    patterns = [(np.load(os.path.join(act, safe(r) + ".npy")) > 0).astype(np.float64) for r in relus]
    # PyTorch float64 backward with onnxc's ReLU branches
    m64 = getattr(torchvision.models, name)().eval()
    m64.load_state_dict(model.state_dict())
    m64 = m64.double()
    calls = list(patterns)
    for mod_name, mod in list(m64.named_modules()):
        for child_name, child in list(mod.named_children()):
            if isinstance(child, nn.ReLU):
                setattr(mod, child_name, MaskedReLU(calls))
    loss64 = nn.functional.cross_entropy(m64(x.double()), y)
    m64.zero_grad()
    loss64.backward()
    if calls:
        print(f"{name}: {len(calls)} recorded ReLU patterns were not used: call order differs")
        ok = False
    got_loss = float(numpy_helper.to_array(onnx.load_tensor(os.path.join(out, "loss.pb"))))
    worst, worst_name, worst32, n = 0.0, "", 0.0, 0
    for pname, p in m64.named_parameters():
        f = os.path.join(out, "grad_" + pname + ".pb")
        if not os.path.exists(f):
            print(f"  {pname}: no gradient written")
            ok = False
            continue
        got = numpy_helper.to_array(onnx.load_tensor(f))
        e = rel_err(got, p.grad.numpy())
        worst32 = max(worst32, rel_err(got, g32[pname]))
        n += 1
        if e > worst:
            worst, worst_name = e, pname
    good = abs(got_loss - loss.item()) <= 1e-4 * max(1.0, abs(loss.item())) and worst <= TOL and n > 0
    print(f"{name}: loss onnxc {got_loss:.6f} PyTorch {loss.item():.6f}; {n} parameter gradients, worst max rel err "
          f"{worst:.2e} ({worst_name}) against PyTorch float64 on onnxc's ReLU branches {'ok' if good else 'FAIL'}; "
          f"against plain PyTorch float32: {worst32:.2e}")
    ok &= good
sys.exit(0 if ok else 1)
