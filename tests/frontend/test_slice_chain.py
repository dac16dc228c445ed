"""The slice pass on a small expand -> depthwise -> project chain (batch
3, not a multiple of 2 threads) whose first conv's weight is a graph input
fed at run time, so it is no constant: only X, the residual and Y may be
cut into images, never W. The project conv adds the chain's input as a
residual (the pass fuses Conv + Add). onnxc runs it on 1 and 2 threads
and with --no-pass slice; every output must match PyTorch within 1e-5
and the runs must agree bit for bit.

A second chain with every weight constant (batch 6, 28x28, 96 expanded
channels) runs the images split between 2 threads, each on its own slot
of the chain's own tensors, which the planner holds for one image per
thread (planner.c chain_slots), and on one thread with the c8 pairs
inside the chain (AVX2) and without: the same checks (the bits across
the runs without pairs), and its arena must be
smaller than the unsliced plan's; with --kernel ref (a conv kernel that
runs the whole batch) no chain is planned and the arena is the unsliced
one."""
import json
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

# ---- constant weights: the images split between the threads ----
N2, C2, E2, S2 = 6, 16, 96, 28
x2 = rng.randn(N2, C2, S2, S2).astype(np.float32)
v1 = (rng.randn(E2, C2, 1, 1) * 0.3).astype(np.float32)
v2 = (rng.randn(E2, 1, 3, 3) * 0.3).astype(np.float32)
c2 = (rng.randn(E2) * 0.1).astype(np.float32)
v3 = (rng.randn(C2, E2, 1, 1) * 0.3).astype(np.float32)
graph2 = helper.make_graph(
    [helper.make_node("Conv", ["x", "w1"], ["e"], name="expand"),
     helper.make_node("Relu", ["e"], ["er"], name="relu1"),
     helper.make_node("Conv", ["er", "w2", "b2"], ["dw"], name="dw", group=E2, pads=[1, 1, 1, 1]),
     helper.make_node("Relu", ["dw"], ["dwr"], name="relu2"),
     helper.make_node("Conv", ["dwr", "w3"], ["p"], name="project"),
     helper.make_node("Add", ["p", "x"], ["y"], name="residual")], "slice_chain_const",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [N2, C2, S2, S2])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [N2, C2, S2, S2])],
    initializer=[numpy_helper.from_array(v1, "w1"), numpy_helper.from_array(v2, "w2"),
                 numpy_helper.from_array(c2, "b2"), numpy_helper.from_array(v3, "w3")])
model2 = helper.make_model(graph2, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(model2)
path2 = os.path.join(d, "chain_const.onnx")
onnx.save(model2, path2)
with torch.no_grad():
    e = F.relu(F.conv2d(t(x2), t(v1)))
    dw = F.relu(F.conv2d(e, t(v2), t(c2), padding=1, groups=E2))
    want2 = (F.conv2d(dw, t(v3)) + t(x2)).numpy()
np.save(os.path.join(d, "x2.npy"), x2)
got2 = {}
for tag, flags in (("1 thread, c8 pairs", ["--threads", "1"]), ("1 thread", ["--threads", "1", "--no-pass", "c8"]),
                   ("2 threads", ["--threads", "2"]),
                   ("2 threads, --no-pass slice", ["--threads", "2", "--no-pass", "slice"])):
    out = os.path.join(d, "const_" + tag.replace(" ", "_").replace(",", ""))
    for rep in range(3):  # split threads share nothing but their slots: a mix-up shows as wrong images
        rc, so, se = run_onnxc(["run", path2, "-i", f"x={os.path.join(d, 'x2.npy')}", "-o", out, "--top", "0"]
                               + flags)
        if rc:
            print(f"constant W, {tag}: onnxc run failed ({rc}): {se.strip()}")
            ok = False
            break
        y = np.load(os.path.join(out, "y.npy"))
        diff = float(np.max(np.abs(y - want2)))
        good = y.shape == want2.shape and diff <= 1e-4
        if rep == 0 or not good:
            print(f"constant W, {tag}, run {rep}: max abs diff vs PyTorch {diff:.3g} "
                  f"(max |y| {float(np.max(np.abs(want2))):.3g}) {'ok' if good else 'FAIL'}")
        ok &= good
        if tag in got2 and not np.array_equal(got2[tag], y):
            print(f"constant W, {tag}: run {rep} differs from run 0")
            ok = False
        got2.setdefault(tag, y)
same = len(got2) == 4 and all(np.array_equal(got2["1 thread"], v) for k, v in got2.items() if "c8" not in k)
print(f"constant W: all runs without c8 pairs (which sum in another order) the same bits: {same}")
ok &= same
arena = {}
for tag, flags in (("sliced", []), ("unsliced", ["--no-pass", "slice"]), ("reference kernels", ["--kernel", "ref"])):
    rc, so, se = run_onnxc(["bench", path2, "--threads", "2", "--runs", "1", "--warmup", "0", "--json"] + flags)
    try:
        arena[tag] = json.loads(so)["variants"][0]["arena_bytes"]
    except (ValueError, KeyError, IndexError):
        print(f"bench --json ({tag}) gave no arena_bytes: {se.strip()[:200]}")
        ok = False
smaller = "sliced" in arena and "unsliced" in arena and arena["sliced"] < arena["unsliced"]
print(f"arena with the chain's tensors held per thread {arena.get('sliced')} < unsliced {arena.get('unsliced')}: "
      f"{smaller}")
ok &= smaller
# the reference conv kernel runs the whole batch: the planner must not chain
# its steps, so their tensors stay whole (as unsliced)
whole = len(arena) == 3 and arena["reference kernels"] == arena["unsliced"]
print(f"arena with --kernel ref {arena.get('reference kernels')} == unsliced: {whole}")
ok &= whole
sys.exit(0 if ok else 1)
