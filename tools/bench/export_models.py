#!/usr/bin/python3
"""Exports the torchvision networks that tools/bench/bench_vs_ort.py compares
onnxc with ONNX Runtime on, as ONNX files in a cache folder.

Benchmark tool only (onnxc never needs Python). Run with Debian's Python
(/usr/bin/python3: torch 1.13, torchvision 0.14, onnx). Weights are random but
seeded (no download: the timings do not depend on the values), every model is in
eval mode, opset 13, with a dynamic batch axis on the input and the output.

  NAME.onnx     the default export: do_constant_folding=True, which also folds
                every BatchNormalization into the Conv before it (what a user
                usually has);
  NAME_bn.onnx  (resnet18, resnet50) training=TrainingMode.PRESERVE and
                do_constant_folding=False, so the BatchNormalization nodes stay
                in the graph (inference-mode BN); onnxc's own Conv+BN fusion is
                measured on these (`onnxc bench --compare fused,unfused`).

Each file is checked with onnx.checker, and the _bn files must still hold
BatchNormalization nodes while the default ones must not. A file already present
is kept (delete it to re-export).

usage: /usr/bin/python3 tools/bench/export_models.py [--cache DIR] [--models a,b,...]
"""
import argparse
import os
import sys
import tempfile

DEFAULT_MODELS = ["resnet18", "resnet50", "vgg11", "vgg16", "mobilenet_v2"]
BN_KEPT = ["resnet18", "resnet50"]
OPSET = 13
SEED = 0
IMAGE = 224  # input height and width (ImageNet size)


def repo_root():
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def import_refs():
    """Imports torch, torchvision and onnx, or exits with one line saying what is missing."""
    try:
        import onnx
        import torch
        import torchvision
    except ImportError as e:
        sys.exit(f"export_models.py: error: {e}; run with /usr/bin/python3 "
                 "(Debian's python3-torch, python3-torchvision, python3-onnx)")
    return torch, torchvision, onnx


def build(torchvision, torch, name):
    ctor = getattr(torchvision.models, name, None)
    if ctor is None:
        raise ValueError(f"torchvision {torchvision.__version__} has no model '{name}'")
    torch.manual_seed(SEED)
    model = ctor(weights=None)  # random init, seeded above; nothing downloaded
    model.eval()
    return model


def op_counts(onnx, path):
    m = onnx.load(path)
    counts = {}
    for n in m.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return m, counts


def export_one(torch, torchvision, onnx, name, path, keep_bn):
    model = build(torchvision, torch, name)
    x = torch.randn(1, 3, IMAGE, IMAGE)
    kwargs = dict(opset_version=OPSET, input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    if keep_bn:
        kwargs.update(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    else:
        kwargs.update(do_constant_folding=True)
    # Write to a temporary file in the same folder, check it, then rename: an
    # interrupted or rejected export never leaves a file that would be "skipped".
    fd, tmp = tempfile.mkstemp(suffix=".onnx.tmp", dir=os.path.dirname(path))
    os.close(fd)
    try:
        with torch.no_grad():
            torch.onnx.export(model, x, tmp, **kwargs)
        m, counts = op_counts(onnx, tmp)
        onnx.checker.check_model(m)
        nbn = counts.get("BatchNormalization", 0)
        has_bn = any(isinstance(mod, torch.nn.BatchNorm2d) for mod in model.modules())
        if keep_bn and nbn == 0:
            raise RuntimeError("the BN-kept export has no BatchNormalization node")
        if not keep_bn and nbn:
            raise RuntimeError(f"the default export still has {nbn} BatchNormalization nodes")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    ops = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    bn_note = f" (BatchNormalization kept: {nbn})" if keep_bn else (" (BN folded)" if has_bn else "")
    print(f"wrote {path}{bn_note}: {ops}")


def main():
    ap = argparse.ArgumentParser(description="export torchvision models (random seeded weights) to ONNX")
    ap.add_argument("--cache", default=os.path.join(repo_root(), "build", "bench-cache"),
                    help="folder for the .onnx files (default: build/bench-cache)")
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS),
                    help=f"comma-separated torchvision names (default: {','.join(DEFAULT_MODELS)})")
    ap.add_argument("--bn-kept", default=",".join(BN_KEPT),
                    help="models also exported with BatchNormalization kept as NAME_bn.onnx "
                    f"(default: {','.join(BN_KEPT)}; empty for none)")
    args = ap.parse_args()
    torch, torchvision, onnx = import_refs()
    os.makedirs(args.cache, exist_ok=True)
    jobs = [(m, False) for m in args.models.split(",") if m]
    jobs += [(m, True) for m in args.bn_kept.split(",") if m]
    failed = 0
    for name, keep_bn in jobs:
        path = os.path.join(args.cache, f"{name}_bn.onnx" if keep_bn else f"{name}.onnx")
        if os.path.exists(path):
            print(f"kept {path} (already present)")
            continue
        try:
            export_one(torch, torchvision, onnx, name, path, keep_bn)
        except Exception as e:  # one line per failed model, then go on with the rest
            failed += 1
            print(f"error: {os.path.basename(path)}: {type(e).__name__}: {e}", file=sys.stderr)
        sys.stdout.flush()
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
