"""onnxc bench as scripts use it (no timing is asserted: speed is measured
in tools/bench, never in tests). Checks the --json contract the issue
fixes (keys, one object on stdout), that --compare fused,unfused really
builds two different plans (the unfused one runs every BatchNormalization
and activation as its own step), that --profile names a kernel from the
kernel table for every step, that --kernel ref swaps in the reference
kernels, and that bad flags are refused with exit 2."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from common import run_onnxc, workdir  # noqa: E402

d = workdir("bench_cli")
model = os.path.join(d, "resnet18.onnx")
rc, out, err = run_onnxc(["export", "--model", "resnet18", "--batch", "1", "-o", model])
assert rc == 0, err
ok = True


def check(label, cond, detail=""):
    global ok
    print(f"{'ok  ' if cond else 'FAIL'} {label} {detail}")
    ok &= bool(cond)


rc, out, err = run_onnxc(["bench", model, "--runs", "2", "--warmup", "1", "--threads", "2",
                          "--compare", "fused,unfused", "--profile", "--json"])
check("bench --json exit 0", rc == 0, err.strip()[:300])
j = json.loads(out) if rc == 0 else {}
keys = {"model", "batch", "threads", "isa", "runs", "load_ms", "variants", "layers"}
check("top-level keys", keys <= set(j), sorted(set(j)))
vs = j.get("variants", [])
check("two variants named fused, unfused", [v.get("name") for v in vs] == ["fused", "unfused"])
vkeys = {"name", "median_ms", "min_ms", "images_per_s", "arena_bytes", "weight_bytes"}
check("variant keys", all(vkeys <= set(v) for v in vs))
check("batch 1, threads 2, runs 2", (j.get("batch"), j.get("threads"), j.get("runs")) == (1, 2, 2))
check("isa named", j.get("isa") in ("avx512", "avx2", "generic"), j.get("isa"))
if len(vs) == 2:
    check("unfused plan has more steps (BN, Relu, Add on their own)", vs[1]["steps"] > vs[0]["steps"],
          f"{vs[0]['steps']} fused vs {vs[1]['steps']} unfused")
layers = j.get("layers", [])
check("profile lists every fused step", len(layers) == (vs[0]["steps"] if vs else -1), len(layers))
check("every step names a kernel oc_*", all(l.get("kernel", "").startswith("oc_") for l in layers))
check("convs fused (FusedConv steps present)", any(l.get("op") == "FusedConv" for l in layers))
check("GFLOP/s reported for conv steps", all(l.get("gflops", 0) > 0 for l in layers if l.get("op") == "FusedConv"))
if len(vs) == 2:
    # every variant is profiled (same timing overhead on both sides): the
    # unfused profile names the steps fusion removes
    check("fused variant carries the top-level layers", vs[0].get("layers") == layers)
    ul = vs[1].get("layers", [])
    check("profile lists every unfused step", len(ul) == vs[1]["steps"], f"{len(ul)} of {vs[1]['steps']}")
    uops = {l.get("op") for l in ul}
    check("unfused profile has BatchNormalization and Relu steps, no FusedConv",
          {"BatchNormalization", "Relu"} <= uops and "FusedConv" not in uops, sorted(uops))

rc, out, err = run_onnxc(["bench", "--model", "lenet5", "--batch", "2", "--runs", "1", "--warmup", "0",
                          "--kernel", "ref", "--profile", "--json"])
j = json.loads(out) if rc == 0 else {}
kernels = {l["kernel"] for l in j.get("layers", [])}
check("--kernel ref runs the reference convolution", rc == 0 and any("oc_conv_ref" in k for k in kernels),
      sorted(kernels)[:6])

for args, what in [(["--runs", "0"], "--runs 0"), (["--compare", "fast"], "--compare fast"),
                   (["--kernel", "quick"], "--kernel quick"), (["--threads", "x"], "--threads x")]:
    rc, out, err = run_onnxc(["bench", model] + args)
    check(f"bad flag {what} exits 2 with a message", rc == 2 and err.strip() != "", err.strip()[:120])

print("bench CLI:", "all checks passed" if ok else "FAILED")
sys.exit(0 if ok else 1)
