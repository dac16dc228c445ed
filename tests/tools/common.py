"""Shared helpers for onnxc's Python-driven tests (reference side only:
PyTorch/ONNX make the expected values; onnxc itself never needs Python)."""
import json
import os
import subprocess
import sys

SKIP = 77  # CTest SKIP_RETURN_CODE: a skip is reported as skipped, never passed


def onnxc_binary():
    exe = os.environ.get("ONNXC")
    if not exe or not os.path.exists(exe):
        sys.exit("ONNXC environment variable must name the onnxc binary")
    return exe


def run_onnxc(args, timeout=600):
    """Runs onnxc; returns (exit code, stdout, stderr)."""
    p = subprocess.run([onnxc_binary()] + list(args), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def run_npy(path, feeds, d):
    """`onnxc run path` with each feed (name -> numpy array) saved as
    d/in_<name>.npy; returns (exit code, stderr, output folder d/out)."""
    import numpy as np
    os.makedirs(d, exist_ok=True)
    specs = []
    for k, v in feeds.items():
        p = os.path.join(d, f"in_{k}.npy")
        np.save(p, v)
        specs += ["-i", f"{k}={p}"]
    out = os.path.join(d, "out")
    rc, so, se = run_onnxc(["run", path, *specs, "-o", out, "--top", "0"])
    return rc, se, out


def compare_npy_outputs(name, got_dir, ref, what, tol):
    """Each reference output o (name -> array) against got_dir/o.npy: same
    shape, finite, max abs diff <= tol; prints one line per output and
    returns the problems, each prefixed with name."""
    import numpy as np
    problems = []
    for o, r in ref.items():
        f = os.path.join(got_dir, f"{o}.npy")
        if not os.path.exists(f):
            problems.append(f"{o}: no {o}.npy written")
            continue
        a = np.load(f)
        if a.shape != r.shape:
            problems.append(f"{o}: shape {list(a.shape)} vs {what} {list(r.shape)}")
            continue
        diff = float(np.max(np.abs(a.astype(np.float64) - r.astype(np.float64)))) if a.size else 0.0
        ok = bool(np.isfinite(a).all()) and diff <= tol
        scale = float(np.max(np.abs(r))) if r.size else 0.0
        print(f"  {name}: {o} {list(a.shape)} max|{what}|={scale:.4g} "
              f"max abs diff vs {what} = {diff:.3e} -> {'ok' if ok else 'FAIL'}")
        if not ok:
            problems.append(f"{o}: max abs diff {diff:.3e} > {tol:g}")
    return [f"{name}: {p}" for p in problems]


def refusal_problem(label, rc, se, words):
    """A refused input's check: exit 1, words in stderr, no sanitizer
    report. Prints one line; returns the problem, or None when refused as
    expected."""
    last = se.strip().splitlines()[-1] if se.strip() else ""
    ok = rc == 1 and words in se and "Sanitizer" not in se
    print(f"  refused {label}: rc={rc} {last!r} -> {'ok' if ok else 'FAIL'}")
    return None if ok else f"refused {label}: expected exit 1 with {words!r}, got {rc}: {se}"


def info_json(path, *extra):
    rc, out, err = run_onnxc(["info", path, "--json", *extra])
    if rc != 0:
        raise AssertionError(f"onnxc info {path} failed ({rc}): {err.strip()}")
    return json.loads(out)


def require(module):
    """Imports a reference module or exits with SKIP and the reason."""
    try:
        return __import__(module)
    except ImportError as e:
        print(f"SKIP: reference module '{module}' is not available ({e}); "
              f"install Debian's python3-{module}")
        sys.exit(SKIP)


def workdir(name):
    d = os.path.join(os.environ.get("ONNXC_TEST_TMP", "/tmp/onnxc-tests"), name)
    os.makedirs(d, exist_ok=True)
    return d
