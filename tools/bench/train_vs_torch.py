#!/usr/bin/python3
"""One training step, onnxc against PyTorch eager, side by side.

For each model x mode x threads: `onnxc bench MODEL --train MODE --json`
and PyTorch running the same step on the same architecture, alternating
(onnxc, PyTorch, onnxc, PyTorch ...) so load from other processes hits
both. The step is what `onnxc finetune` does per batch:

  full  every parameter trains, BatchNorm in train mode (batch statistics),
        cross-entropy, SGD momentum 0.9 lr 0.01: zero_grad, forward,
        backward, step;
  head  a fresh classifier head of --classes outputs trains; the backbone is
        frozen (requires_grad False, BatchNorm in eval mode), so neither
        side computes backbone gradients. PyTorch runs it two ways, the
        backbone's forward with autograd deciding and under no_grad; the
        faster of the two in each round is the peer (PyTorch's time for
        the same forward moved 2x between them, with its allocator).

Models are torchvision's (random seeded weights) exported with BatchNorm
kept (TrainingMode.PRESERVE, no constant folding) into --cache; onnxc
trains the export, PyTorch the module it came from. Prints one table:
model, mode, batch, threads, onnxc ms, PyTorch ms, PyTorch/onnxc (above 1:
onnxc faster). Needs /usr/bin/python3 with Debian's torch and torchvision.

  python3 tools/bench/train_vs_torch.py                       # resnet18, b8, full+head, 1 and 2 threads
  python3 tools/bench/train_vs_torch.py --threads 1 --modes full --rounds 3
  python3 tools/bench/train_vs_torch.py --glibc-keep          # PyTorch with glibc keeping its buffers

PyTorch eager's time depends on glibc: by default its large activation
buffers go back to the kernel when freed and fault in again at the next
step. On one Zen 5 machine that moved its ResNet-18 forward at batch 8
from 200 to 400 ms. --glibc-keep measures PyTorch without that cost.
"""
import argparse
import json
import os
import subprocess
import sys
import time


def parse():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    ap.add_argument("--onnxc", default=os.path.join(root, "build", "onnxc"))
    ap.add_argument("--models", default="resnet18")
    ap.add_argument("--modes", default="full,head")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--classes", type=int, default=2, help="head mode: classes of the fresh head")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--cache", default=os.path.join(root, "build", "bench-cache"))
    ap.add_argument("--json", help="write every round here")
    ap.add_argument("--glibc-keep", action="store_true",
                    help="tell glibc's malloc to keep freed memory (MALLOC_MMAP_THRESHOLD_ 32 MB, no trim): PyTorch "
                         "eager then stops returning and re-faulting its large buffers, its best case short of "
                         "another allocator")
    return ap.parse_args()


def export(torch, tv, name, size, path):
    if os.path.exists(path):
        return
    torch.manual_seed(0)
    net = getattr(tv.models, name)(num_classes=1000).eval()
    tmp = path + ".tmp"
    torch.onnx.export(net, torch.randn(1, 3, size, size), tmp, opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    os.replace(tmp, path)


def torch_step_timer(torch, tv, name, mode, batch, size, classes, nograd_backbone=False):
    """The step as a closure. Head mode, nograd_backbone: the frozen
    backbone's forward runs under torch.no_grad() and only the new head
    is recorded for autograd; otherwise the backbone runs with its
    parameters frozen (requires_grad False) and autograd decides. The
    arithmetic is the same; PyTorch's speed is not (it moved by 2x between
    the two on one machine, with the allocator), so main() times both and
    takes the faster as the peer."""
    torch.manual_seed(0)
    net = getattr(tv.models, name)(num_classes=1000)
    if mode == "head":
        for p in net.parameters():
            p.requires_grad_(False)
        net.eval()  # BatchNorm on running statistics
        head = net.fc if hasattr(net, "fc") else net.classifier[-1]
        new = torch.nn.Linear(head.in_features, classes)
        if hasattr(net, "fc"):  # net becomes the trunk: features in, head applied below
            net.fc = torch.nn.Identity()
        else:
            net.classifier[-1] = torch.nn.Identity()
        params = list(new.parameters())
        n_out = classes
    else:
        net.train()
        params = list(net.parameters())
        n_out = 1000
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    g = torch.Generator().manual_seed(7)
    x = torch.randn(batch, 3, size, size, generator=g)
    y = torch.randint(0, n_out, (batch,), generator=g)
    lossf = torch.nn.CrossEntropyLoss()

    def forward():
        if mode != "head":
            return net(x)
        if nograd_backbone:
            with torch.no_grad():
                f = net(x)
            return new(f)
        return new(net(x))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = lossf(forward(), y)
        loss.backward()
        opt.step()
    return step


def time_torch(step, runs, warmup):
    for _ in range(warmup):
        step()
    ts = []
    for _ in range(runs):
        a = time.perf_counter()
        step()
        ts.append(1e3 * (time.perf_counter() - a))
    ts.sort()
    return (ts[len(ts) // 2] if len(ts) % 2 else 0.5 * (ts[len(ts) // 2 - 1] + ts[len(ts) // 2])), ts[0]


KEEP_ENV = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "17179869184",
            "MALLOC_TOP_PAD_": "268435456"}


def main():
    a = parse()
    if a.glibc_keep and any(os.environ.get(k) != v for k, v in KEEP_ENV.items()):
        # glibc reads these at start-up: run again with them set
        os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **KEEP_ENV})
    import torch
    import torchvision as tv
    os.makedirs(a.cache, exist_ok=True)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    flags = open("/proc/cpuinfo").read()
    isa = "avx512f" if "avx512f" in flags else "avx2" if "avx2" in flags else "none"
    print(f"CPU: {cpu}, {os.cpu_count()} cores, widest: {isa}; PyTorch {torch.__version__}; load {os.getloadavg()[0]:.2f}"
          f"; glibc malloc {'keeps freed memory (--glibc-keep)' if a.glibc_keep else 'default'}")
    rows, log = [], []
    for name in a.models.split(","):
        path = os.path.join(a.cache, f"{name}_bn_{a.size}.onnx")
        export(torch, tv, name, a.size, path)
        for mode in a.modes.split(","):
            for th in [int(t) for t in a.threads.split(",")]:
                torch.set_num_threads(th)
                steps = {"frozen": torch_step_timer(torch, tv, name, mode, a.batch, a.size, a.classes)}
                if mode == "head":
                    steps["no_grad"] = torch_step_timer(torch, tv, name, mode, a.batch, a.size, a.classes, True)
                best_o, best_t, min_o, min_t, err, styles = None, None, None, None, "", {}
                for r in range(a.rounds):
                    cmd = [a.onnxc, "bench", path, "--train", mode, "--batch", str(a.batch), "--threads", str(th),
                           "--runs", str(a.runs), "--warmup", str(a.warmup), "--json"]
                    if mode == "head":
                        cmd += ["--classes", str(a.classes)]
                    p = subprocess.run(cmd, capture_output=True, text=True)
                    if p.returncode:
                        err = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"
                        break
                    o = json.loads(p.stdout)
                    t, tmin, style = None, None, ""
                    for sname, step in steps.items():
                        ts, tsmin = time_torch(step, a.runs, a.warmup)
                        log.append({"model": name, "mode": mode, "threads": th, "round": r, "onnxc": o,
                                    "torch_style": sname, "torch_ms": ts, "torch_min_ms": tsmin})
                        if t is None or ts < t:
                            t, style = ts, sname
                        tmin = tsmin if tmin is None else min(tmin, tsmin)
                    styles[style] = styles.get(style, 0) + 1
                    best_o = o["median_ms"] if best_o is None else min(best_o, o["median_ms"])
                    best_t = t if best_t is None else min(best_t, t)
                    min_o = o["min_ms"] if min_o is None else min(min_o, o["min_ms"])
                    min_t = tmin if min_t is None else min(min_t, tmin)
                rows.append((name, mode, a.batch, th, best_o, best_t, min_o, min_t, err,
                             ",".join(f"{k} {v}" for k, v in sorted(styles.items()))))
    print(f"load at end {os.getloadavg()[0]:.2f}")
    print("medians: the best round's median step; fastest: the fastest single step of any round; head mode times"
          " PyTorch's backbone both frozen and under no_grad, the faster of the two per round (which won how often:"
          " last column)")
    print(f"{'model':<10} {'mode':<5} {'batch':>5} {'thr':>3} {'onnxc ms':>10} {'torch ms':>10} {'torch/onnxc':>11}"
          f" {'fastest onnxc':>14} {'fastest torch':>14} {'ratio':>6}  torch style")
    bad = 0
    for name, mode, b, th, o, t, mo, mt, err, sty in rows:
        if err:
            bad = 1
            print(f"{name:<10} {mode:<5} {b:>5} {th:>3} error: {err}")
        else:
            print(f"{name:<10} {mode:<5} {b:>5} {th:>3} {o:>10.1f} {t:>10.1f} {t / o:>11.2f}"
                  f" {mo:>14.1f} {mt:>14.1f} {mt / mo:>6.2f}  {sty}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(log, f, indent=1)
    return bad


if __name__ == "__main__":
    sys.exit(main())
