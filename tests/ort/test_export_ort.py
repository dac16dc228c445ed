"""onnxc's exported models run under ONNX Runtime (the reference runtime) with the
same outputs as under onnxc.

For each model: `onnxc export --batch 2`, a seeded random input .npy, then
`onnxc run` and tests/ort/run_ort.js (onnxruntime-node, CPU provider) on the same
file; every output must match within MAX_ABS_DIFF times the output's scale
(max |ORT output|, at least 1): the deep nets' logits reach the thousands
with random weights and eval-mode BatchNorm, where float32 itself only
resolves ~1e-4 absolute.

Reference side only: Node and onnxruntime-node are needed by this test, never by
onnxc. onnxruntime-node is installed (npm install --ignore-scripts) into this
test's work folder under the build tree; if node/npm are missing or the install
fails the test exits 77 (CTest skip) with the reason."""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from common import SKIP, info_json, require, run_onnxc, workdir  # noqa: E402

np = require("numpy")

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = ["mlp", "lenet5", "resnet18", "resnet34", "resnet50", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn"]
BATCH = 2
SEED = 1234
MAX_ABS_DIFF = 1e-4
NPM_TIMEOUT = 600


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def install_ort(wd):
    """npm-installs tests/ort/package.json into wd; returns its node_modules."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        skip("node and npm are needed for the ONNX Runtime reference "
             f"(node={node}, npm={npm}); install Debian's nodejs and npm")
    shutil.copyfile(os.path.join(HERE, "package.json"), os.path.join(wd, "package.json"))
    t0 = time.monotonic()
    try:
        p = subprocess.run([npm, "install", "--ignore-scripts", "--no-audit", "--no-fund"],
                           cwd=wd, capture_output=True, text=True, timeout=NPM_TIMEOUT)
    except subprocess.TimeoutExpired:
        skip(f"npm install of onnxruntime-node timed out after {NPM_TIMEOUT} s")
    dt = time.monotonic() - t0
    if p.returncode != 0:
        tail = "\n".join((p.stdout + p.stderr).strip().splitlines()[-15:])
        skip(f"npm install of onnxruntime-node failed ({p.returncode}) after {dt:.1f} s:\n{tail}")
    print(f"npm install (onnxruntime-node) took {dt:.1f} s in {wd}")
    modules = os.path.join(wd, "node_modules")
    # The package must load here (its prebuilt CPU binary must fit this platform).
    p = subprocess.run([node, "-e",
                        "const o=require(require('path').join(process.argv[1],'onnxruntime-node'));"
                        "console.log(JSON.stringify(o.env.versions))", modules],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        skip(f"onnxruntime-node does not load on this machine: {p.stderr.strip()[-800:]}")
    print(f"onnxruntime-node versions: {p.stdout.strip()}")
    return node, modules


def make_input(info, path, seed):
    ins = info["inputs"]
    if len(ins) != 1:
        raise AssertionError(f"expected one model input, got {[i['name'] for i in ins]}")
    spec = ins[0]
    shape = spec["shape"]
    if not all(isinstance(d, int) and d > 0 for d in shape):
        raise AssertionError(f"input '{spec['name']}' has a non-static shape {shape}")
    rng = np.random.default_rng(seed)
    if spec["dtype"] == "float32":
        x = rng.standard_normal(shape).astype(np.float32)
    elif spec["dtype"] == "int64":
        x = rng.integers(0, 10, size=shape, dtype=np.int64)
    else:
        raise AssertionError(f"unsupported input dtype {spec['dtype']}")
    np.save(path, x)
    return spec["name"]


def npy_files(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".npy")) if os.path.isdir(d) else []


def check_model(name, node, modules, wd):
    md = os.path.join(wd, name)
    shutil.rmtree(md, ignore_errors=True)
    os.makedirs(md)
    model = os.path.join(md, f"{name}.onnx")
    rc, out, err = run_onnxc(["export", "--model", name, "-o", model,
                              "--batch", str(BATCH), "--seed", "1"])
    if rc != 0:
        return f"{name}: onnxc export failed ({rc}): {err.strip()}"
    info = info_json(model)
    x = os.path.join(md, "x.npy")
    in_name = make_input(info, x, SEED)

    oc_dir, ort_dir = os.path.join(md, "onnxc"), os.path.join(md, "ort")
    t0 = time.monotonic()
    rc, out, err = run_onnxc(["run", model, "-i", f"{in_name}={x}", "-o", oc_dir, "--top", "0"])
    t_oc = time.monotonic() - t0
    if rc != 0:
        return f"{name}: onnxc run failed ({rc}): {err.strip()}"
    env = dict(os.environ, ORT_NODE_MODULES=modules)
    t0 = time.monotonic()
    p = subprocess.run([node, os.path.join(HERE, "run_ort.js"), model, ort_dir, f"{in_name}={x}"],
                       capture_output=True, text=True, timeout=600, env=env)
    t_ort = time.monotonic() - t0
    if p.returncode != 0:
        return f"{name}: ONNX Runtime failed on onnxc's export ({p.returncode}): {p.stderr.strip()[-1500:]}"

    oc_files, ort_files = npy_files(oc_dir), npy_files(ort_dir)
    if not oc_files or oc_files != ort_files:
        return f"{name}: output files differ: onnxc {oc_files} vs ORT {ort_files}"
    worst = 0.0
    problems = []
    for f in oc_files:
        a, b = np.load(os.path.join(oc_dir, f)), np.load(os.path.join(ort_dir, f))
        if a.shape != b.shape or a.dtype != b.dtype:
            problems.append(f"{f}: onnxc {a.dtype}{list(a.shape)} vs ORT {b.dtype}{list(b.shape)}")
            continue
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            problems.append(f"{f}: non-finite values (onnxc {np.isfinite(a).all()}, ORT {np.isfinite(b).all()})")
            continue
        d = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0
        scale = float(np.max(np.abs(b))) if b.size else 0.0
        print(f"  {name}: {f[:-4]} {a.dtype}{list(a.shape)} max|ref|={scale:.4g} max abs diff={d:.3e}")
        worst = max(worst, d)
        if d > MAX_ABS_DIFF * max(1.0, scale):
            problems.append(f"{f}: max abs diff {d:.3e} > {MAX_ABS_DIFF:g} x {max(1.0, scale):.4g}")
    print(f"{name}: max abs diff {worst:.3e} (onnxc {t_oc:.1f} s, ORT {t_ort:.1f} s)"
          f" -> {'ok' if not problems else 'FAIL'}")
    sys.stdout.flush()
    return f"{name}: " + "; ".join(problems) if problems else None


def main():
    models = sys.argv[1:] or MODELS
    wd = workdir("ort_export")
    node, modules = install_ort(wd)
    failures = [r for r in (check_model(m, node, modules, wd) for m in models) if r]
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"all {len(models)} models match ONNX Runtime within {MAX_ABS_DIFF:g} x output scale")


if __name__ == "__main__":
    main()
