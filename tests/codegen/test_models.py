"""Whole models through `onnxc compile`: generated C against `onnxc run` on
the same model, batch and input (max abs difference of the outputs within
1e-5), built with -Wall -Wextra -Werror; also against PyTorch for the
torchvision exports (within 1e-4, the bar of e2e.torchvision_run).

  lenet5    onnxc's builder LeNet-5 exported to ONNX (batch 2): default and
            --portable (gcc -std=c99 -pedantic, and clang when present), and
            --no-fuse;
  resnet18  torchvision, BatchNorm kept (batch 1): default and --portable;
  vgg11     torchvision (batch 1): default.

usage: test_models.py [lenet5] [resnet18] [vgg11]  (default: all three)
A torchvision model is skipped (77) when torch is missing, never passed."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cg_common import build, compile_model, run_harness  # noqa: E402
from common import SKIP, onnxc_binary, require, run_onnxc, workdir  # noqa: E402

np = require("numpy")
onnx = require("onnx")
from onnx import numpy_helper  # noqa: E402

TOL_RUNTIME = 1e-5
TOL_TORCH = 1e-4
names = sys.argv[1:] or ["lenet5", "resnet18", "vgg11"]
ok = True


def runtime_outputs(model, xin, d, *extra):
    res = os.path.join(d, "runtime_out")
    shutil.rmtree(res, ignore_errors=True)
    rc, out, err = run_onnxc(["run", model, "-i", xin, "-o", res, "--format", "pb", "--top", "0"] + list(extra))
    if rc:
        raise AssertionError(f"onnxc run failed: {err}")
    return {f: numpy_helper.to_array(onnx.load_tensor(os.path.join(res, f))) for f in sorted(os.listdir(res))}


def check(label, model, xin, d, batch, portable=False, cc=None, extra=(), torch_ref=None):
    global ok
    out = os.path.join(d, label)
    shutil.rmtree(out, ignore_errors=True)
    flags = ["--batch", str(batch), "--name", "net"] + list(extra) + (["--portable"] if portable else [])
    compile_model(model, out, *flags)
    build(out, portable=portable, cc=cc)
    res = os.path.join(d, label + "_out")
    shutil.rmtree(res, ignore_errors=True)
    rc, so, se = run_harness(out, "net", [xin], res, weights=os.path.join(out, "net.weights"))
    if rc:
        print(f"{label}: harness failed ({rc}): {se.strip()}")
        ok = False
        return
    want = runtime_outputs(model, xin, d, "--batch", str(batch), *extra)
    for f, w in want.items():
        got = numpy_helper.to_array(onnx.load_tensor(os.path.join(res, f)))
        diff = float(np.max(np.abs(got.astype(np.float64) - w))) if got.shape == w.shape else float("inf")
        good = diff <= TOL_RUNTIME
        msg = f"{label}: {f} {list(got.shape)} max abs diff vs onnxc run {diff:.3g} (bar {TOL_RUNTIME})"
        if torch_ref is not None:
            td = float(np.max(np.abs(got - torch_ref)))
            msg += f", vs PyTorch {td:.3g} (bar {TOL_TORCH})"
            good &= td <= TOL_TORCH
        print(msg + (" ok" if good else " FAIL"))
        ok &= good


def torchvision_model(name, d, batch):
    torch = require("torch")
    torchvision = require("torchvision")
    torch.manual_seed(0)
    m = getattr(torchvision.models, name)().eval()
    x = torch.randn(batch, 3, 224, 224)
    path = os.path.join(d, f"{name}.onnx")
    if not os.path.exists(path):
        torch.onnx.export(m, x, path, input_names=["input"], output_names=["logits"], opset_version=13,
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    with torch.no_grad():
        want = m(x).numpy()
    xin = os.path.join(d, f"{name}_x.npy")
    np.save(xin, x.numpy())
    return path, xin, want


for name in names:
    d = workdir(f"codegen_{name}")
    if name == "lenet5":
        model = os.path.join(d, "lenet5.onnx")
        rc, _, err = run_onnxc(["export", "--model", "lenet5", "-o", model])
        if rc:
            sys.exit(f"onnxc export failed: {err}")
        xin = os.path.join(d, "x.npy")
        np.save(xin, np.random.RandomState(0).randn(2, 1, 28, 28).astype(np.float32))
        check("lenet5", model, xin, d, 2)
        check("lenet5_nofuse", model, xin, d, 2, extra=("--no-fuse",))
        check("lenet5_portable", model, xin, d, 2, portable=True)
        if shutil.which("clang"):
            check("lenet5_portable_clang", model, xin, d, 2, portable=True, cc="clang")
        else:
            print("lenet5_portable_clang: clang not installed, not checked")
    elif name in ("resnet18", "vgg11"):
        try:
            import torch  # noqa: F401
        except ImportError:
            print(f"SKIP: {name}: torch is not available")
            sys.exit(SKIP)
        model, xin, want = torchvision_model(name, d, 1)
        check(name, model, xin, d, 1, torch_ref=want)
        if name == "resnet18":
            check(name + "_portable", model, xin, d, 1, portable=True, torch_ref=want)
    else:
        sys.exit(f"unknown model {name}")
sys.exit(0 if ok else 1)
