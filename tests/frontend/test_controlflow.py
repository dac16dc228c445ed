"""Control flow (If, Loop, Scan) beyond the ONNX backend cases, checked with
`onnxc check` against numpy references written from the ONNX operator docs
(Debian's onnx 1.12 has no onnx.reference):

- If whose branches read outer values (captured by name), run with the
  condition true and false (two data sets);
- Loop with a constant trip count whose body holds an If that reads a value
  two scopes out (nested capture), carrying a state and stacking a scan
  output;
- Scan-9 scanning axis 1 of one input in reverse, stacking along axis 1;

and the refusals, each a clean exit 1 whose message names the node:
- If branches giving different shapes under a run-time condition;
- Loop stacking scan outputs with a trip count fed at run time (--bake none)
  and no declared extent for them (by default onnxc check bakes the trip
  count as a shape-defining input; with a declared extent it runs, the
  trip count checked against it);
- a subgraph reading a name no enclosing graph defines;
- subgraphs nested deeper than onnxc's limit;
- `onnxc compile` of a model with If."""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, run_onnxc, workdir

onnx = require("onnx")
np = require("numpy")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

root = workdir("controlflow")
rng = np.random.default_rng(3)
vi = helper.make_tensor_value_info
NP2ONNX = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.bool_): TensorProto.BOOL,
           np.dtype(np.int64): TensorProto.INT64}
failed = []


def save_case(name, graph, feeds_list, ref, opset=17):
    """A backend-test folder: the model and one data set per feeds dict, the
    expected outputs computed by ref(feeds) -> list of arrays."""
    d = os.path.join(root, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.save(m, os.path.join(d, "model.onnx"))
    for s, feeds in enumerate(feeds_list):
        ds = os.path.join(d, f"test_data_set_{s}")
        os.makedirs(ds)
        outs = ref(feeds)
        for i, (k, v) in enumerate(feeds.items()):
            with open(os.path.join(ds, f"input_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(v, k).SerializeToString())
        for i, (o, v) in enumerate(zip(graph.output, outs)):
            with open(os.path.join(ds, f"output_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(np.asarray(v), o.name).SerializeToString())
    return d


def check_pass(name, d, *extra):
    rc, out, err = run_onnxc(["check", d, *extra])
    ok = rc == 0 and "PASS" in out
    print(f"{name}: {'ok' if ok else 'FAILED'}: {(out + err).strip().splitlines()[-2:]}")
    if not ok:
        failed.append(name)


def check_refused(name, args, *needles):
    rc, out, err = run_onnxc(args)
    text = out + err
    ok = rc == 1 and all(n in text for n in needles) and "CRASH" not in text
    print(f"{name}: {'ok' if ok else 'FAILED'} (exit {rc}): {text.strip().splitlines()[-1:]}")
    if not ok:
        failed.append(name)


# ---- If reading outer values ----
x = rng.standard_normal((2, 3)).astype(np.float32)
y = rng.standard_normal((2, 3)).astype(np.float32)
then_g = helper.make_graph([helper.make_node("Add", ["x", "y"], ["t"])], "then", [], [vi("t", TensorProto.FLOAT, [2, 3])])
else_g = helper.make_graph([helper.make_node("Mul", ["x", "y"], ["e0"]), helper.make_node("Neg", ["e0"], ["e"])],
                           "else", [], [vi("e", TensorProto.FLOAT, [2, 3])])
g = helper.make_graph(
    [helper.make_node("Relu", ["a"], ["x"]), helper.make_node("If", ["c"], ["r"], "if_outer", then_branch=then_g,
                                                                else_branch=else_g)],
    "if_capture", [vi("c", TensorProto.BOOL, []), vi("a", TensorProto.FLOAT, [2, 3]), vi("y", TensorProto.FLOAT, [2, 3])],
    [vi("r", TensorProto.FLOAT, [2, 3])])
d = save_case("if_capture", g, [{"c": np.array(True), "a": x, "y": y}, {"c": np.array(False), "a": x, "y": y}],
              lambda f: [np.maximum(f["a"], 0) + f["y"] if f["c"] else -(np.maximum(f["a"], 0) * f["y"])])
check_pass("If with captured values, both branches", d)

# ---- Loop with an If inside reading a value two scopes out ----
w = rng.standard_normal((4,)).astype(np.float32)
inner_then = helper.make_graph([helper.make_node("Add", ["s_in", "w"], ["it"])], "it", [],
                               [vi("it", TensorProto.FLOAT, [4])])
inner_else = helper.make_graph([helper.make_node("Sub", ["s_in", "w"], ["ie"])], "ie", [],
                               [vi("ie", TensorProto.FLOAT, [4])])
two = numpy_helper.from_array(np.array(2, np.int64), "two")
zero = numpy_helper.from_array(np.array(0, np.int64), "zero")
body = helper.make_graph(
    [helper.make_node("Mod", ["i", "two"], ["m"]), helper.make_node("Equal", ["m", "zero"], ["even"]),
     helper.make_node("If", ["even"], ["s_out"], "if_inner", then_branch=inner_then, else_branch=inner_else),
     helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("ReduceSum", ["s_out"], ["sum"], keepdims=1)],
    "body", [vi("i", TensorProto.INT64, []), vi("cond_in", TensorProto.BOOL, []), vi("s_in", TensorProto.FLOAT, [4])],
    [vi("cond_out", TensorProto.BOOL, []), vi("s_out", TensorProto.FLOAT, [4]), vi("sum", TensorProto.FLOAT, [1])],
    [two, zero])
trip = numpy_helper.from_array(np.array(5, np.int64), "trip")
g = helper.make_graph(
    [helper.make_node("Relu", ["w0"], ["w"]),
     helper.make_node("Loop", ["trip", "", "s0"], ["s_final", "sums"], "loop_outer", body=body)],
    "loop_nested", [vi("w0", TensorProto.FLOAT, [4]), vi("s0", TensorProto.FLOAT, [4])],
    [vi("s_final", TensorProto.FLOAT, [4]), vi("sums", TensorProto.FLOAT, [5, 1])], [trip])


def loop_ref(f):
    s, wr, sums = f["s0"].copy(), np.maximum(f["w0"], 0), []
    for i in range(5):
        s = s + wr if i % 2 == 0 else s - wr
        sums.append(s.sum(keepdims=True))
    return [s, np.stack(sums)]


d = save_case("loop_nested_if", g, [{"w0": w, "s0": rng.standard_normal((4,)).astype(np.float32)}], loop_ref)
check_pass("Loop with a nested If capturing two scopes out", d)

# ---- Scan-9 on axis 1, reversed, stacked on axis 1 ----
sb = helper.make_graph(
    [helper.make_node("Add", ["acc", "xs"], ["acc_out"]), helper.make_node("Mul", ["acc_out", "xs"], ["ys"])],
    "scan_body", [vi("acc", TensorProto.FLOAT, [3]), vi("xs", TensorProto.FLOAT, [3])],
    [vi("acc_out", TensorProto.FLOAT, [3]), vi("ys", TensorProto.FLOAT, [3])])
g = helper.make_graph(
    [helper.make_node("Scan", ["init", "xseq"], ["final", "yseq"], "scan_axis1", body=sb, num_scan_inputs=1,
                      scan_input_axes=[1], scan_input_directions=[1], scan_output_axes=[1])],
    "scan_axes", [vi("init", TensorProto.FLOAT, [3]), vi("xseq", TensorProto.FLOAT, [3, 5])],
    [vi("final", TensorProto.FLOAT, [3]), vi("yseq", TensorProto.FLOAT, [3, 5])])


def scan_ref(f):
    acc, ys = f["init"].copy(), np.zeros((3, 5), np.float32)
    for t in reversed(range(5)):  # scan_input_directions = [1]; outputs stacked forward
        acc = acc + f["xseq"][:, t]
        ys[:, 4 - t] = acc * f["xseq"][:, t]
    return [acc, ys]


d = save_case("scan_axis1_reverse", g, [{"init": rng.standard_normal((3,)).astype(np.float32),
                                         "xseq": rng.standard_normal((3, 5)).astype(np.float32)}], scan_ref)
check_pass("Scan-9 over axis 1, reversed, stacked on axis 1", d)

# ---- refusals ----
then_g = helper.make_graph([helper.make_node("Identity", ["a"], ["t"])], "then", [], [vi("t", TensorProto.FLOAT, None)])
else_g = helper.make_graph([helper.make_node("Concat", ["a", "a"], ["e"], axis=0)], "else", [],
                           [vi("e", TensorProto.FLOAT, None)])
g = helper.make_graph([helper.make_node("If", ["c"], ["r"], "if_shapes", then_branch=then_g, else_branch=else_g)],
                      "if_shapes", [vi("c", TensorProto.BOOL, []), vi("a", TensorProto.FLOAT, [2])],
                      [vi("r", TensorProto.FLOAT, None)])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
d = os.path.join(root, "if_shapes")
shutil.rmtree(d, ignore_errors=True)
os.makedirs(os.path.join(d, "test_data_set_0"))
onnx.save(m, os.path.join(d, "model.onnx"))
for i, (k, v) in enumerate((("c", np.array(True)), ("a", np.ones(2, np.float32)))):
    with open(os.path.join(d, "test_data_set_0", f"input_{i}.pb"), "wb") as f:
        f.write(numpy_helper.from_array(v, k).SerializeToString())
with open(os.path.join(d, "test_data_set_0", "output_0.pb"), "wb") as f:
    f.write(numpy_helper.from_array(np.ones(2, np.float32), "r").SerializeToString())
check_refused("If with branch-dependent shapes", ["check", d], "if_shapes", "cannot fix when planning")

g = helper.make_graph(
    [helper.make_node("Relu", ["w0"], ["w"]),
     helper.make_node("Loop", ["trip", "", "s0"], ["s_final", "sums"], "loop_runtime_trip", body=body)],
    "loop_runtime_trip", [vi("trip", TensorProto.INT64, []), vi("w0", TensorProto.FLOAT, [4]),
                          vi("s0", TensorProto.FLOAT, [4])],
    [vi("s_final", TensorProto.FLOAT, [4]), vi("sums", TensorProto.FLOAT, [5, 1])])
d = save_case("loop_runtime_trip", g, [{"trip": np.array(5, np.int64), "w0": w, "s0": np.zeros(4, np.float32)}],
              lambda f: loop_ref({"w0": f["w0"], "s0": f["s0"]}))
check_pass("Loop trip count from a graph input, baked as a shape input", d)
check_pass("Loop trip count fed at run time, stacked extent declared by the model", d, "--bake", "none")
m = onnx.load(os.path.join(d, "model.onnx"))
m.graph.output[1].type.tensor_type.ClearField("shape")
onnx.save(m, os.path.join(d, "model.onnx"))
check_refused("Loop trip count fed at run time, extent undeclared", ["check", d, "--bake", "none"],
              "loop_runtime_trip", "cannot fix when planning")

then_g = helper.make_graph([helper.make_node("Identity", ["nowhere"], ["t"])], "then", [], [vi("t", TensorProto.FLOAT, [2])])
g = helper.make_graph([helper.make_node("If", ["c"], ["r"], "if_undef", then_branch=then_g, else_branch=then_g)],
                      "if_undef", [vi("c", TensorProto.BOOL, [])], [vi("r", TensorProto.FLOAT, [2])])
p = os.path.join(root, "if_undef.onnx")
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), p)
check_refused("subgraph reading an undefined name", ["info", p], "if_undef", "nowhere")

inner = helper.make_graph([helper.make_node("Identity", ["c"], ["t"])], "g0", [], [vi("t", TensorProto.BOOL, [])])
for k in range(12):
    inner = helper.make_graph([helper.make_node("If", ["c"], [f"t{k}"], f"if_{k}", then_branch=inner, else_branch=inner)],
                              f"g{k + 1}", [], [vi(f"t{k}", TensorProto.BOOL, [])])
g = helper.make_graph([helper.make_node("Identity", ["x"], ["x2"])] + list(inner.node), "deep",
                      [vi("c", TensorProto.BOOL, []), vi("x", TensorProto.FLOAT, [1])], [vi("t11", TensorProto.BOOL, [])])
p = os.path.join(root, "deep.onnx")
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), p)
check_refused("subgraphs nested too deep", ["info", p], "nest deeper")

check_refused("onnxc compile refuses If", ["compile", os.path.join(root, "if_capture", "model.onnx"), "-o",
                                           os.path.join(root, "if_capture_c")], "if_outer", "control flow")

print(f"{len(failed)} failed: {failed}" if failed else "all control-flow checks passed")
sys.exit(1 if failed else 0)
