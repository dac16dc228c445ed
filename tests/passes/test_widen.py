"""The widen pass (compiler/passes/widen.c) against numpy float16 arithmetic.

Hand-written ONNX graphs (opset 18) whose kernels take float32 only, fed
float16 (or bfloat16) graph inputs:
  - Mul -> Div -> Sub chain: every op output is rounded to float16, so the
    result must equal numpy's float16 arithmetic bit for bit (numpy computes
    each float16 op in float32 and rounds once to nearest even); the test
    also checks that rounding only at the end would differ, so it sees the
    per-op rounding;
  - Sqrt and Max (float16), and ReduceMax with its int64 axes input (which
    must stay int64: only float16/bfloat16 inputs are widened);
  - Mul by a float16 initializer, which the pass widens into a float32
    initializer (no Cast at run time);
  - a bfloat16 Mul, against float32 products rounded to bfloat16 to nearest
    even by hand (numpy has no bfloat16).
`onnxc run` must give the exact bits, `onnxc info --passes --json` must
note each wrapped node, and with `--no-pass widen` the run must fail with
the kernel's message (never crash)."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, run_onnxc, workdir

onnx = require("onnx")
np = require("numpy")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

W = workdir("widen")
rng = np.random.default_rng(15)


def save_model(name, nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 8
    # no onnx.checker: Debian's onnx 1.12 knows opsets up to 17 only, and
    # ReduceMax takes its axes as an input from opset 18
    p = os.path.join(W, name + ".onnx")
    onnx.save(m, p)
    return p


def save_pb(name, arr, bf16=False):
    t = TensorProto()
    t.name = name
    t.dims.extend(arr.shape)
    if bf16:
        t.data_type = TensorProto.BFLOAT16
        t.raw_data = arr.astype(np.uint16).tobytes()
    else:
        t.data_type = TensorProto.FLOAT16  # every other input here is float16
        t.raw_data = arr.tobytes()
    p = os.path.join(W, name + ".pb")
    with open(p, "wb") as f:
        f.write(t.SerializeToString())
    return p


def run(path, feeds, outputs, *flags):
    """Runs the model; the outputs' raw bits as uint16 arrays (pb format)."""
    out = os.path.join(W, os.path.basename(path) + ".out")
    args = ["run", path, "-o", out, "--format", "pb", *flags]
    for k, v in feeds.items():
        args += ["-i", f"{k}={v}"]
    rc, so, se = run_onnxc(args)
    if rc != 0:
        return rc, se.strip(), None
    res = []
    for o in outputs:
        t = TensorProto()
        with open(os.path.join(out, o + ".pb"), "rb") as f:
            t.ParseFromString(f.read())
        if t.raw_data:
            bits = np.frombuffer(t.raw_data, dtype=np.uint16)
        else:
            bits = np.array(t.int32_data, dtype=np.uint16)
        res.append(bits.reshape(tuple(t.dims)))
    return 0, se.strip(), res


def f32_to_bf16_bits(x):
    """float32 -> bfloat16 bits, round to nearest even (finite inputs)."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = u + 0x7FFF + ((u >> 16) & 1)
    return (u >> 16).astype(np.uint16)


def bf16_bits_to_f32(b):
    return (b.astype(np.uint32) << 16).view(np.float32)


def compare(label, got, want):
    want = want.view(np.uint16) if want.dtype == np.float16 else want
    diff = int(np.count_nonzero(got != want))
    print(f"{label}: {diff} of {want.size} elements differ in their bits")
    return diff == 0 and got.shape == want.shape


def wrapped_notes(path):
    rc, so, se = run_onnxc(["info", path, "--passes", "--json"])
    if rc != 0:
        print(f"info failed: {se.strip()}")
        return []
    j = json.loads(so)
    passes = j.get("passes", j)
    if isinstance(passes, list):
        passes = {p["name"]: p for p in passes}
    return passes["widen"]["notes"]


ok = True
F16 = TensorProto.FLOAT16
shape = [4, 33]

# ---- Mul -> Div -> Sub chain, float16 ----
a = (rng.standard_normal(shape) * 3).astype(np.float16)
b = (rng.standard_normal(shape) * 3).astype(np.float16)
c = (rng.standard_normal(shape) * 0.5 + 2.0).astype(np.float16)
chain = save_model(
    "chain_f16",
    [helper.make_node("Mul", ["a", "b"], ["ab"], name="mul"),
     helper.make_node("Div", ["ab", "c"], ["abc"], name="div"),
     helper.make_node("Sub", ["abc", "a"], ["y"], name="sub")],
    [helper.make_tensor_value_info(n, F16, shape) for n in ("a", "b", "c")],
    [helper.make_tensor_value_info("y", F16, shape)])
want = (a * b) / c - a  # numpy float16 arithmetic: rounded after each op
once = ((a.astype(np.float32) * b.astype(np.float32)) / c.astype(np.float32) - a.astype(np.float32)).astype(np.float16)
sensitive = int(np.count_nonzero(once.view(np.uint16) != want.view(np.uint16)))
print(f"rounding only at the end differs from per-op rounding in {sensitive} elements")
ok &= sensitive > 0
feeds = {"a": save_pb("a", a), "b": save_pb("b", b), "c": save_pb("c", c)}
rc, msg, res = run(chain, feeds, ["y"])
ok &= rc == 0 and compare("Mul/Div/Sub float16 vs numpy", res[0], want)
if rc:
    print(f"run failed: {msg}")
rc, msg, res = run(chain, feeds, ["y"], "--no-fuse")
ok &= rc == 0 and compare("the same with --no-fuse", res[0], want)
notes = wrapped_notes(chain)
print(f"widen notes: {notes}")
ok &= len(notes) == 3 and all("float32" in n for n in notes)
rc, msg, _ = run(chain, feeds, ["y"], "--no-pass", "widen")
print(f"--no-pass widen: exit {rc}: {msg}")
ok &= rc not in (0, -6, -11) and "float16" in msg

# ---- Sqrt, Max and ReduceMax with int64 axes, float16 ----
x = np.abs(rng.standard_normal(shape) * 4).astype(np.float16)
m = save_model(
    "reduce_f16",
    [helper.make_node("Sqrt", ["x"], ["s"], name="sqrt"),
     helper.make_node("Max", ["s", "b"], ["mx"], name="max"),
     helper.make_node("ReduceMax", ["mx", "axes"], ["y"], name="rmax", keepdims=0)],
    [helper.make_tensor_value_info("x", F16, shape), helper.make_tensor_value_info("b", F16, shape)],
    [helper.make_tensor_value_info("y", F16, [shape[0]])],
    [helper.make_tensor("axes", TensorProto.INT64, [1], [1])])
want = np.max(np.maximum(np.sqrt(x), b), axis=1)
rc, msg, res = run(m, {"x": save_pb("x", x), "b": feeds["b"]}, ["y"])
ok &= rc == 0 and compare("Sqrt/Max/ReduceMax float16 vs numpy", res[0], want)
if rc:
    print(f"run failed: {msg}")

# ---- a float16 weight: widened at compile time into a float32 initializer ----
k = (rng.standard_normal(shape) * 2).astype(np.float16)
m = save_model(
    "const_f16",
    [helper.make_node("Mul", ["x", "k"], ["y"], name="mulk")],
    [helper.make_tensor_value_info("x", F16, shape)],
    [helper.make_tensor_value_info("y", F16, shape)],
    [numpy_helper.from_array(k, "k")])
rc, msg, res = run(m, {"x": save_pb("x", x)}, ["y"])
ok &= rc == 0 and compare("Mul by a float16 weight vs numpy", res[0], x * k)
if rc:
    print(f"run failed: {msg}")
notes = wrapped_notes(m)
print(f"widen notes: {notes}")
ok &= len(notes) == 1 and "1 input cast, 1 constant widened" in notes[0]

# ---- bfloat16 Mul ----
pa = f32_to_bf16_bits(rng.standard_normal(shape) * 3)
pb = f32_to_bf16_bits(rng.standard_normal(shape) * 3)
m = save_model(
    "mul_bf16",
    [helper.make_node("Mul", ["p", "q"], ["y"], name="mul")],
    [helper.make_tensor_value_info(n, TensorProto.BFLOAT16, shape) for n in ("p", "q")],
    [helper.make_tensor_value_info("y", TensorProto.BFLOAT16, shape)])
want = f32_to_bf16_bits(bf16_bits_to_f32(pa) * bf16_bits_to_f32(pb))
rc, msg, res = run(m, {"p": save_pb("p", pa, bf16=True), "q": save_pb("q", pb, bf16=True)}, ["y"])
ok &= rc == 0 and compare("Mul bfloat16 vs float32 product rounded to bfloat16", res[0], want)
if rc:
    print(f"run failed: {msg}")

sys.exit(0 if ok else 1)
