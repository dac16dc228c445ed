"""Helpers for the code generator's tests: compile a model with
`onnxc compile`, build the generated folder with make against onnxc's build
tree (default mode) or alone (--portable), and run its harness.

The build tree is the folder of the onnxc binary (ONNXC); ONNXC_CG_CFLAGS
adds compiler flags (the ASan build passes its sanitizer flags so the
generated code links with its instrumented runtime)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import onnxc_binary  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
WARN = "-Wall -Wextra -Werror"


def runtime_flags():
    build = os.path.abspath(os.environ.get("ONNXC_BUILD") or os.path.dirname(onnxc_binary()))
    libs = subprocess.run(["pkg-config", "--libs", "openblas", "stb", "zlib"], capture_output=True,
                          text=True).stdout.strip()
    return f"-I{REPO}", f"{os.path.join(build, 'libonnxc_runtime.a')} {libs} -lpthread -lm"


def compile_model(model, out, *extra):
    args = [onnxc_binary(), "compile", model, "-o", out] + list(extra)
    p = subprocess.run(args, capture_output=True, text=True, timeout=600)
    if p.returncode:
        raise AssertionError(f"onnxc compile {model} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


def build(out, portable=False, opt="-O2", cc=None):
    extra = os.environ.get("ONNXC_CG_CFLAGS", "")
    std = "-std=c99 -pedantic" if portable else "-std=c11"
    args = ["make", "-s", "-C", out, f"CFLAGS={std} {opt} {WARN} {extra}"]
    if extra:
        args.append(f"LDFLAGS={extra}")
    if cc:
        args.append(f"CC={cc}")
    if not portable:
        inc, libs = runtime_flags()
        args += [f"ONNXC_CFLAGS={inc}", f"ONNXC_LIBS={libs}"]
    subprocess.run(["make", "-s", "-C", out, "clean"], capture_output=True)
    p = subprocess.run(args, capture_output=True, text=True, timeout=1200)
    if p.returncode:
        raise AssertionError(f"building {out} failed:\n{(p.stdout + p.stderr)[-3000:]}")


def run_harness(out, name, inputs, res_dir, weights=None):
    """(exit code, stdout, stderr) of DIR/NAME_run."""
    cmd = [os.path.join(out, f"{name}_run")]
    for i in inputs:
        cmd += ["-i", i]
    cmd += ["-o", res_dir]
    if weights:
        cmd += ["-w", weights]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr
