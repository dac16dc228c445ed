"""torchvision ResNet-18, ResNet-50, VGG-11, VGG-16 and MobileNet-v2
(random weights, seed 0) exported by PyTorch with BatchNorm kept, run by
`onnxc run` at batch 2; the logits must match PyTorch's within 1e-4 (max
abs diff) and within 1e-4 of the largest logit (MobileNet-v2's random
weights give logits near 1e-9, where the absolute bar alone could not
fail). MobileNet-v2 runs its expand -> depthwise -> project chains one
image at a time (the slice pass), on one thread with the c8 pairs inside
them; it is run again on one thread with `--no-pass c8`, on 2 threads
(which split the images between them, and pair nothing) and on 2 threads
with `--no-pass slice --no-pass c8`, layer by layer: all must match
PyTorch, and the three without pairs (the pairs sum in another order)
give the same bits. Then MobileNet-v2 at batch 1 with and without the c8
pairs."""
import json
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
    extra = {}  # MobileNet: the same run on 2 threads (images split between them), and layer by layer
    if not rc and name.startswith("mobilenet"):
        for tag, flags in (("1 thread, --no-pass c8", ["--no-pass", "c8"]), ("2 threads", ["--threads", "2"]),
                           ("2 threads, --no-pass slice", ["--threads", "2", "--no-pass", "slice",
                                                           "--no-pass", "c8"])):
            d2 = os.path.join(d, tag.replace(" ", "_").replace(",", ""))
            os.makedirs(d2, exist_ok=True)
            rc, out, err = run_onnxc(["run", path, "-i", f"input={os.path.join(d, 'input.npy')}", "-o", d2, "--top",
                                      "0"] + flags)
            if rc:
                break
            extra[tag] = np.load(os.path.join(d2, "logits.npy"))
        # the one-thread sliced plan pairs inside its chains where the AVX2
        # kernels run: its packed weights then hold each pair's W^T as well
        wb = {}
        for tag, flags in (("pairs", []), ("no pairs", ["--no-pass", "c8"])):
            rc2, o2, e2 = run_onnxc(["bench", path, "--batch", "2", "--threads", "1", "--runs", "1", "--warmup",
                                     "0", "--json"] + flags)
            try:
                j = json.loads(o2)
                wb[tag] = (j["isa"], j["variants"][0]["weight_bytes"])
            except (ValueError, KeyError, IndexError):
                print(f"{name}: bench --json ({tag}) failed: {e2.strip()[:200]}")
                ok = False
        if len(wb) == 2 and wb["pairs"][0] == "avx2":
            more = wb["pairs"][1] > wb["no pairs"][1]
            print(f"{name} batch 2, 1 thread (AVX2): packed weights with the pairs {wb['pairs'][1]} > without "
                  f"{wb['no pairs'][1]}: {more}")
            ok &= more
    os.remove(path)  # large; keep the disk tidy
    if rc:
        print(f"{name}: onnxc run failed ({rc}): {err.strip()}")
        ok = False
        continue
    got = np.load(os.path.join(d, "logits.npy"))
    base = extra.get("1 thread, --no-pass c8")
    for tag, other in extra.items():
        ud = float(np.max(np.abs(other - want)))
        same = base is not None and other.shape == base.shape and np.array_equal(other, base)
        print(f"{name} ({tag}): max abs diff vs PyTorch {ud:.3g}; same bits as 1 thread, sliced, no pairs: {same}")
        ok &= ud <= TOL and ud <= REL * float(np.max(np.abs(want))) and same
    diff = float(np.max(np.abs(got - want)))
    scale = float(np.max(np.abs(want)))
    good = got.shape == want.shape and diff <= TOL and diff <= REL * scale
    print(f"{name}: logits {list(got.shape)}, max |logit| {scale:.3g}, max abs diff vs PyTorch {diff:.3g} "
          f"(bars {TOL} and {REL * scale:.3g}) {'ok' if good else 'FAIL'}")
    ok &= good

# MobileNet-v2 at batch 1, where no chain runs image by image and the c8
# pairs (1x1 expand -> depthwise in 8-channel blocks, compiler/passes/c8.c)
# are in the plan on AVX2 machines; and with `--no-pass c8`. Both must
# match PyTorch. `onnxc info --passes` names the pairs the pass saw.
if "mobilenet_v2" in names:
    d = workdir("run_mobilenet_v2_b1")
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2().eval()
    x = torch.randn(1, 3, 224, 224)
    path = os.path.join(d, "model.onnx")
    torch.onnx.export(model, x, path, input_names=["input"], output_names=["logits"], opset_version=13)
    with torch.no_grad():
        want = model(x).numpy()
    np.save(os.path.join(d, "input.npy"), x.numpy())
    rc, out, err = run_onnxc(["info", path, "--passes"])
    pairs = out.count("channels in blocks of 8")
    print(f"mobilenet_v2 batch 1: the c8 pass saw {pairs} expand -> depthwise pairs")
    ok &= rc == 0 and pairs == 16
    for tag, flags in (("c8", ["--threads", "1"]), ("--no-pass c8", ["--threads", "1", "--no-pass", "c8"]),
                       ("2 threads, no pairs", ["--threads", "2"])):
        d2 = os.path.join(d, tag.replace(" ", "_").replace(",", "").replace("-", ""))
        os.makedirs(d2, exist_ok=True)
        rc, out, err = run_onnxc(["run", path, "-i", f"input={os.path.join(d, 'input.npy')}", "-o", d2, "--top", "0"]
                                 + flags)
        if rc:
            print(f"mobilenet_v2 batch 1 ({tag}): onnxc run failed ({rc}): {err.strip()}")
            ok = False
            continue
        got = np.load(os.path.join(d2, "logits.npy"))
        diff = float(np.max(np.abs(got - want)))
        scale = float(np.max(np.abs(want)))
        good = got.shape == want.shape and diff <= TOL and diff <= REL * scale
        print(f"mobilenet_v2 batch 1 ({tag}): max abs diff vs PyTorch {diff:.3g} (bars {TOL} and {REL * scale:.3g}) "
              f"{'ok' if good else 'FAIL'}")
        ok &= good
    os.remove(path)
sys.exit(0 if ok else 1)
