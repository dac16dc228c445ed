"""Models built with onnxc's C builder API (models/) summarized by
`onnxc info --model NAME`: parameter counts must equal those of the same
architectures in PyTorch, and FLOPs the MACs PyTorch's hooks count."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, run_onnxc

import json

torch = require("torch")
torchvision = require("torchvision")
nn = torch.nn


def macs_of(model, x):
    total = [0]

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            total[0] += out.numel() * mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
        elif isinstance(mod, nn.Linear):
            total[0] += out.numel() * mod.in_features

    hs = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(x)
    for h in hs:
        h.remove()
    return total[0]


refs = {
    "mlp": (nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)), (1, 64)),
    "lenet5": (nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                             nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                             nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)), (1, 1, 28, 28)),
    "resnet18": (torchvision.models.resnet18(), (1, 3, 224, 224)),
    "resnet50": (torchvision.models.resnet50(), (1, 3, 224, 224)),
    "vgg11": (torchvision.models.vgg11(), (1, 3, 224, 224)),
    "vgg16_bn": (torchvision.models.vgg16_bn(), (1, 3, 224, 224)),
}
ok = True
for name, (model, shape) in refs.items():
    model.eval()
    rc, out, err = run_onnxc(["info", "--model", name, "--batch", "1", "--json"])
    if rc:
        print(f"{name}: onnxc failed: {err.strip()}")
        ok = False
        continue
    info = json.loads(out)
    params = sum(p.numel() for p in model.parameters())
    macs = macs_of(model, torch.zeros(shape))
    good = info["total_params"] == params and info["total_flops"] == 2 * macs
    print(f"{name}: params onnxc {info['total_params']:,} vs PyTorch {params:,}; "
          f"FLOPs onnxc {info['total_flops']:,} vs 2 x MACs {2 * macs:,}  {'ok' if good else 'MISMATCH'}")
    ok &= good

# `onnxc export` writes these graphs as ONNX files that the official
# checker accepts (full_check runs ONNX's own shape inference too) and that
# `onnxc info` reads back with the same totals.
onnx = require("onnx")
from common import workdir  # noqa: E402

for name in ("mlp", "lenet5", "resnet18", "resnet34", "resnet50", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn"):
    path = os.path.join(workdir("export"), f"{name}.onnx")
    rc, out, err = run_onnxc(["export", "--model", name, "-o", path])
    if rc:
        print(f"export {name}: failed: {err.strip()}")
        ok = False
        continue
    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
        checked = True
    except Exception as e:  # the checker's own error types vary by version
        print(f"export {name}: onnx.checker rejected it: {e}")
        checked = False
    rc, out, err = run_onnxc(["info", path, "--batch", "1", "--json"])
    rc2, out2, err2 = run_onnxc(["info", "--model", name, "--batch", "1", "--json"])
    same = rc == 0 and rc2 == 0 and json.loads(out)["total_params"] == json.loads(out2)["total_params"] and \
        json.loads(out)["total_flops"] == json.loads(out2)["total_flops"]
    print(f"export {name}: onnx.checker {'accepts' if checked else 'REJECTS'}; re-read totals "
          f"{'match' if same else 'DIFFER'}")
    ok &= checked and same

# the memory plan: one arena reused by liveness, smaller than the plain sum
import re  # noqa: E402
rc, out, err = run_onnxc(["info", "--model", "resnet18", "--batch", "1", "--plan"])
m = re.search(r"arena ([0-9.]+) MB for intermediates \(their sum ([0-9.]+) MB", out)
good = rc == 0 and m is not None and 0 < float(m.group(1)) < float(m.group(2))
print(f"plan resnet18: {m.group(0) if m else err.strip()} {'ok' if good else 'FAIL'}")
ok &= good
sys.exit(0 if ok else 1)
