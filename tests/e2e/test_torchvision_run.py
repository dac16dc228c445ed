"""torchvision ResNet-18, ResNet-50, VGG-11 and VGG-16 (random weights,
seed 0) exported by PyTorch with BatchNorm kept, run by `onnxc run` at
batch 2; the logits must match PyTorch's within 1e-4 (max abs diff)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, run_onnxc, workdir

torch = require("torch")
torchvision = require("torchvision")
np = require("numpy")

TOL = 1e-4
names = sys.argv[1:] or ["resnet18", "resnet50", "vgg11", "vgg16"]
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
    os.remove(path)  # large; keep the disk tidy
    if rc:
        print(f"{name}: onnxc run failed ({rc}): {err.strip()}")
        ok = False
        continue
    got = np.load(os.path.join(d, "logits.npy"))
    diff = float(np.max(np.abs(got - want)))
    scale = float(np.max(np.abs(want)))
    good = got.shape == want.shape and diff <= TOL
    print(f"{name}: logits {list(got.shape)}, max |logit| {scale:.3g}, max abs diff vs PyTorch {diff:.3g} "
          f"(bar {TOL}) {'ok' if good else 'FAIL'}")
    ok &= good
sys.exit(0 if ok else 1)
