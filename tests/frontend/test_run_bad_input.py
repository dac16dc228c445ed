"""`onnxc run` on bad inputs: wrong shape, dtype or count, a missing
input, an unknown input name, a file that is not an image, an image too
large to decode or to resize or above --max-image-pixels, a truncated .npy, an unsupported op: exit 1 with one clear line naming what is wrong
and no output file left behind. A NaN input propagates (exit 0). Real
images (PNG written by numpy+zlib here) go through decode + resize."""
import os
import shutil
import struct
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, run_onnxc, workdir

onnx = require("onnx")
np = require("numpy")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

d = workdir("run_bad_input")


def save_model(name, nodes, inputs, outputs):
    m = helper.make_model(helper.make_graph(nodes, "g", inputs, outputs), opset_imports=[helper.make_opsetid("", 13)])
    path = os.path.join(d, name)
    onnx.save(m, path)
    return path


vi = helper.make_tensor_value_info
sig = save_model("sigmoid.onnx", [helper.make_node("Sigmoid", ["x"], ["y"], name="sig")],
                 [vi("x", TensorProto.FLOAT, [3, 4])], [vi("y", TensorProto.FLOAT, [3, 4])])
add = save_model("add.onnx", [helper.make_node("Add", ["a", "b"], ["c"], name="add")],
                 [vi("a", TensorProto.FLOAT, [2]), vi("b", TensorProto.FLOAT, [2])], [vi("c", TensorProto.FLOAT, [2])])
unsup = save_model("unsup.onnx", [helper.make_node("NoSuchOp", ["x"], ["y"], name="mystery")],
                   [vi("x", TensorProto.FLOAT, [3, 4])], [vi("y", TensorProto.FLOAT, [3, 4])])
img224 = save_model("img224.onnx", [helper.make_node("GlobalAveragePool", ["x"], ["y"], name="gap")],
                    [vi("x", TensorProto.FLOAT, [1, 3, 224, 224])], [vi("y", TensorProto.FLOAT, [1, 3, 1, 1])])
img_model = save_model("img.onnx", [helper.make_node("GlobalAveragePool", ["x"], ["y"], name="gap")],
                       [vi("x", TensorProto.FLOAT, [1, 3, 8, 8])], [vi("y", TensorProto.FLOAT, [1, 3, 1, 1])])


def npy(name, arr):
    p = os.path.join(d, name)
    np.save(p, arr)
    return p


def png(name, rgb):
    h, w, _ = rgb.shape
    raw = b"".join(b"\0" + rgb[y].tobytes() for y in range(h))
    chunk = lambda t, data: struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data))
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    p = os.path.join(d, name)
    with open(p, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + body)
    return p


good = npy("good.npy", np.ones((3, 4), np.float32))
with open(good, "rb") as f:
    raw = f.read()
trunc = os.path.join(d, "trunc.npy")
with open(trunc, "wb") as f:
    f.write(raw[:-7])
notimg = os.path.join(d, "fake.png")
with open(notimg, "wb") as f:
    f.write(b"this is not a png at all" * 10)

cases = [
    ("wrong shape", [sig, "-i", npy("shape.npy", np.ones((2, 3), np.float32))], ["'x'", "[3,4]", "[2,3]"]),
    ("wrong dtype", [sig, "-i", npy("dtype.npy", np.ones((3, 4), np.int64))], ["'x'", "float32", "int64"]),
    ("too many inputs", [sig, "-i", good, "-i", good], ["2 inputs", "takes 1"]),
    ("missing input", [add, "-i", "a=" + npy("a.npy", np.ones(2, np.float32))], ["'b'", "not given"]),
    ("unknown name", [sig, "-i", "nope=" + good], ["no input named 'nope'"]),
    ("not an image", [img_model, "-i", notimg], ["fake.png", "not a readable image"]),
    # image headers are untrusted: a side above 16384 is refused before decoding
    ("image too wide", [img_model, "-i", png("wide.png", np.zeros((1, 20000, 3), np.uint8))],
     ["wide.png", "20000x1", "16384"]),
    # --max-image-pixels: refused from the header, before decoding
    ("image over limit", [img_model, "-i", png("small.png", np.zeros((12, 16, 3), np.uint8)),
                          "--max-image-pixels", "100"], ["small.png", "16x12 = 192 pixels", "limit of 100"]),
    ("truncated npy", [sig, "-i", trunc], ["trunc.npy"]),
    ("unsupported op", [unsup, "-i", good], ["mystery", "NoSuchOp"]),
    ("bad flag value", [sig, "-i", good, "--threads", "lots"], ["--threads"]),
]
ok = True
for label, args, words in cases:
    outdir = os.path.join(d, "out_" + label.replace(" ", "_"))
    shutil.rmtree(outdir, ignore_errors=True)  # files left by an earlier run are not this run's
    rc, out, err = run_onnxc(["run"] + args + ["-o", outdir])
    lines = [l for l in err.splitlines() if l.strip()]
    left = os.listdir(outdir) if os.path.isdir(outdir) else []
    good_case = rc in (1, 2) and len(lines) == 1 and all(w in lines[0] for w in words) and not left
    print(f"{'ok  ' if good_case else 'FAIL'} {label:16s} exit {rc}: {lines[0] if lines else '(no message)'}"
          + (f"  files left: {left}" if left else ""))
    ok &= good_case

# a thin strip whose center-crop resize would once be materialized as
# 4194304x256 pixels (3 GB): the resampler computes only the crop window,
# so it runs in bounded memory and succeeds with a finite output
outdir = os.path.join(d, "out_strip")
shutil.rmtree(outdir, ignore_errors=True)
rc, out, err = run_onnxc(["run", img224, "-i", png("strip.png", np.full((1, 16384, 3), 200, np.uint8)),
                          "-o", outdir, "--top", "0"])
ys = [f for f in os.listdir(outdir)] if rc == 0 and os.path.isdir(outdir) else []
ys_ok = rc == 0 and len(ys) == 1 and np.isfinite(np.load(os.path.join(outdir, ys[0]))).all()
print(f"{'ok  ' if ys_ok else 'FAIL'} image thin strip exit {rc}: 16384x1 image, crop window only {err.strip()[:200]}")
ok &= bool(ys_ok)

# NaN propagates through the model and the run succeeds
nan_in = np.ones((3, 4), np.float32)
nan_in[1, 2] = np.nan
outdir = os.path.join(d, "out_nan")
rc, out, err = run_onnxc(["run", sig, "-i", npy("nan.npy", nan_in), "-o", outdir])
y = np.load(os.path.join(outdir, "y.npy")) if rc == 0 else None
good_case = rc == 0 and np.isnan(y[1, 2]) and np.isfinite(y).sum() == 11
print(f"{'ok  ' if good_case else 'FAIL'} NaN propagates   exit {rc} {err.strip()}")
ok &= bool(good_case)

# an image: a vertical gradient PNG, 16x12, resized straight (no crop) to
# 8x8, ImageNet-normalized; the global average per channel is checked
# against numpy's mean of the same normalized image resized by averaging
rgb = np.zeros((12, 16, 3), np.uint8)
rgb[..., 0] = 200
rgb[..., 1] = np.linspace(0, 255, 12, dtype=np.uint8)[:, None]
rgb[..., 2] = 50
outdir = os.path.join(d, "out_img")
rc, out, err = run_onnxc(["run", img_model, "-i", png("grad.png", rgb), "--no-crop", "-o", outdir])
if rc == 0:
    y = np.load(os.path.join(outdir, "y.npy")).reshape(3)
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    want = ((rgb.reshape(-1, 3).mean(0) / 255.0) - mean) / std
    diff = float(np.abs(y - want).max())
    good_case = diff < 0.02  # resampling filters differ slightly from a plain mean
    print(f"{'ok  ' if good_case else 'FAIL'} image input     channel means {np.round(y, 3)} vs {np.round(want, 3)} (diff {diff:.3g})")
else:
    good_case = False
    print(f"FAIL image input     exit {rc}: {err.strip()}")
ok &= bool(good_case)

# `onnxc grad` on bad training input: a model without parameters, labels
# outside the classes; exit 1, one line, nothing written
lin = save_model("linear.onnx", [helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)],
                 [vi("x", TensorProto.FLOAT, [3, 4])], [vi("y", TensorProto.FLOAT, [3, 5])])
m = onnx.load(lin)
m.graph.initializer.append(numpy_helper.from_array(np.ones((5, 4), np.float32), "w"))
onnx.save(m, lin)
xs = npy("gx.npy", np.ones((3, 4), np.float32))
for label, model, labels, words in [
        ("no parameters", sig, npy("gy.npy", np.zeros(3, np.int64)), ["no trainable parameters"]),
        ("label range", lin, npy("gy_bad.npy", np.array([0, 4, 7], np.int64)), ["label 7", "[0, 5)"])]:
    outdir = os.path.join(d, "grad_" + label.replace(" ", "_"))
    rc, out, err = run_onnxc(["grad", model, "-i", xs, "--labels", labels, "-o", outdir])
    lines = [l for l in err.splitlines() if l.strip()]
    left = os.listdir(outdir) if os.path.isdir(outdir) else []
    good_case = rc == 1 and len(lines) == 1 and all(w in lines[0] for w in words) and not left
    print(f"{'ok  ' if good_case else 'FAIL'} grad {label:11s} exit {rc}: {lines[0] if lines else '(no message)'}")
    ok &= good_case
sys.exit(0 if ok else 1)
