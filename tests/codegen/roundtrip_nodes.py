"""Round trip of ONNX backend node cases through `onnxc compile`: for every
case the runtime passes (not in tests/conformance/known_failures.txt),
compile it (inputs that define a shape compiled in from test_data_set_0, as
`onnxc check` does), build the generated C with -Wall -Wextra -Werror, run
the harness on each data set's inputs and compare its .pb outputs with the
case's reference outputs (rtol 1e-3, atol 1e-5, as onnxc check).

Prints how many cases round-trip and names every one that does not, with
the reason. In --portable mode a case whose ops portable mode refuses
(onnxc compile names the node and op) is counted as "refused", not failed.

usage: roundtrip_nodes.py SUITE_DIR [--portable] [--sample N] [--jobs J]
                          [--min PASS] [--strict] [--work DIR]
--sample N takes N cases evenly spread over the sorted list (CI); --min
fails the run when fewer cases round-trip; --strict fails it when any case
fails for a reason other than a portable refusal or a listed known
difference (tests/codegen/known_roundtrip.txt, "case  reason" per line)."""
import argparse
import concurrent.futures as cf
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import SKIP, onnxc_binary, require  # noqa: E402

np = require("numpy")
onnx = require("onnx")
from onnx import numpy_helper  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


def known_patterns():
    pats = []
    with open(os.path.join(REPO, "tests", "conformance", "known_failures.txt")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                pats.append(line.split()[0])
    return pats


def known_roundtrip():
    """Cases the runtime passes that do not round-trip yet, with the reason."""
    path = os.path.join(HERE, "known_roundtrip.txt")
    out = {}
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, why = line.partition(" ")
                out[name] = why.strip()
    return out


def is_known(name, pats):
    return any(name.startswith(p[:-1]) if p.endswith("*") else name == p for p in pats)


def runtime_flags():
    """How generated default-mode code compiles against onnxc: the build
    tree (ONNXC_BUILD, the folder holding libonnxc_runtime.a)."""
    build = os.path.abspath(os.environ.get("ONNXC_BUILD") or os.path.dirname(onnxc_binary()))
    lib = os.path.join(build, "libonnxc_runtime.a")
    libs = subprocess.run(["pkg-config", "--libs", "openblas", "stb", "zlib"], capture_output=True,
                          text=True).stdout.strip()
    return f"-I{REPO}", f"{lib} {libs} -lpthread -lm"


def compare(got, want, rtol=1e-3, atol=1e-5):
    if got.dtype != want.dtype:
        return f"dtype {got.dtype}, expected {want.dtype}"
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    if got.dtype.kind in "fc":
        g, w = got.astype(np.float64), want.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            both_nan = np.isnan(g) & np.isnan(w)
            ok = both_nan | (g == w) | (np.abs(g - w) <= atol + rtol * np.abs(w))
            if not ok.all():
                return f"max abs diff {np.nanmax(np.abs(g - w)[~both_nan]):.3g}"
        return None
    if not np.array_equal(got, want):
        return "values differ"
    return None


def first_line(s):
    """The first compiler error line, else the last line."""
    lines = s.strip().splitlines()
    errs = [l for l in lines if "error" in l and not l.startswith("make")]
    return (errs[0] if errs else lines[-1] if lines else "")[:300]


def compile_case(case, out, portable, mode_flags):
    cmd = [onnxc_binary(), "compile", os.path.join(case, "model.onnx"), "-o", out, "--bake-from",
           os.path.join(case, "test_data_set_0")] + (["--portable"] if portable else [])
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        msg = first_line(p.stderr)
        if portable and "--portable cannot emit" in msg:
            return "refused", msg
        return "compile", msg
    fed = [int(l.split()[1]) for l in p.stdout.splitlines() if l.startswith("input ") and "compiled in" not in l]
    extra = os.environ.get("ONNXC_CG_CFLAGS", "")  # the sanitizer build's flags, as cg_common.build
    cflags = "-O1 -Wall -Wextra -Werror " + ("-std=c99 -pedantic" if portable else "-std=c11") + (" " + extra if extra else "")
    args = ["make", "-s", "-C", out, f"CFLAGS={cflags}"] + ([f"LDFLAGS={extra}"] if extra else [])
    if not portable:
        args += [f"ONNXC_CFLAGS={mode_flags[0]}", f"ONNXC_LIBS={mode_flags[1]}"]
    b = subprocess.run(args, capture_output=True, text=True, timeout=600)
    if b.returncode != 0:
        return "build", first_line(b.stdout + b.stderr)
    return "ok", fed


def optional_inputs(case):
    """Input positions the model declares optional(tensor): their test data
    are OptionalProtos, and the harness reads tensors."""
    m = onnx.load(os.path.join(case, "model.onnx"), load_external_data=False)
    inits = {t.name for t in m.graph.initializer}
    ins = [i for i in m.graph.input if i.name not in inits]
    return {k for k, i in enumerate(ins) if i.type.WhichOneof("value") == "optional_type"}


def harness_input(sd, k, optional, out):
    """The file the harness reads for input k: the data set's, or for an
    optional input the tensor its OptionalProto holds, written beside."""
    path = os.path.join(sd, f"input_{k}.pb")
    if k not in optional:
        return path
    o = onnx.OptionalProto()
    with open(path, "rb") as f:
        o.ParseFromString(f.read())
    unwrapped = os.path.join(out, f"{os.path.basename(sd)}_input_{k}.pb")
    with open(unwrapped, "wb") as f:
        f.write(o.tensor_value.SerializeToString())
    return unwrapped


def run_case(case, out, fed):
    sets = sorted(d for d in os.listdir(case) if d.startswith("test_data_set_"))
    optional = optional_inputs(case)
    base = None
    for s in sets:
        sd = os.path.join(case, s)
        ins = sorted(f for f in os.listdir(sd) if f.startswith("input_"))
        if base is None:
            base = {f: open(os.path.join(sd, f), "rb").read() for f in ins}
        else:  # other data sets must agree on the compiled-in inputs
            baked = [f"input_{k}.pb" for k in range(len(ins)) if k not in fed]
            if any(open(os.path.join(sd, f), "rb").read() != base.get(f) for f in baked):
                continue
        res = os.path.join(out, "out_" + s)
        shutil.rmtree(res, ignore_errors=True)
        cmd = [os.path.join(out, "model_run")] + sum((["-i", harness_input(sd, k, optional, out)] for k in fed), [])
        cmd += ["-o", res, "-w", os.path.join(out, "model.weights")]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            return f"{s}: harness exit {p.returncode}: {first_line(p.stderr)}"
        wrote = [l[len("wrote "):] for l in p.stdout.splitlines() if l.startswith("wrote ")]
        outs = sorted((f for f in os.listdir(sd) if f.startswith("output_")), key=lambda f: int(f[7:-3]))
        for k, f in enumerate(outs):
            if k >= len(wrote):
                return f"{s}: output {k} missing"
            want = numpy_helper.to_array(onnx.load_tensor(os.path.join(sd, f)))
            got = numpy_helper.to_array(onnx.load_tensor(wrote[k]))
            why = compare(got, want)
            if why:
                return f"{s}: output {k}: {why}"
    return None


def one(case, work, portable, flags):
    name = os.path.basename(case)
    out = os.path.join(work, name)
    shutil.rmtree(out, ignore_errors=True)
    try:
        st, info = compile_case(case, out, portable, flags)
        if st != "ok":
            return name, st, info
        why = run_case(case, out, info)
        return name, ("pass" if why is None else "mismatch"), why
    except subprocess.TimeoutExpired as e:
        return name, "timeout", str(e)[:200]
    finally:
        if os.path.isdir(out) and not os.environ.get("ONNXC_KEEP"):
            shutil.rmtree(out, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("suite")
    ap.add_argument("--portable", action="store_true")
    ap.add_argument("--sample", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--min", type=int, default=0)
    ap.add_argument("--strict", action="store_true")
    ap.add_argument("--work", default=None)
    a = ap.parse_args()
    if not os.path.isdir(a.suite):
        print(f"SKIP: suite folder {a.suite} is not there")
        sys.exit(SKIP)
    pats = known_patterns()
    cases = sorted(d for d in os.listdir(a.suite)
                   if os.path.isfile(os.path.join(a.suite, d, "model.onnx")) and not is_known(d, pats))
    total_runtime = len(cases)
    if a.sample and a.sample < len(cases):
        step = len(cases) / a.sample
        cases = [cases[int(i * step)] for i in range(a.sample)]
    work = a.work or os.path.join(os.environ.get("ONNXC_TEST_TMP", "/tmp"),
                                  "roundtrip-" + ("portable" if a.portable else "default"))
    os.makedirs(work, exist_ok=True)
    flags = runtime_flags()
    t0 = time.time()
    results = []
    with cf.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        for r in ex.map(lambda c: one(os.path.join(a.suite, c), work, a.portable, flags), cases):
            results.append(r)
    mode = "portable" if a.portable else "default"
    by = {}
    for name, st, why in results:
        by.setdefault(st, []).append((name, why))
    for st in sorted(by):
        if st == "pass":
            continue
        for name, why in by[st]:
            print(f"{st.upper()}: {name}: {why}")
    npass = len(by.get("pass", []))
    print(f"{mode}: {npass} of {len(cases)} cases round-trip ({total_runtime} cases the runtime passes; "
          + ", ".join(f"{len(v)} {k}" for k, v in sorted(by.items()) if k != "pass")
          + f") in {time.time() - t0:.0f} s")
    listed = known_roundtrip()
    bad = [r for r in results if r[1] not in ("pass", "refused") and r[0] not in listed]
    for name, st, why in results:
        if name in listed and st not in ("pass", "refused"):
            print(f"known: {name}: {listed[name]}")
    if npass < a.min or (a.strict and bad):
        print(f"bar: at least {a.min} cases round-trip; {len(bad)} unexpected failures "
              f"(other than portable refusals and known_roundtrip.txt)")
        sys.exit(1)


main()
