"""Real photos, real architectures (issue #13): torchvision's ResNet-18 and
VGG-11 (random weights; ResNet-18 with its BatchNorms kept), exported at
224x224, finetuned by `onnxc finetune` on hymenoptera_data (ants vs bees):

- head-only (the default recipe, cached features) on both nets: the loss
  goes down and validation accuracy is printed;
- ResNet-18 --full (every layer, BatchNorm on batch statistics) for one
  short epoch, so the written running statistics are new ones;
- every written model passes onnx.checker (full), and on a seeded random
  batch of 2 onnxc's outputs on it match
    * ONNX Runtime (onnxruntime-node, tests/ort/run_ort.js) within 1e-4 of
      the output's scale, and
    * PyTorch's module with the finetuned parameters loaded (the new head,
      and for --full every parameter and running statistic), within 1e-4.

Reference side only: Node, onnxruntime-node and PyTorch are needed by this
test, never by onnxc. Kept small for CI: 24 training and 24 validation
images."""
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, HERE)
from common import SKIP, require, run_onnxc, workdir  # noqa: E402

torch = require("torch")
torchvision = require("torchvision")
onnx = require("onnx")
np = require("numpy")
from onnx import numpy_helper  # noqa: E402
from test_export_ort import install_ort  # noqa: E402

shared = os.environ.get("ONNXC_SHARED", os.path.join(HERE, "..", "..", "..", "shared"))
hym = os.path.join(shared, "datasets", "hymenoptera_data")
if not os.path.isdir(os.path.join(hym, "train")):
    print(f"SKIP: needs {hym}")
    sys.exit(SKIP)
wd = workdir("finetune_ort")
os.makedirs(os.path.join(wd, "ort"), exist_ok=True)
node, modules = install_ort(os.path.join(wd, "ort"))
TOL = 1e-4
ok = True


def export(name):
    torch.manual_seed(0)
    net = getattr(torchvision.models, name)(num_classes=1000).eval()
    path = os.path.join(wd, f"{name}_224.onnx")
    torch.onnx.export(net, torch.randn(1, 3, 224, 224), path, opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    return net, path


def rel(a, b):
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max() / max(1.0, float(np.abs(b).max())))


def onnxc_and_ort(model, x_path, tag):
    """onnxc run and ONNX Runtime on the same input: (onnxc logits, ORT logits) or an error string."""
    oc_dir, ort_dir = os.path.join(wd, tag + "_oc"), os.path.join(wd, tag + "_ort")
    for p in (oc_dir, ort_dir):
        shutil.rmtree(p, ignore_errors=True)
    rc, so, se = run_onnxc(["run", model, "-i", f"input={x_path}", "-o", oc_dir, "--format", "npy", "--top", "0"],
                           timeout=600)
    if rc != 0:
        return f"onnxc run: {se[-300:]}"
    p = subprocess.run([node, os.path.join(HERE, "run_ort.js"), model, ort_dir, f"input={x_path}"],
                       capture_output=True, text=True, timeout=900, env=dict(os.environ, ORT_NODE_MODULES=modules))
    if p.returncode != 0:
        return f"ONNX Runtime: {p.stderr.strip()[-500:]}"
    return np.load(os.path.join(oc_dir, "logits.npy")), np.load(os.path.join(ort_dir, "logits.npy"))


def check(name, net, out, so, full, x_path, x):
    global ok
    eps = re.findall(r"epoch \d+: train loss ([0-9.]+) \(first batch ([0-9.]+).*val loss ([0-9.]+) top-1 ([0-9.]+)", so)
    print("\n".join(l for l in so.splitlines() if l.startswith(("model", "data", "frozen", "features", "training", "epoch"))))
    if not full:
        down = len(eps) >= 2 and float(eps[-1][0]) < float(eps[0][1])
        print(f"{name}: loss first batch {eps[0][1] if eps else '?'} -> last epoch mean {eps[-1][0] if eps else '?'}, "
              f"val top-1 {eps[-1][3] if eps else '?'} {'ok' if down else 'FAIL (loss did not go down)'}")
        ok &= down
    m = onnx.load(out)
    try:
        onnx.checker.check_model(m, full_check=True)
    except Exception as e:  # noqa: BLE001
        print(f"{name}: onnx.checker rejects {out}: {e} FAIL")
        ok = False
        return
    r = onnxc_and_ort(out, x_path, os.path.basename(out)[:-5])
    if isinstance(r, str):
        print(f"{name}: {r} FAIL")
        ok = False
        return
    got, ort = r
    # PyTorch with the finetuned parameters: initializers by name (the
    # exporter names them after the module's state_dict keys where it can)
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    ref_net = getattr(torchvision.models, name)(num_classes=1000)
    ref_net.load_state_dict(net.state_dict())
    gemm = [n for n in m.graph.node if n.op_type == "Gemm"][-1]
    w, b = init[gemm.input[1]], init[gemm.input[2]]
    head = torch.nn.Linear(w.shape[1], w.shape[0])
    if hasattr(ref_net, "fc"):
        ref_net.fc = head
    else:
        ref_net.classifier[-1] = head
    sd = ref_net.state_dict()
    loaded = 0
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(w.copy()))
        head.bias.copy_(torch.from_numpy(b.copy()))
        if full:
            for k, v in sd.items():
                if k in init and tuple(init[k].shape) == tuple(v.shape):
                    v.copy_(torch.from_numpy(init[k].copy()))
                    loaded += 1
            # the exporter names BatchNorm inputs after the module too; whatever
            # it renamed must be found, or the comparison would be against the old net
            bn_keys = [k for k in sd if k.endswith(("running_mean", "running_var"))]
            missing = [k for k in bn_keys if k not in init]
            if missing:
                print(f"{name}: running statistics not found by name in the output: {missing[:4]} FAIL")
                ok = False
    ref_net.eval()
    with torch.no_grad():
        ref = ref_net(torch.from_numpy(x)).numpy()
    e_ort, e_pt = rel(got, ort), rel(got, ref)
    good = got.shape == (2, 2) and e_ort <= TOL and e_pt <= TOL
    print(f"{name}{' --full' if full else ''}: onnxc on the written model vs ONNX Runtime {e_ort:.1e}, vs PyTorch with "
          f"the finetuned parameters{f' ({loaded} tensors)' if full else ' (new head)'} {e_pt:.1e} (bar {TOL:g}) "
          f"{'ok' if good else 'FAIL'}")
    ok &= good


x = np.random.RandomState(5).randn(2, 3, 224, 224).astype(np.float32)
x_path = os.path.join(wd, "x.npy")
np.save(x_path, x)
common = ["--data", hym, "--classes", "2", "--batch", "8", "--limit", "24", "--threads", "2"]
for name in ("resnet18", "vgg11"):
    net, model = export(name)
    out = os.path.join(wd, f"{name}_hym.onnx")
    rc, so, se = run_onnxc(["finetune", model, "-o", out, "--epochs", "3", "--lr", "0.001"] + common, timeout=1200)
    if rc != 0:
        print(f"{name}: finetune failed: {se[-400:]} FAIL")
        ok = False
        continue
    check(name, net, out, so, False, x_path, x)
    if name == "resnet18":
        out = os.path.join(wd, f"{name}_hym_full.onnx")
        rc, so, se = run_onnxc(["finetune", model, "-o", out, "--epochs", "1", "--full", "--limit", "16"] + common[:-4] +
                               ["--threads", "2"], timeout=1200)
        if rc != 0 or "20 BatchNorms on batch statistics" not in so:
            print(f"{name} --full: {'exit ' + str(rc)} {se[-400:]} FAIL")
            ok = False
            continue
        check(name, net, out, so, True, x_path, x)
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
