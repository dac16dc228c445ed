"""torchvision ResNet-18, ResNet-50, VGG-11, VGG-16 and MobileNet-v2
(random weights, seed 0) exported by PyTorch with BatchNorm kept, run by
`onnxc run` at batch 2; the logits must match PyTorch's within 1e-4 (max
abs diff) and within 1e-4 of the largest logit (MobileNet-v2's random
weights give logits near 1e-9, where the absolute bar alone could not
fail). MobileNet-v2 runs its expand -> depthwise -> project chains one
image at a time (the slice pass); it is run again with `--no-pass slice`,
layer by layer, and both must match PyTorch and give the same bits."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, run_onnxc, workdir

torch = require("torch")
torchvision = require("torchvision")
np = require("numpy")

TOL = 1e-4
REL = 1e-4  # of the largest |logit|
names = sys.argv[1:] or ["resnet18", "resnet50", "vgg11", "vgg16", "mobilenet_v2"]
ok = True
for name in names:
    d = workdir(f"run_{name}")
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)().eval()
    x = torch.randn(2, 3, 224, 224)
    path = os.path.join(d, "model.onnx")
    torch.onnx.export(model, x, path, input_names=["input"], output_names=["logits"], opset_version=13,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    with torch.no_grad():
        want = model(x).numpy()
    np.save(os.path.join(d, "input.npy"), x.numpy())
    rc, out, err = run_onnxc(["run", path, "-i", f"input={os.path.join(d, 'input.npy')}", "-o", d, "--top", "0"])
    unsliced = None
    if not rc and name.startswith("mobilenet"):
        d2 = os.path.join(d, "unsliced")
        os.makedirs(d2, exist_ok=True)
        rc, out, err = run_onnxc(["run", path, "-i", f"input={os.path.join(d, 'input.npy')}", "-o", d2, "--top", "0",
                                  "--no-pass", "slice"])
        if not rc:
            unsliced = np.load(os.path.join(d2, "logits.npy"))
    os.remove(path)  # large; keep the disk tidy
    if rc:
        print(f"{name}: onnxc run failed ({rc}): {err.strip()}")
        ok = False
        continue
    got = np.load(os.path.join(d, "logits.npy"))
    if unsliced is not None:
        ud = float(np.max(np.abs(unsliced - want)))
        same = unsliced.shape == got.shape and np.array_equal(unsliced, got)
        print(f"{name} --no-pass slice: max abs diff vs PyTorch {ud:.3g}; same bits as sliced: {same}")
        ok &= ud <= TOL and ud <= REL * float(np.max(np.abs(want))) and same
    diff = float(np.max(np.abs(got - want)))
    scale = float(np.max(np.abs(want)))
    good = got.shape == want.shape and diff <= TOL and diff <= REL * scale
    print(f"{name}: logits {list(got.shape)}, max |logit| {scale:.3g}, max abs diff vs PyTorch {diff:.3g} "
          f"(bars {TOL} and {REL * scale:.3g}) {'ok' if good else 'FAIL'}")
    ok &= good
sys.exit(0 if ok else 1)
