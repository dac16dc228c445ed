"""The slice pass on a small expand -> depthwise -> project chain (batch
3, not a multiple of 2 threads) whose first conv's weight is a graph input
fed at run time, so it is no constant: only X, the residual and Y may be
cut into images, never W. The project conv adds the chain's input as a
residual (the pass fuses Conv + Add). onnxc runs it on 1 and 2 threads
and with --no-pass slice; every output must match PyTorch within 1e-5
and the runs must agree bit for bit."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, run_onnxc, workdir

onnx = require("onnx")
torch = require("torch")
np = require("numpy")
from onnx import TensorProto, helper, numpy_helper

N, C, E, H, W = 3, 8, 24, 9, 11
rng = np.random.RandomState(5)
x = rng.randn(N, C, H, W).astype(np.float32)
w1 = (rng.randn(E, C, 1, 1) * 0.3).astype(np.float32)   # fed at run time
w2 = (rng.randn(E, 1, 3, 3) * 0.3).astype(np.float32)   # depthwise
b2 = (rng.randn(E) * 0.1).astype(np.float32)
w3 = (rng.randn(C, E, 1, 1) * 0.3).astype(np.float32)

nodes = [
    helper.make_node("Conv", ["x", "w1"], ["e"], name="expand"),
    helper.make_node("Relu", ["e"], ["er"], name="relu1"),
    helper.make_node("Conv", ["er", "w2", "b2"], ["dw"], name="dw", group=E, pads=[1, 1, 1, 1], strides=[1, 1]),
    helper.make_node("Relu", ["dw"], ["dwr"], name="relu2"),
    helper.make_node("Conv", ["dwr", "w3"], ["p"], name="project"),
    helper.make_node("Add", ["p", "x"], ["y"], name="residual"),
]
graph = helper.make_graph(
    nodes, "slice_chain",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [N, C, H, W]),
     helper.make_tensor_value_info("w1", TensorProto.FLOAT, [E, C, 1, 1])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [N, C, H, W])],
    initializer=[numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(b2, "b2"),
                 numpy_helper.from_array(w3, "w3")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(model)
d = workdir("slice_chain")
path = os.path.join(d, "chain.onnx")
onnx.save(model, path)

F = torch.nn.functional
with torch.no_grad():
    t = torch.from_numpy
    e = F.relu(F.conv2d(t(x), t(w1)))
    dw = F.relu(F.conv2d(e, t(w2), t(b2), padding=1, groups=E))
    want = (F.conv2d(dw, t(w3)) + t(x)).numpy()

np.save(os.path.join(d, "x.npy"), x)
np.save(os.path.join(d, "w1.npy"), w1)
ok = True
got = {}
rc, so, se = run_onnxc(["info", path, "--passes"])
noted = rc == 0 and "3 convs from 'expand' run one image at a time (batch 3)" in so
print(f"info --passes notes the chain: {noted}")
ok &= noted
for tag, flags in (("1 thread", ["--threads", "1"]), ("2 threads", ["--threads", "2"]),
                   ("2 threads, --no-pass slice", ["--threads", "2", "--no-pass", "slice"])):
    out = os.path.join(d, tag.replace(" ", "_").replace(",", ""))
    rc, so, se = run_onnxc(["run", path, "-i", f"x={os.path.join(d, 'x.npy')}", "-i",
                            f"w1={os.path.join(d, 'w1.npy')}", "-o", out, "--top", "0"] + flags)
    if rc:
        print(f"{tag}: onnxc run failed ({rc}): {se.strip()}")
        ok = False
        continue
    y = np.load(os.path.join(out, "y.npy"))
    diff = float(np.max(np.abs(y - want)))
    good = y.shape == want.shape and diff <= 1e-5
    print(f"{tag}: max abs diff vs PyTorch {diff:.3g} (max |y| {float(np.max(np.abs(want))):.3g}) "
          f"{'ok' if good else 'FAIL'}")
    ok &= good
    got[tag] = y
same = len(got) == 3 and all(np.array_equal(got["1 thread"], v) for v in got.values())
print(f"all runs the same bits: {same}")
ok &= same
sys.exit(0 if ok else 1)
