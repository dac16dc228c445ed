"""Whole-model gradients of torchvision ResNet-18 and VGG-11 (eval-mode
BatchNorm, random weights, seed 0, batch 2 at 224x224) from `onnxc grad`
against PyTorch's loss.backward() on the same exported weights: max
relative error <= 1e-3 for every parameter tensor.

ReLU is not differentiable at 0, and a deep float32 network has a few ReLU
inputs within rounding of zero: onnxc and PyTorch may then round one to
different sides and take different (both valid) branches, which moves the
gradient of a small bias by ~1e-3 relative (seen on ResNet-18: one input of
float64 value 1.2e-6, found with per-activation probes). MaxPool is the same
where two inputs of a window are within rounding of each other (seen on
VGG-11 with Winograd F(4x4) convs, whose rounding differs from float64's
more than im2col's: the gradient goes to the neighbour, which keeps the
bias gradients and moves the weight gradient by ~2e-3). So the reference is
PyTorch's backward in float64 with every ReLU and MaxPool taking the branch
onnxc took: the model is re-exported with each Relu output and each MaxPool
input as an extra graph output, `onnxc run` gives onnxc's activations, and
PyTorch's ReLUs and MaxPools follow them. The plain comparison with PyTorch
float32 is printed as well."""
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


class PinnedMaxPool(nn.Module):
    """MaxPool2d whose choice per window comes from onnxc's float32 input
    to that pool (one recorded input per call, in call order): the float64
    values at the positions onnxc's max took, so the gradient goes where
    onnxc's went."""

    def __init__(self, pool, inputs):
        super().__init__()
        self.pool = pool
        self.inputs = inputs

    def forward(self, x):
        rec = torch.from_numpy(self.inputs.pop(0))
        p = self.pool
        _, idx = nn.functional.max_pool2d(rec, p.kernel_size, p.stride, p.padding, p.dilation, p.ceil_mode,
                                          return_indices=True)
        return x.flatten(2).gather(2, idx.flatten(2)).view(idx.shape)


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
    # onnxc's activation pattern: every Relu output as a graph output. The
    # parameters become graph inputs fed from files, as in `onnxc grad`, where
    # they are trainable: the probe then runs the kernels grad's forward ran
    # (a constant W is prepared at plan time, e.g. a Winograd transform in
    # another rounding, which can send a near-zero ReLU input to the other
    # branch than grad's forward took)
    m = onnx.load(path)
    relus = [n.output[0] for n in m.graph.node if n.op_type == "Relu"]
    pool_ins = [n.input[0] for n in m.graph.node if n.op_type == "MaxPool"]
    for r in relus + [p for p in pool_ins if p not in relus]:
        m.graph.output.append(onnx.helper.make_tensor_value_info(r, onnx.TensorProto.FLOAT, None))
    feeds = [f"x={os.path.join(d, 'x.npy')}"]
    params = [i for i in m.graph.initializer if i.data_type == onnx.TensorProto.FLOAT]
    for k, init in enumerate(params):
        arr = numpy_helper.to_array(init)
        f = os.path.join(d, f"param{k}.npy")
        np.save(f, arr)
        feeds.append(f"{init.name}={f}")
        m.graph.input.append(onnx.helper.make_tensor_value_info(init.name, init.data_type, list(arr.shape)))
    for init in params:
        m.graph.initializer.remove(init)
    probe = os.path.join(d, "relus.onnx")
    onnx.save(m, probe)
    os.remove(path)
    act = os.path.join(d, "act")
    # --no-fuse: the same graph `onnxc grad` runs (no BN folding), so the same ReLU branches
    rc, so, se = run_onnxc(["run", probe, *[a for f in feeds for a in ("-i", f)], "-o", act, "--top", "0", "--no-fuse"], timeout=1200)
    os.remove(probe)
    for k in range(len(feeds) - 1):
        os.remove(os.path.join(d, f"param{k}.npy"))
    if rc:
        print(f"{name}: onnxc run of the Relu probe failed: {se.strip()}")
        ok = False
        continue
    safe = lambda s: "".join(c if c.isalnum() or c in "_-." else "_" for c in s)
    patterns = [(np.load(os.path.join(act, safe(r) + ".npy")) > 0).astype(np.float64) for r in relus]
    pool_inputs = [np.load(os.path.join(act, safe(r) + ".npy")) for r in pool_ins]
    # PyTorch float64 backward with onnxc's ReLU and MaxPool branches
    m64 = getattr(torchvision.models, name)().eval()
    m64.load_state_dict(model.state_dict())
    m64 = m64.double()
    calls, pool_calls = list(patterns), list(pool_inputs)
    for mod_name, mod in list(m64.named_modules()):
        for child_name, child in list(mod.named_children()):
            if isinstance(child, nn.ReLU):
                setattr(mod, child_name, MaskedReLU(calls))
            elif isinstance(child, nn.MaxPool2d):
                setattr(mod, child_name, PinnedMaxPool(child, pool_calls))
    loss64 = nn.functional.cross_entropy(m64(x.double()), y)
    m64.zero_grad()
    loss64.backward()
    if calls or pool_calls:
        print(f"{name}: {len(calls)} recorded ReLU patterns and {len(pool_calls)} MaxPool inputs were not used: "
              "call order differs")
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
        if os.environ.get("TVGRAD_VERBOSE"):
            print(f"  {pname}: {e:.2e}")
        n += 1
        if e > worst:
            worst, worst_name = e, pname
    good = abs(got_loss - loss.item()) <= 1e-4 * max(1.0, abs(loss.item())) and worst <= TOL and n > 0
    print(f"{name}: loss onnxc {got_loss:.6f} PyTorch {loss.item():.6f}; {n} parameter gradients, worst max rel err "
          f"{worst:.2e} ({worst_name}) against PyTorch float64 on onnxc's ReLU and MaxPool branches {'ok' if good else 'FAIL'}; "
          f"against plain PyTorch float32: {worst32:.2e}")
    ok &= good
sys.exit(0 if ok else 1)
