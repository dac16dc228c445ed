"""Checkpoints and exact resume of `onnxc train` (compiler/trainer.c):
- a run stopped after N steps (--stop-after-steps, mid-epoch) and resumed
  with --resume ends with a model byte-for-byte equal to an uninterrupted
  run (1 thread, same seed);
- the same after a real SIGKILL once a mid-epoch checkpoint exists;
- a truncated, a corrupted, a foreign (another model) and a non-checkpoint
  file are refused with a clear message and no output model is written."""
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import SKIP, onnxc_binary, run_onnxc, workdir

shared = os.environ.get("ONNXC_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
mnist = os.path.join(shared, "datasets", "mnist-t10k")
if not os.path.isdir(mnist):
    print(f"SKIP: needs {mnist}")
    sys.exit(SKIP)
d = workdir("train_resume")
ok = True


def base(size, ck, out, extra=()):
    return ["train", "--model", "lenet5", "--data", mnist, "--train-size", str(size), "--val-size", "200",
            "--epochs", "2", "--batch", "32", "--threads", "1", "--seed", "7", "--lr", "0.02",
            "--schedule", "cosine", "--optim", "sgd", "--momentum", "0.9", "--checkpoint", ck,
            "--checkpoint-every", "3", "-o", out] + list(extra)


def same(a, b):
    return os.path.exists(a) and os.path.exists(b) and open(a, "rb").read() == open(b, "rb").read()


def fresh(name):
    p = os.path.join(d, name)
    shutil.rmtree(p, ignore_errors=True)
    return p


# uninterrupted reference
ref = os.path.join(d, "ref.onnx")
rc, out, err = run_onnxc(base(1280, fresh("ck_ref"), ref))
print(f"uninterrupted: exit {rc}: {out.strip().splitlines()[-2] if rc == 0 else err[-300:]}")
ok &= rc == 0

# stopped mid-epoch (step 29 of 40; the last checkpoint is at step 27), resumed
ck = fresh("ck_stop")
res = os.path.join(d, "stop_resumed.onnx")
rc1, _, err1 = run_onnxc(base(1280, ck, res, ["--stop-after-steps", "29"]))
rc2, out2, err2 = run_onnxc(base(1280, ck, res, ["--resume", ck]))
good = rc1 == 0 and rc2 == 0 and not os.path.exists(os.path.join(d, "never")) and same(ref, res)
resumed = [l for l in out2.splitlines() if l.startswith("resumed")]
print(f"stop after 29 steps + resume ({resumed[0] if resumed else err1[-200:] + err2[-200:]}): "
      f"{'bitwise equal' if same(ref, res) else 'DIFFERENT'} {'ok' if good else 'FAIL'}")
ok &= good

# a real kill -9 once a mid-epoch checkpoint exists (a longer run so that the
# kill lands before the end; retried with more data if the run won)
killed = False
for size in (4000, 8000):
    ref_k = os.path.join(d, f"ref_{size}.onnx")
    if run_onnxc(base(size, fresh("ck_refk"), ref_k))[0] != 0:
        break
    ck = fresh("ck_kill")
    out_k = os.path.join(d, "kill_resumed.onnx")
    if os.path.exists(out_k):
        os.remove(out_k)
    p = subprocess.Popen([onnxc_binary()] + base(size, ck, out_k), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    last = os.path.join(ck, "last.ckpt")
    t0 = time.time()
    while not os.path.exists(last) and p.poll() is None and time.time() - t0 < 120:
        time.sleep(0.005)
    time.sleep(0.05)
    if p.poll() is not None:
        print(f"kill -9: the run of {size} samples finished before the kill; retrying with more")
        continue
    p.send_signal(signal.SIGKILL)
    p.wait()
    killed = True
    rc, out, err = run_onnxc(base(size, ck, out_k, ["--resume", ck]))
    resumed = [l for l in out.splitlines() if l.startswith("resumed")]
    good = rc == 0 and same(ref_k, out_k) and not os.path.exists(os.path.join(d, "never"))
    print(f"kill -9 + resume ({resumed[0] if resumed else err[-300:]}): "
          f"{'bitwise equal' if same(ref_k, out_k) else 'DIFFERENT'} {'ok' if good else 'FAIL'}")
    ok &= good
    break
if not killed:
    print("kill -9: could not interrupt a run FAIL")
    ok = False

# bad checkpoints: clear errors, nothing written
src = os.path.join(d, "ck_stop", "last.ckpt")
blob = open(src, "rb").read()
mlp = fresh("ck_mlp")
run_onnxc(["train", "--model", "mlp", "--data", mnist, "--train-size", "1280", "--val-size", "200", "--epochs", "1",
           "--batch", "32", "--threads", "1", "--seed", "7", "--checkpoint", mlp])
cases = [("truncated", blob[: len(blob) // 2], "truncated"),
         ("corrupted", blob[:1000] + bytes([blob[1000] ^ 1]) + blob[1001:], "checksum"),
         ("not a checkpoint", b"hello world, not a checkpoint at all" * 4, "not an onnxc checkpoint"),
         ("foreign (mlp)", open(os.path.join(mlp, "last.ckpt"), "rb").read() if os.path.exists(os.path.join(mlp, "last.ckpt")) else b"",
          "another model")]
for name, data, want in cases:
    bad = fresh("ck_bad")
    os.makedirs(bad)
    open(os.path.join(bad, "last.ckpt"), "wb").write(data)
    never = os.path.join(d, "never.onnx")
    rc, out, err = run_onnxc(base(1280, bad, never, ["--resume", bad]))
    good = rc != 0 and want in err and "last.ckpt" in err and not os.path.exists(never)
    print(f"{name} checkpoint: exit {rc}: {err.strip()[-200:]} {'ok' if good else 'FAIL'}")
    ok &= good

print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
