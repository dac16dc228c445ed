#!/usr/bin/python3
"""Generated C against the runtime on the same plan, side by side.

For each model x batch x threads: `onnxc compile MODEL --batch B --threads T`
(default mode, built with the generated Makefile at -O2 against this build
tree's runtime library), then alternating rounds of `onnxc bench MODEL
--batch B --threads T --runs N --json` and the generated harness
`NAME_run -i x.npy -o OUT -t N` (which times N runs after its first), so
load from other processes hits both. Prints the best round's median of
each and generated/bench (1.00 = the same speed; the issue's bar is within
5%, i.e. at most 1.05).

  python3 tools/bench/codegen_vs_bench.py                 # resnet18, batch 1 and 8, 1 and 2 threads
  python3 tools/bench/codegen_vs_bench.py --models resnet18 --batches 1 --threads 1 --rounds 5
Models are torchvision's, exported like train_vs_torch.py (BatchNorm kept,
folded by onnxc's passes) into --cache; needs /usr/bin/python3 with torch."""
import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np


def parse():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    ap.add_argument("--build", default=os.path.join(root, "build"))
    ap.add_argument("--models", default="resnet18")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cache", default=os.path.join(root, "build", "bench-cache"))
    return ap.parse_args(), os.path.abspath(root)


def export(name, path):
    if os.path.exists(path):
        return
    import torch
    import torchvision as tv
    torch.manual_seed(0)
    net = getattr(tv.models, name)(num_classes=1000).eval()
    tmp = path + ".tmp"
    torch.onnx.export(net, torch.randn(1, 3, 224, 224), tmp, opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    os.replace(tmp, path)


def main():
    a, root = parse()
    onnxc = os.path.join(a.build, "onnxc")
    os.makedirs(a.cache, exist_ok=True)
    libs = subprocess.run(["pkg-config", "--libs", "openblas", "stb", "zlib"], capture_output=True,
                          text=True).stdout.strip()
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    cpu = re.search(r"Model name:\s*(.*)", lscpu)
    print(f"CPU: {cpu.group(1) if cpu else '?'}, {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}")
    print(f"{'model':10} {'batch':>5} {'thr':>3} {'bench ms':>9} {'generated ms':>12} {'generated/bench':>15}")
    for m in a.models.split(","):
        model = os.path.join(a.cache, f"{m}_bn_224.onnx")
        export(m, model)
        for b in map(int, a.batches.split(",")):
            x = os.path.join(a.cache, f"x_{b}.npy")
            np.save(x, np.random.default_rng(0).standard_normal((b, 3, 224, 224)).astype(np.float32))
            for t in map(int, a.threads.split(",")):
                out = os.path.join(a.cache, f"cg_{m}_b{b}_t{t}")
                subprocess.run([onnxc, "compile", model, "-o", out, "--batch", str(b), "--threads", str(t),
                                "--name", "net"], check=True, capture_output=True)
                subprocess.run(["make", "-s", "-C", out, f"ONNXC_CFLAGS=-I{root}",
                                f"ONNXC_LIBS={os.path.join(a.build, 'libonnxc_runtime.a')} {libs} -lpthread -lm"],
                               check=True, capture_output=True)
                best_b = best_g = None
                for _ in range(a.rounds):
                    r = subprocess.run([onnxc, "bench", model, "--batch", str(b), "--threads", str(t), "--runs",
                                        str(a.runs), "--json"], check=True, capture_output=True, text=True)
                    mb = json.loads(r.stdout)["variants"][0]["median_ms"]
                    r = subprocess.run([os.path.join(out, "net_run"), "-i", x, "-o", os.path.join(out, "res"), "-w",
                                        os.path.join(out, "net.weights"), "-t", str(a.runs)],
                                       check=True, capture_output=True, text=True)
                    mg = float(re.search(r"median ([0-9.]+) ms", r.stdout).group(1))
                    best_b = mb if best_b is None else min(best_b, mb)
                    best_g = mg if best_g is None else min(best_g, mg)
                print(f"{m:10} {b:5} {t:3} {best_b:9.2f} {best_g:12.2f} {best_g / best_b:15.3f}", flush=True)
    print(f"load at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
