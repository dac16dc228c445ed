"""Transfer beats scratch (issue #13's bar), all through `onnxc`:
1. ResNet-8 (models/models.c: BatchNorm, residual adds, a Gemm head) is
   exported with random weights and pretrained by `onnxc finetune --full`
   on MNIST digits 0-4 (6000 training images, 2 epochs); its validation
   accuracy on the test split's 0-4 must be high (>= 0.95) or the rest
   means nothing.
2. Transfer: the pretrained net gets a fresh 5-class head, trained alone
   (frozen backbone, cached features) on digits 5-9 with 10 training
   images per class (--labels 5-9 --per-class 10).
3. Scratch: the same random-weight net trained whole (--full) on the same
   50 images (same seed, so the same per-class draw).
Both are scored on the whole standard test split of 5-9 (4861 images).
Transfer must beat scratch by at least 10 points (PyTorch on such a net:
about +22 at 10 images per class)."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import SKIP, run_onnxc, workdir

shared = os.environ.get("ONNXC_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
mnist = os.path.join(shared, "datasets", "mnist")
if not os.path.exists(os.path.join(mnist, "t10k-labels-idx1-ubyte")) and not os.path.isdir(mnist):
    print(f"SKIP: needs {mnist}")
    sys.exit(SKIP)
d = workdir("transfer")
norm = ["--mean", "0.1307", "--std", "0.3081", "--threads", "1"]
ok = True


def last_val(so):
    v = re.findall(r"val loss ([0-9.]+) top-1 ([0-9.]+)", so)
    return float(v[-1][1]) if v else None


def data_line(so):
    return next((l for l in so.splitlines() if l.startswith("data:")), "?")


net = os.path.join(d, "resnet8.onnx")
rc, so, se = run_onnxc(["export", "--model", "resnet8", "-o", net])
if rc != 0:
    print(f"export failed: {se[-300:]} FAIL")
    sys.exit(1)

pre = os.path.join(d, "resnet8_digits04.onnx")
rc, so, se = run_onnxc(["finetune", net, "--data", mnist, "--classes", "5", "--labels", "0-4", "--full", "--limit", "6000",
                        "--epochs", "2", "--batch", "32", "--lr", "0.05", "-o", pre] + norm, timeout=900)
acc_pre = last_val(so)
good = rc == 0 and acc_pre is not None and acc_pre >= 0.95
print(f"pretrain on 0-4: {data_line(so)}; val top-1 {acc_pre} {'ok' if good else 'FAIL ' + se[-300:]}")
ok &= good

small = ["--data", mnist, "--classes", "5", "--labels", "5-9", "--per-class", "10", "--batch", "10", "--lr", "0.05"]
rc, so, se = run_onnxc(["finetune", pre] + small + ["--epochs", "30", "-o", os.path.join(d, "transfer.onnx")] + norm,
                       timeout=900)
acc_tr = last_val(so)
print(f"transfer (frozen backbone, new head): {data_line(so)}; top-1 on the 5-9 test split {acc_tr} "
      f"{'' if rc == 0 else 'FAIL ' + se[-300:]}")
good_tr = rc == 0 and acc_tr is not None and "50 training and 4861 validation" in so and "computing the head's input" in so

rc, so, se = run_onnxc(["finetune", net] + small + ["--full", "--epochs", "15", "-o", os.path.join(d, "scratch.onnx")] + norm,
                       timeout=900)
acc_sc = last_val(so)
print(f"scratch (whole net, random weights): {data_line(so)}; top-1 on the 5-9 test split {acc_sc} "
      f"{'' if rc == 0 else 'FAIL ' + se[-300:]}")
good_sc = rc == 0 and acc_sc is not None and "50 training and 4861 validation" in so

gain = (acc_tr - acc_sc) if good_tr and good_sc else None
good = gain is not None and gain >= 0.10
print(f"transfer - scratch = {gain if gain is None else round(100 * gain, 1)} points (bar: >= 10) {'ok' if good else 'FAIL'}")
ok &= good
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
