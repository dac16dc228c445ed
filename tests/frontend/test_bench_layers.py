"""tools/bench/bench_vs_ort.py --layers without ONNX Runtime: how a layer is
paired with ORT's node (same FLOP count, first unpaired, so branches run in
another order still pair, and a layer ORT fused away gets none), which
profile entries count as layers, and the --no-ort table on a real
`onnxc bench --profile` of ResNet-18 (every Conv and the Gemm listed, in
order, with onnxc's FLOP count). Timing is never asserted."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "bench"))
from common import run_onnxc, workdir  # noqa: E402
import bench_vs_ort as bvo  # noqa: E402

ok = True


def check(label, cond, detail=""):
    global ok
    print(f"{'ok  ' if cond else 'FAIL'} {label} {detail}")
    ok &= bool(cond)


# ours: conv a (100 flops), branch conv b (50), downsample c (30), gemm d (10)
ours = [("a", "k", 1.0, 100), ("b", "k", 1.0, 50), ("c", "k", 1.0, 30), ("d", "k", 1.0, 10)]
# ORT ran the downsample before the branch conv, and has one node of its own
theirs = [("A", "Conv", 2.0, 100), ("C", "Conv", 2.0, 30.02), ("B", "Conv", 2.0, 50), ("X", "Conv", 2.0, 77),
          ("D", "Gemm", 2.0, 10)]
got = [t and t[0] for t in bvo.pair_layers(ours, theirs)]
check("pairs by FLOP count across a reordered branch", got == ["A", "B", "C", "D"], str(got))
got = [t and t[0] for t in bvo.pair_layers(ours, theirs[:2] + theirs[3:])]
check("a layer with no node of its FLOP count pairs with none", got == ["A", None, "C", "D"], str(got))
twice = [("a", "k", 1.0, 100), ("a2", "k", 1.0, 100)]
got = [t and t[0] for t in bvo.pair_layers(twice, [("A1", "Conv", 1, 100), ("A2", "Conv", 1, 100)])]
check("equal FLOP counts pair in order, each node once", got == ["A1", "A2"], str(got))
got = [t and t[0] for t in bvo.pair_layers([("z", "k", 1.0, 0)], [("Z", "Conv", 1, 0)])]
check("an unknown FLOP count (0) pairs with nothing", got == [None], str(got))

prof = {"layers": [{"node": "c", "op": "FusedConv", "kernel": "K", "ms": 0.5, "flops": 8},
                   {"node": "r", "op": "Relu", "kernel": "R", "ms": 0.1},
                   {"node": "g", "op": "Gemm", "kernel": "G", "ms": 0.2, "flops": 4}]}
got = bvo.profiled_layers(prof, "test", "kernel")
check("profiled_layers keeps convolutions and products", got == [("c", "K", 0.5, 8), ("g", "G", 0.2, 4)], str(got))
try:
    bvo.profiled_layers({"variants": []}, "test", "kernel")
    check("a profile without layers is refused", False)
except bvo.BenchError as e:
    check("a profile without layers is refused", "per-layer" in str(e), str(e))

d = workdir("bench_layers")
model = os.path.join(d, "resnet18.onnx")
rc, out, err = run_onnxc(["export", "--model", "resnet18", "--batch", "1", "-o", model])
check("export resnet18", rc == 0, err.strip()[:200])
script = os.path.join(HERE, "..", "..", "tools", "bench", "bench_vs_ort.py")
js = os.path.join(d, "layers.json")
p = subprocess.run([sys.executable, script, "--layers", "--no-ort", "--onnxc", os.environ["ONNXC"], "--models", model,
                    "--batches", "1", "--threads", "1", "--runs", "1", "--warmup", "0", "--rounds", "1",
                    "--cache", d, "--json", js], capture_output=True, text=True, timeout=600)
check("--layers --no-ort exit 0", p.returncode == 0, (p.stderr or p.stdout).strip()[-300:])
if p.returncode == 0:
    doc = json.load(open(js))
    layers = doc["layers"][0]["onnxc"]
    check("21 layers (20 Conv, 1 Gemm) in the table", len(layers) == 21, str(len(layers)))
    check("the first is conv1 with 2 x 118013952 FLOPs (64 x 112 x 112 x 3 x 7 x 7 multiply-adds)",
          layers and layers[0][3] == 2 * 118013952, str(layers[:1]))
    check("the last is the Gemm with 2 x 512 x 1000 FLOPs", layers and layers[-1][3] == 2 * 512 * 1000,
          str(layers[-1:]))
    check("the table names ORT as not run", "ONNX Runtime not run: --no-ort" in p.stdout, p.stdout[-200:])
sys.exit(0 if ok else 1)
