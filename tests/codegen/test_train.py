"""Training in generated C (`onnxc compile --train`).

A small BatchNorm CNN from PyTorch (exported with its BatchNorms kept) is
compiled with --train; the generated training module runs K steps over
fixed batches in its harness and saves what it trained. The same K steps
run in onnxc's library trainer (train_ref, the runtime side) and in
PyTorch (the reference). Checked, per trained tensor (parameters and
running statistics), as max |a - b| / max |b|:
  generated C vs the library trainer   <= 1e-5 (the issue's bar)
  generated C vs PyTorch               <= 1e-4 (float32 over K steps)
and the trained tensors go back into the model with `onnxc export
--trained`, whose output (eval mode) matches PyTorch's trained module.

Cases: full training with SGD momentum (BatchNorm in training mode: batch
statistics, running statistics updated), and --freeze backbone with Adam
(only the classifier head trains, BatchNorm frozen). Bad input: another
model's weights file, a label out of range, a corrupt tensors file, a
tensors file that does not fit the model.

usage: test_train.py TRAIN_REF   (the codegen_train_ref binary)"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cg_common import build, compile_model  # noqa: E402
from common import run_onnxc, require, workdir  # noqa: E402

np = require("numpy")
torch = require("torch")
onnx = require("onnx")
from onnx import numpy_helper  # noqa: E402

TRAIN_REF = sys.argv[1]
K, LR, BATCH, CLASSES = 4, 0.05, 4, 5
TOL_RUNTIME, TOL_TORCH = 1e-5, 1e-4
ok = True


def fail(msg):
    global ok
    print("FAIL:", msg)
    ok = False


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.conv2 = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.bn2 = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8, CLASSES)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        # a residual block's tail (BN -> Add -> Relu: one FusedBatchNormalization in training)
        x = torch.relu(self.bn2(self.conv2(x)) + x)
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))


def read_tensors(path):
    """An onnxc tensors file (runtime/io.h), parsed here independently."""
    b = open(path, "rb").read()
    assert b[:8] == b"ONNXCTNS", path
    n = int.from_bytes(b[12:16], "little")
    pos, out = 16, {}
    for _ in range(n):
        nl = int.from_bytes(b[pos:pos + 4], "little")
        name = b[pos + 4:pos + 4 + nl].decode()
        pos += 4 + nl
        dt, rank = int.from_bytes(b[pos:pos + 4], "little"), int.from_bytes(b[pos + 4:pos + 8], "little")
        pos += 8
        dims = [int.from_bytes(b[pos + 8 * i:pos + 8 * i + 8], "little", signed=True) for i in range(rank)]
        pos += 8 * rank
        assert dt == 1, (name, dt)
        cnt = int(np.prod(dims)) if dims else 1
        out[name] = np.frombuffer(b, np.float32, cnt, pos).reshape(dims)
        pos += 4 * cnt
    assert pos == len(b) - 8, "trailing bytes"
    return out


def rel(a, b):
    return float(np.max(np.abs(a.astype(np.float64) - b)) / max(float(np.max(np.abs(b))), 1e-12))


def torch_train(net, x, y, freeze, optim):
    """K steps of PyTorch on the batches in order; what onnxc trains, by ONNX name."""
    if freeze:
        for name, p in net.named_parameters():
            p.requires_grad = name.startswith("fc.")
        net.eval()  # a frozen backbone: BatchNorm on its running statistics
    else:
        net.train()
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=LR, momentum=0.9) if optim == "sgd" else torch.optim.Adam(params, lr=LR)
    nb = x.shape[0] // BATCH
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    count = {}
    for m in bns:  # elements per channel each BatchNorm sees
        m.register_forward_hook(lambda mod, inp, out: count.__setitem__(mod, inp[0].numel() // inp[0].shape[1]))
    for s in range(K):
        i = s % nb
        old = [m.running_var.clone() for m in bns]
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(torch.from_numpy(x[i * BATCH:(i + 1) * BATCH])),
                                                 torch.from_numpy(y[i * BATCH:(i + 1) * BATCH]))
        loss.backward()
        opt.step()
        if net.training:
            # ONNX's BatchNormalization (training mode) updates running_var with
            # the biased batch variance, PyTorch with the unbiased one (n / (n - 1)):
            # recover the batch variance from PyTorch's update and apply ONNX's
            with torch.no_grad():
                for m, rv in zip(bns, old):
                    mo, n = m.momentum, count[m]
                    v_unbiased = (m.running_var - (1 - mo) * rv) / mo
                    m.running_var.copy_((1 - mo) * rv + mo * v_unbiased * (n - 1) / n)
    net.eval()
    want = {n: p.detach().numpy() for n, p in net.named_parameters() if p.requires_grad}
    if not freeze:
        for n, b in net.named_buffers():
            if "running" in n:
                want[n] = b.numpy()
    return want


def case(d, label, freeze, optim, extra):
    out = os.path.join(d, label)
    shutil.rmtree(out, ignore_errors=True)
    torch.manual_seed(3)
    net = Net().eval()  # exported for inference: BatchNorm with its running statistics
    with torch.no_grad():  # distinct values (the exporter shares equal initializers through Identity)
        for bn in (net.bn1, net.bn2):
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
            bn.running_mean.uniform_(-0.1, 0.1)
            bn.running_var.uniform_(0.8, 1.2)
    model = os.path.join(d, "net.onnx")
    torch.onnx.export(net, torch.randn(BATCH, 1, 12, 12), model, opset_version=13, input_names=["input"],
                      output_names=["logits"], training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2 * BATCH, 1, 12, 12)).astype(np.float32)
    y = rng.integers(0, CLASSES, 2 * BATCH).astype(np.int64)
    xs, ys = os.path.join(d, "x.npy"), os.path.join(d, "y.npy")
    np.save(xs, x)
    np.save(ys, y)
    print(compile_model(model, out, "--train", "--optim", optim, *extra).strip())
    build(out)
    gen = os.path.join(out, "trained.tns")
    p = subprocess.run([os.path.join(out, "model_train_run"), "-i", xs, "--labels", ys, "--steps", str(K), "--lr",
                        str(LR), "-w", os.path.join(out, "model_train.weights"), "--save", gen],
                       capture_output=True, text=True, timeout=300)
    if p.returncode:
        return fail(f"{label}: generated training harness failed: {p.stderr.strip()}")
    print(p.stdout.strip())
    ref = os.path.join(out, "ref.tns")
    mom = "0.9" if optim == "sgd" else "0"
    p = subprocess.run([TRAIN_REF, model, xs, ys, str(K), str(LR), optim, mom, "backbone" if freeze else "none", ref],
                       capture_output=True, text=True, timeout=300)
    if p.returncode:
        return fail(f"{label}: train_ref failed: {p.stderr.strip()}")
    g, r = read_tensors(gen), read_tensors(ref)
    want = torch_train(net, x, y, freeze, optim)
    if set(g) != set(r) or set(g) != set(want):
        return fail(f"{label}: trained tensors differ: generated {sorted(g)}, runtime {sorted(r)}, "
                    f"PyTorch {sorted(want)}")
    for n in sorted(g):
        print(f"  {n}: vs runtime {rel(g[n], r[n]):.2e}, vs PyTorch {rel(g[n], want[n]):.2e}")
    worst_rt = max(rel(g[n], r[n]) for n in g)
    worst_pt = max(rel(g[n], want[n]) for n in g)
    moved = max(rel(g[n], numpy_helper.to_array(i)) for i in onnx.load(model).graph.initializer
                for n in g if i.name == n)
    print(f"{label}: {len(g)} tensors; generated vs runtime {worst_rt:.2e} (bar {TOL_RUNTIME}), "
          f"vs PyTorch {worst_pt:.2e} (bar {TOL_TORCH}); largest change from the initial values {moved:.2e}")
    if worst_rt > TOL_RUNTIME or worst_pt > TOL_TORCH or moved < 1e-3:
        fail(f"{label}: out of tolerance (or nothing trained)")
    # the trained tensors back into the model; its outputs vs the trained PyTorch module
    trained = os.path.join(out, "trained.onnx")
    rc, so, se = run_onnxc(["export", model, "--trained", gen, "-o", trained])
    if rc:
        return fail(f"{label}: onnxc export --trained failed: {se.strip()}")
    onnx.checker.check_model(onnx.load(trained))
    res = os.path.join(out, "res")
    shutil.rmtree(res, ignore_errors=True)
    xe = os.path.join(d, "xe.npy")
    np.save(xe, x[:BATCH])
    rc, so, se = run_onnxc(["run", trained, "-i", xe, "-o", res, "--format", "pb", "--top", "0"])
    if rc:
        return fail(f"{label}: onnxc run of the exported model failed: {se.strip()}")
    got = numpy_helper.to_array(onnx.load_tensor(os.path.join(res, "logits.pb")))
    with torch.no_grad():
        exp = net(torch.from_numpy(x[:BATCH])).numpy()
    diff = float(np.max(np.abs(got - exp)))
    print(f"{label}: exported trained model vs trained PyTorch module (eval): max |diff| {diff:.2e}")
    if diff > 1e-4:
        fail(f"{label}: exported model output differs from PyTorch by {diff}")
    return out, xs, ys, model


def bad_inputs(out, xs, ys, model, d):
    run = os.path.join(out, "model_train_run")
    checks = []
    p = subprocess.run([run, "-i", xs, "--labels", ys, "-w", os.path.join(out, "model.weights")],
                       capture_output=True, text=True)
    checks.append(("another model's weights file", p, "another model"))
    yb = os.path.join(d, "ybad.npy")
    np.save(yb, np.full(2 * BATCH, CLASSES, np.int64))
    p = subprocess.run([run, "-i", xs, "--labels", yb, "-w", os.path.join(out, "model_train.weights")],
                       capture_output=True, text=True)
    checks.append(("a label out of range", p, "outside [0, 5)"))
    good = os.path.join(out, "trained.tns")
    corrupt = os.path.join(d, "corrupt.tns")
    b = bytearray(open(good, "rb").read())
    b[len(b) // 2] ^= 0x40
    open(corrupt, "wb").write(bytes(b))
    p = subprocess.run([os.environ["ONNXC"], "export", model, "--trained", corrupt, "-o",
                        os.path.join(d, "never.onnx")], capture_output=True, text=True)
    checks.append(("a corrupt tensors file", p, "checksum"))
    short = os.path.join(d, "short.tns")
    open(short, "wb").write(bytes(open(good, "rb").read()[:100]))
    p = subprocess.run([os.environ["ONNXC"], "export", model, "--trained", short, "-o", os.path.join(d, "never.onnx")],
                       capture_output=True, text=True)
    checks.append(("a truncated tensors file", p, "corrupt"))
    for what, p, needle in checks:
        good_msg = p.returncode == 1 and needle in p.stderr and "Sanitizer" not in p.stderr
        print(f"{what}: exit {p.returncode}: {p.stderr.strip()[:160]}")
        if not good_msg:
            fail(f"{what}: expected exit 1 with '{needle}'")
    if os.path.exists(os.path.join(d, "never.onnx")):
        fail("a refused export left a file behind")


def main():
    d = workdir("codegen_train")
    r = case(d, "full_sgd", False, "sgd", ["--momentum", "0.9"])
    case(d, "head_adam", True, "adam", ["--freeze", "backbone"])
    if r:
        bad_inputs(*r, d)
    print("PASS" if ok else "FAILED")
    sys.exit(0 if ok else 1)


main()
