"""onnxc's training library (runtime/optim.c, schedule.c, init.c) against
PyTorch. The C side is tests/train/test_train.c (argv[1]: its binary).

optim  Six parameter tensors (Linear and Conv weights with their biases)
       laid out in one flat buffer; five fixed gradients per tensor. Every
       case runs 5 steps of torch.optim.<X> (with param groups for the
       biases' weight_decay = 0, torch.nn.utils.clip_grad_norm_ before the
       step, and the learning rate changed between steps) and of
       oc_optim_step on the flat buffers. Bar: after every step,
       max |onnxc - torch| / max |torch| <= 1e-6.
sched  oc_lr_at against the lr torch.optim.lr_scheduler leaves in the
       optimizer after each scheduler.step() (warmup: SequentialLR of
       LinearLR and the main schedule). Bar: relative error <= 1e-9.
init   Large tensors from each initializer: mean and standard deviation
       within sampling tolerance of the torch.nn.init formula (fans and gain
       from torch's own helpers), a Kolmogorov-Smirnov distance to the exact
       uniform / normal CDF below the 0.1% critical value, values inside the
       uniform bounds; the C side checks same seed => identical bytes and
       seed + 1 => different values. The raw xoshiro256** output is checked
       against an independent Python model of the published algorithm."""
import math
import os
import subprocess
import sys
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, workdir  # noqa: E402

torch = require("torch")
np = require("numpy")

if len(sys.argv) < 2 or not os.path.exists(sys.argv[1]):
    sys.exit("usage: test_train.py PATH/TO/test_train")
EXE = sys.argv[1]
DIR = workdir("train")
failed = []


def run_c(mode):
    p = subprocess.run([EXE, mode, DIR], capture_output=True, text=True, timeout=600)
    sys.stdout.write(p.stdout)
    if p.returncode != 0:
        sys.stdout.write(p.stderr)
        failed.append(f"test_train {mode} exited {p.returncode}")
    return p.returncode == 0


# ---------------------------------------------------------------- optimizers
STEPS = 5
SHAPES = [(8, 5), (8,), (4, 2, 3, 3), (4,), (3, 8), (3,)]
rng = np.random.default_rng(1234)
layout, off = [], 0
for s in SHAPES:
    n = int(np.prod(s))
    layout.append((off, n, s))
    off += n
N = off
P0 = rng.standard_normal(N).astype(np.float32)
G = rng.standard_normal((STEPS, N)).astype(np.float32)
G[2] *= 3.0  # one large gradient, so clipping engages on some steps only
BIASES = [i for i, s in enumerate(SHAPES) if len(s) == 1]
np.save(os.path.join(DIR, "params.npy"), P0)
np.save(os.path.join(DIR, "grads.npy"), G)

O = torch.optim
# name, torch class, torch kwargs, extra: lr, lr_gamma, clip, norm_type, no_decay
OPT_CASES = [
    ("sgd", O.SGD, {}, {"lr": 0.1}),
    ("sgd_wd", O.SGD, {"weight_decay": 1e-2}, {"lr": 0.1}),
    ("sgd_momentum", O.SGD, {"momentum": 0.9}, {"lr": 0.05}),
    ("sgd_dampening", O.SGD, {"momentum": 0.9, "dampening": 0.1, "weight_decay": 1e-3}, {"lr": 0.05}),
    ("sgd_nesterov", O.SGD, {"momentum": 0.9, "nesterov": True, "weight_decay": 5e-4}, {"lr": 0.05}),
    ("sgd_nodecay_lrs", O.SGD, {"momentum": 0.8, "weight_decay": 0.1}, {"lr": 0.1, "lr_gamma": 0.7, "no_decay": True}),
    ("adagrad", O.Adagrad, {}, {"lr": 0.05}),
    ("adagrad_decay", O.Adagrad, {"lr_decay": 0.1, "initial_accumulator_value": 0.1, "weight_decay": 1e-2},
     {"lr": 0.05}),
    ("rmsprop", O.RMSprop, {}, {"lr": 0.01}),
    ("rmsprop_momentum", O.RMSprop, {"alpha": 0.9, "eps": 1e-6, "momentum": 0.9, "weight_decay": 1e-2}, {"lr": 0.01}),
    ("rmsprop_centered", O.RMSprop, {"centered": True, "momentum": 0.5}, {"lr": 0.01}),
    ("adam", O.Adam, {}, {"lr": 1e-3}),
    ("adam_wd", O.Adam, {"weight_decay": 0.05, "betas": (0.8, 0.99), "eps": 1e-6}, {"lr": 1e-2}),
    ("adam_amsgrad", O.Adam, {"amsgrad": True}, {"lr": 1e-2, "lr_gamma": 0.5}),
    ("adamw", O.AdamW, {}, {"lr": 1e-3}),
    ("adamw_wd_nodecay", O.AdamW, {"weight_decay": 0.1}, {"lr": 1e-2, "no_decay": True}),
    ("adamw_amsgrad", O.AdamW, {"weight_decay": 0.05, "amsgrad": True}, {"lr": 1e-2}),
    ("sgd_clip", O.SGD, {"momentum": 0.9}, {"lr": 0.05, "clip": 8.0}),
    ("adam_clip", O.Adam, {}, {"lr": 1e-2, "clip": 1.0}),
    ("sgd_clip_inf", O.SGD, {}, {"lr": 0.1, "clip": 2.5, "norm_type": "inf"}),
    ("adamw_clip_p3", O.AdamW, {}, {"lr": 1e-2, "clip": 3.0, "norm_type": 3.0}),
]
KEYMAP = {"betas": None, "nesterov": "nesterov", "amsgrad": "amsgrad", "centered": "centered"}


def case_line(name, cls, kw, ex):
    kind = {O.SGD: "sgd", O.Adagrad: "adagrad", O.RMSprop: "rmsprop", O.Adam: "adam", O.AdamW: "adamw"}[cls]
    parts = [name, kind, f"lr={ex['lr']!r}"]
    if "lr_gamma" in ex:
        parts.append(f"lr_gamma={ex['lr_gamma']!r}")
    for k, v in kw.items():
        if k == "betas":
            parts += [f"beta1={v[0]!r}", f"beta2={v[1]!r}"]
        elif isinstance(v, bool):
            parts.append(f"{k}={int(v)}")
        else:
            parts.append(f"{k}={v!r}")
    if "clip" in ex:
        parts.append(f"max_grad_norm={ex['clip']!r}")
        parts.append(f"norm_type={ex.get('norm_type', 2.0)}")
    if ex.get("no_decay"):
        parts.append("no_decay=" + ",".join(f"{layout[i][0]},{layout[i][1]}" for i in BIASES))
    return " ".join(parts)


def torch_run(cls, kw, ex):
    ps = [torch.tensor(P0[o:o + n].reshape(s)).requires_grad_(True) for o, n, s in layout]
    if ex.get("no_decay"):
        groups = [{"params": [p for i, p in enumerate(ps) if i not in BIASES]},
                  {"params": [ps[i] for i in BIASES], "weight_decay": 0.0}]
    else:
        groups = [{"params": ps}]
    opt = cls(groups, lr=ex["lr"], **kw)
    hist = np.zeros((STEPS, N), np.float32)
    for t in range(STEPS):
        for p, (o, n, s) in zip(ps, layout):
            p.grad = torch.tensor(G[t, o:o + n].reshape(s))
        if "clip" in ex:
            nt = ex.get("norm_type", 2.0)
            torch.nn.utils.clip_grad_norm_(ps, ex["clip"], norm_type=float("inf") if nt == "inf" else nt)
        opt.step()
        hist[t] = torch.cat([p.detach().flatten() for p in ps]).numpy()
        for g in opt.param_groups:
            g["lr"] *= ex.get("lr_gamma", 1.0)
    return hist


with open(os.path.join(DIR, "optim.txt"), "w") as f:
    for c in OPT_CASES:
        f.write(case_line(*c) + "\n")
if run_c("optim"):
    print(f"optim: {N} parameters in {len(SHAPES)} tensors, {STEPS} steps; "
          "err = max|onnxc - torch| / max|torch| after each step, bar 1e-6")
    for name, cls, kw, ex in OPT_CASES:
        ref = torch_run(cls, kw, ex)
        path = os.path.join(DIR, f"optim_{name}.npy")
        if not os.path.exists(path):
            failed.append(f"optim {name}: no output")
            continue
        got = np.load(path)
        errs = [float(np.max(np.abs(got[t] - ref[t])) / np.max(np.abs(ref[t]))) for t in range(STEPS)]
        moved = float(np.max(np.abs(ref[-1] - P0)))
        worst = max(errs)
        ok = worst <= 1e-6 and np.all(np.isfinite(got))
        print(f"{'ok  ' if ok else 'FAIL'} optim {name:18s} err per step " +
              " ".join(f"{e:.1e}" for e in errs) + f"  (params moved up to {moved:.3g})")
        if not ok:
            failed.append(f"optim {name}: err {worst:.3g}")

# ---------------------------------------------------------------- schedules
S = O.lr_scheduler
# name, C line tail, torch factory (optimizer -> scheduler), steps
SCHED_CASES = [
    ("constant", "constant base_lr=0.05", lambda o: S.LambdaLR(o, lambda e: 1.0), 10, 0.05),
    ("step", "step base_lr=0.1 step_size=3 gamma=0.5", lambda o: S.StepLR(o, 3, 0.5), 20, 0.1),
    ("multistep", "multistep base_lr=0.1 milestones=3,7,12 gamma=0.2",
     lambda o: S.MultiStepLR(o, [3, 7, 12], 0.2), 20, 0.1),
    ("exponential", "exponential base_lr=0.3 gamma=0.9", lambda o: S.ExponentialLR(o, 0.9), 30, 0.3),
    ("cosine", "cosine base_lr=0.1 t_max=20 eta_min=1e-4",
     lambda o: S.CosineAnnealingLR(o, 20, 1e-4), 21, 0.1),
    ("polynomial", "polynomial base_lr=0.1 t_max=10 power=2", lambda o: S.PolynomialLR(o, 10, 2.0), 15, 0.1),
    ("warmup_cosine", "cosine base_lr=0.1 t_max=20 warmup=5 warmup_start=0.1",
     lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, 1.0, 5), S.CosineAnnealingLR(o, 20)], [5]), 26, 0.1),
    ("warmup_step", "step base_lr=0.2 step_size=3 gamma=0.5 warmup=4 warmup_start=0.25",
     lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.25, 1.0, 4), S.StepLR(o, 3, 0.5)], [4]), 20, 0.2),
    ("warmup_exp", "exponential base_lr=0.05 gamma=0.95 warmup=3",
     lambda o: S.SequentialLR(o, [S.LinearLR(o, 1.0 / 3, 1.0, 3), S.ExponentialLR(o, 0.95)], [3]), 20, 0.05),
]
with open(os.path.join(DIR, "sched.txt"), "w") as f:
    for name, line, _, steps, _ in SCHED_CASES:
        f.write(f"{name} {line} steps={steps}\n")
    f.write("cosine_after cosine base_lr=0.1 t_max=20 eta_min=1e-4 steps=40\n")
if run_c("sched"):
    print("sched: oc_lr_at vs torch.optim.lr_scheduler, err = max relative error, bar 1e-9")
    for name, _, make, steps, base in SCHED_CASES:
        opt = O.SGD([torch.zeros(1, requires_grad=True)], lr=base)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sch = make(opt)
            ref = [opt.param_groups[0]["lr"]]
            for _ in range(steps - 1):
                opt.step()
                sch.step()
                ref.append(opt.param_groups[0]["lr"])
        ref = np.array(ref)
        got = np.load(os.path.join(DIR, f"sched_{name}.npy"))
        err = float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-12)))
        ok = err <= 1e-9
        print(f"{'ok  ' if ok else 'FAIL'} sched {name:14s} {steps} steps, lr {ref[0]:.4g} .. {ref[-1]:.4g}, "
              f"err {err:.1e}")
        if not ok:
            failed.append(f"sched {name}: err {err:.3g}")
            print("   onnxc", got.tolist(), "\n   torch", ref.tolist())
    # Past t_max onnxc holds eta_min (PyTorch's cosine would climb back up).
    got = np.load(os.path.join(DIR, "sched_cosine_after.npy"))
    ok = np.all(got[20:] == 1e-4) and np.all(np.diff(got[:21]) <= 0)
    print(f"{'ok  ' if ok else 'FAIL'} sched cosine_after: steps 20..39 hold eta_min, 0..20 non-increasing")
    if not ok:
        failed.append("sched cosine_after")

# ---------------------------------------------------------------- init
M64 = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return x, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


def xoshiro256ss(seed, count):
    """xoshiro256** 1.0 (Blackman & Vigna), state from splitmix64(seed)."""
    s, x = [], seed
    for _ in range(4):
        x, v = splitmix64(x)
        s.append(v)
    out = []
    for _ in range(count):
        out.append((rotl((s[1] * 5) & M64, 7) * 9) & M64)
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    return out


INIT_CASES = [
    # name, kind, dims, extra C keys, torch init call (for the empirical comparison)
    ("xavier_uniform", "xavier_uniform", (512, 384), {}, lambda t: torch.nn.init.xavier_uniform_(t)),
    ("xavier_normal_tanh", "xavier_normal", (128, 64, 3, 3), {"gain": 5.0 / 3.0},
     lambda t: torch.nn.init.xavier_normal_(t, gain=5.0 / 3.0)),
    ("kaiming_normal_conv", "kaiming_normal", (256, 64, 3, 3), {"nl": "relu"},
     lambda t: torch.nn.init.kaiming_normal_(t, nonlinearity="relu")),
    ("kaiming_normal_fanout", "kaiming_normal", (64, 128, 5, 5), {"nl": "relu", "mode": "fan_out"},
     lambda t: torch.nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")),
    ("kaiming_uniform_relu", "kaiming_uniform", (512, 1024), {"nl": "relu"},
     lambda t: torch.nn.init.kaiming_uniform_(t, nonlinearity="relu")),
    ("torch_default_linear", "kaiming_uniform", (300, 784), {"nl": "leaky_relu", "slope": math.sqrt(5)},
     lambda t: torch.nn.init.kaiming_uniform_(t, a=math.sqrt(5))),
    ("kaiming_normal_leaky", "kaiming_normal", (96, 48, 7, 7), {"nl": "leaky_relu", "slope": 0.2, "mode": "fan_out"},
     lambda t: torch.nn.init.kaiming_normal_(t, a=0.2, mode="fan_out", nonlinearity="leaky_relu")),
    ("uniform", "uniform", (1000, 300), {"a": -0.3, "b": 0.7}, lambda t: torch.nn.init.uniform_(t, -0.3, 0.7)),
    ("normal", "normal", (1001, 301), {"a": 0.5, "b": 2.0}, lambda t: torch.nn.init.normal_(t, 0.5, 2.0)),
    ("constant", "constant", (10, 10), {"a": 0.25}, None),
    ("zeros", "zeros", (4, 5, 6), {}, None),
]
with open(os.path.join(DIR, "init.txt"), "w") as f:
    for i, (name, kind, dims, kw, _) in enumerate(INIT_CASES):
        f.write(f"{name} {kind} dims={','.join(map(str, dims))} seed={1000 + i} " +
                " ".join(f"{k}={v!r}" if not isinstance(v, str) else f"{k}={v}" for k, v in kw.items()) + "\n")


def expected(kind, dims, kw):
    """(distribution, location, scale): torch.nn.init's formula with torch's fans and gain."""
    if kind in ("uniform", "normal", "constant", "zeros"):
        a, b = kw.get("a", 0.0), kw.get("b", 1.0)
        return {"uniform": ("uniform", a, b), "normal": ("normal", a, b),
                "constant": ("constant", a, 0), "zeros": ("constant", 0.0, 0)}[kind]
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(dims))
    if kind.startswith("xavier"):
        gain = kw.get("gain", 1.0)
        if kind == "xavier_uniform":
            a = gain * math.sqrt(6.0 / (fan_in + fan_out))
            return ("uniform", -a, a)
        return ("normal", 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))
    fan = fan_out if kw.get("mode") == "fan_out" else fan_in
    std = torch.nn.init.calculate_gain(kw.get("nl", "leaky_relu"), kw.get("slope", 0)) / math.sqrt(fan)
    if kind == "kaiming_uniform":
        return ("uniform", -math.sqrt(3.0) * std, math.sqrt(3.0) * std)
    return ("normal", 0.0, std)


def ks_distance(x, cdf):
    x = np.sort(x.astype(np.float64))
    n = len(x)
    c = cdf(x)
    return max(float(np.max(np.arange(1, n + 1) / n - c)), float(np.max(c - np.arange(0, n) / n)))


erf = np.vectorize(math.erf)

if run_c("init"):
    raw = np.load(os.path.join(DIR, "rng.npy"))
    assert splitmix64(0)[1] == 0xE220A8397B1DCDAF, "Python splitmix64 model disagrees with the published vector"
    ok = all([int(v) for v in raw[i]] == xoshiro256ss(s, 8) for i, s in enumerate([0, 42, 0xDEADBEEFCAFEF00D]))
    print(f"{'ok  ' if ok else 'FAIL'} init xoshiro256** raw output (3 seeds x 8) matches the Python model")
    if not ok:
        failed.append("init rng raw output")
    print("init: mean/std vs the torch.nn.init formula; KS distance vs the exact CDF (bar 1.95/sqrt(n))")
    for name, kind, dims, kw, tinit in INIT_CASES:
        w = np.load(os.path.join(DIR, f"init_{name}.npy")).astype(np.float64)
        if w.shape != tuple(dims):
            failed.append(f"init {name}: shape {w.shape}")
            continue
        dist, p, q = expected(kind, dims, kw)
        n = w.size
        if dist == "constant":
            ok = np.all(w == np.float32(p))
            print(f"{'ok  ' if ok else 'FAIL'} init {name:22s} all {n} values == {p}")
        else:
            if dist == "uniform":
                mu, sigma = (p + q) / 2, (q - p) / math.sqrt(12.0)
                cdf = lambda x, p=p, q=q: np.clip((x - p) / (q - p), 0, 1)  # noqa: E731
                inside = bool(np.all((w >= np.float32(p)) & (w <= np.float32(q))))
            else:
                mu, sigma = p, q
                cdf = lambda x, p=p, q=q: 0.5 * (1 + erf((x - p) / (q * math.sqrt(2))))  # noqa: E731
                inside = True
            mean, std = float(w.mean()), float(w.std())
            mean_tol = 5 * sigma / math.sqrt(n)
            std_tol = max(0.005, 6 / math.sqrt(2 * n))
            ks = ks_distance(w.ravel(), cdf) * math.sqrt(n)
            tstd = None
            if tinit is not None:
                torch.manual_seed(0)
                tstd = float(tinit(torch.empty(dims)).double().std())
            ok = abs(mean - mu) <= mean_tol and abs(std / sigma - 1) <= std_tol and ks < 1.95 and inside
            print(f"{'ok  ' if ok else 'FAIL'} init {name:22s} {dist:7s} n={n}: mean {mean:+.2e} (want {mu:+.2e} "
                  f"+- {mean_tol:.1e}), std {std:.5f} vs formula {sigma:.5f} (rel {std / sigma - 1:+.1e}, "
                  f"torch's own {tstd:.5f}), KS*sqrt(n) {ks:.2f}" + ("" if inside else ", OUTSIDE bounds"))
        if not ok:
            failed.append(f"init {name}")

if failed:
    print(f"FAILED ({len(failed)}):", "; ".join(failed))
    sys.exit(1)
print("train: all checks passed")
