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
