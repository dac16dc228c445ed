"""Exact resume of `onnxc finetune` (issue #13's bar): ResNet-8 (BatchNorm on
batch statistics, every layer trained: --full) finetuned for 3 epochs on a
seeded MNIST subset with a checkpoint per epoch, 1 thread:
- killed with SIGKILL once the first checkpoint exists, then run again with
  --resume: the written model is byte-for-byte the uninterrupted run's;
- the same with a head-only run (cached features; retried with 30, then
  300 epochs when the run finishes before the kill can land);
- a corrupted and a foreign checkpoint (another model's) are refused with
  a clear message naming the file, and no model is written."""
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import SKIP, onnxc_binary, run_onnxc, workdir

shared = os.environ.get("ONNXC_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
mnist = os.path.join(shared, "datasets", "mnist")
if not os.path.isdir(mnist):
    print(f"SKIP: needs {mnist}")
    sys.exit(SKIP)
d = workdir("finetune_resume")
ok = True
net = os.path.join(d, "resnet8.onnx")
lenet = os.path.join(d, "lenet5.onnx")
for m, p in (("resnet8", net), ("lenet5", lenet)):
    rc, so, se = run_onnxc(["export", "--model", m, "-o", p])
    if rc != 0:
        print(f"export {m}: {se[-300:]} FAIL")
        sys.exit(1)


def args(model, ck, out, extra=(), epochs=3):
    return ["finetune", model, "--data", mnist, "--classes", "10", "--limit", "1600", "--epochs", str(epochs), "--batch", "32",
            "--lr", "0.05", "--mean", "0.1307", "--std", "0.3081", "--threads", "1", "--seed", "3",
            "--checkpoint", ck, "-o", out] + list(extra)


def fresh(name):
    p = os.path.join(d, name)
    shutil.rmtree(p, ignore_errors=True)
    return p


def same(a, b):
    return os.path.exists(a) and os.path.exists(b) and open(a, "rb").read() == open(b, "rb").read()


def kill_and_resume(mode, extra, epochs):
    """The uninterrupted run, then a run killed after its first checkpoint and
    resumed; None when the run ended before the kill could land (a loaded
    machine, or a head-only run on cached features that finishes within
    milliseconds of its first checkpoint): the caller retries longer."""
    tag = mode.strip("-")
    ref = os.path.join(d, f"ref_{tag}.onnx")
    rc, so, se = run_onnxc(args(net, fresh(f"ck_ref_{tag}"), ref, extra, epochs), timeout=900)
    if rc != 0:
        print(f"{mode}: uninterrupted run failed: {se[-300:]} FAIL")
        return False
    ck = fresh(f"ck_kill_{tag}")
    out = os.path.join(d, f"resumed_{tag}.onnx")
    if os.path.exists(out):
        os.remove(out)
    p = subprocess.Popen([onnxc_binary()] + args(net, ck, out, extra, epochs), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    last = os.path.join(ck, "last.ckpt")
    t0 = time.time()
    while not os.path.exists(last) and p.poll() is None and time.time() - t0 < 300:
        time.sleep(0.005)
    if p.poll() is not None:
        print(f"{mode}: {epochs} epochs: the run ended before the kill; retrying with more epochs")
        return None
    p.send_signal(signal.SIGKILL)
    p.wait()
    partial = os.path.exists(out)
    rc, so, se = run_onnxc(args(net, ck, out, extra + ["--resume", ck], epochs), timeout=900)
    resumed = [l for l in so.splitlines() if l.startswith("resumed")]
    if partial and resumed and resumed[0].rstrip().endswith(f"after epoch {epochs}"):
        # every epoch and the model were written before the kill landed: nothing was interrupted
        print(f"{mode}: {epochs} epochs: the run finished before the kill; retrying with more epochs")
        return None
    good = rc == 0 and not partial and resumed and same(ref, out)
    print(f"{mode}: {epochs} epochs, kill -9 after the first checkpoint "
          f"({'no output yet' if not partial else 'OUTPUT EXISTED'}), "
          f"{resumed[0] if resumed else se[-300:]}: {'bitwise equal' if same(ref, out) else 'DIFFERENT'} "
          f"{'ok' if good else 'FAIL'}")
    return bool(good)


for mode, extra in (("--full", ["--full"]), ("head-only", [])):
    for epochs in (3, 30, 300):
        r = kill_and_resume(mode, extra, epochs)
        if r is not None:
            break
    if r is None:
        print(f"{mode}: the run ended before the kill even with {epochs} epochs FAIL")
    ok &= bool(r)

# bad checkpoints
blob = open(os.path.join(d, "ck_ref_full", "last.ckpt"), "rb").read()
lck = fresh("ck_lenet")
run_onnxc(args(lenet, lck, os.path.join(d, "lenet_ft.onnx"), ["--full", "--epochs", "1"]), timeout=900)
foreign = open(os.path.join(lck, "last.ckpt"), "rb").read() if os.path.exists(os.path.join(lck, "last.ckpt")) else b""
for name, data, want in (("corrupted", blob[:2000] + bytes([blob[2000] ^ 1]) + blob[2001:], "checksum"),
                         ("foreign (LeNet-5's)", foreign, "another model")):
    bad = fresh("ck_bad")
    os.makedirs(bad)
    open(os.path.join(bad, "last.ckpt"), "wb").write(data)
    never = os.path.join(d, "never.onnx")
    rc, so, se = run_onnxc(args(net, bad, never, ["--full", "--resume", bad]), timeout=900)
    good = rc != 0 and want in se and "last.ckpt" in se and not os.path.exists(never) and len(data) > 0
    print(f"{name} checkpoint: exit {rc}: {se.strip()[-200:]} {'ok' if good else 'FAIL'}")
    ok &= good
# the rest of train's recipe options reach the trainer: --patience stops
# when the validation loss stalls (lr 0: it cannot improve), and
# --label-smoothing changes the loss of the same batch (the smoothed loss
# itself is checked against PyTorch in grad.losses); --clip and --warmup run
import re  # noqa: E402
base_ft = ["finetune", lenet, "--data", mnist, "--classes", "10", "--keep-head", "--limit", "256", "--batch", "256",
           "--lr", "0", "--threads", "1", "-o", os.path.join(d, "opts.onnx")]
rc, so, se = run_onnxc(base_ft + ["--epochs", "5", "--patience", "1"], timeout=600)
eps = re.findall(r"^epoch (\d+):", so, re.M)
good = rc == 0 and "early stop" in so and eps == ["1", "2"]
print(f"--patience 1 with lr 0: epochs run {eps}, {'early stop' if 'early stop' in so else 'no early stop'} "
      f"{'ok' if good else 'FAIL ' + se[-200:]}")
ok &= good
losses = []
for extra in ([], ["--label-smoothing", "0.2", "--clip", "1", "--warmup", "2"]):
    rc, so, se = run_onnxc(base_ft + ["--epochs", "1"] + extra, timeout=600)
    m = re.search(r"first batch ([0-9.]+)", so)
    losses.append(float(m.group(1)) if rc == 0 and m else None)
good = None not in losses and losses[0] != losses[1]
print(f"--label-smoothing 0.2 (+ --clip, --warmup): first-batch loss {losses[0]} -> {losses[1]} {'ok' if good else 'FAIL'}")
ok &= good
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
