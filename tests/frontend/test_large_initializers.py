"""Large initializers: onnxc loads the raw_data of the main graph's big
initializers (1 MB and up) beside protobuf-c, from a re-encoded copy of
the file without them (compiler/onnx_import.c strip_weights). The model
must mean exactly what the protobuf wire format says it means, which the
onnx Python package decides here (the reference), on models written at
the wire level:

  plain        two 1.2 MB initializers and a small one;
  raw twice    one initializer holds raw_data twice (the last one counts:
               onnxc must not take the first);
  graph twice  the ModelProto holds its graph field twice (protobuf merges
               the two GraphProtos: initializers from both);
  packed dims  an initializer whose dims are a packed list, raw_data first.

Each runs y = (x + A) * B + c with `onnxc run` and compares with numpy on
the arrays the onnx package parsed, bit for bit (float32 Add and Mul)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import compare_npy_outputs, require, run_npy, workdir

onnx = require("onnx")
np = require("numpy")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

d = workdir("large_initializers")
N = 300000  # 1.2 MB of float32: above onnxc's 1 MB threshold
rng = np.random.default_rng(7)
xv = rng.standard_normal(N).astype(np.float32)
av = rng.standard_normal(N).astype(np.float32)
bv = rng.standard_normal(N).astype(np.float32)
cv = np.array([0.25], np.float32)


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def field(num, payload):
    """A length-delimited field (wire type 2)."""
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def tensor(name, arr):
    return numpy_helper.from_array(arr, name).SerializeToString()


vi = helper.make_tensor_value_info
nodes = [helper.make_node("Add", ["x", "A"], ["t"], name="add"), helper.make_node("Mul", ["t", "B"], ["u"], name="mul"),
         helper.make_node("Add", ["u", "c"], ["y"], name="addc")]
body = helper.make_graph(nodes, "g", [vi("x", TensorProto.FLOAT, [N])], [vi("y", TensorProto.FLOAT, [N])])
graph_bytes = body.SerializeToString()  # nodes, inputs, outputs: no initializers yet
head = helper.make_model(helper.make_graph([], "g", [], []), opset_imports=[helper.make_opsetid("", 13)])
head.ClearField("graph")
head_bytes = head.SerializeToString()

cases = {
    "plain": head_bytes + field(7, graph_bytes + field(5, tensor("A", av)) + field(5, tensor("B", bv)) +
                                field(5, tensor("c", cv))),
    # A's raw_data twice: a decoy of the same size first, the real one last
    "raw twice": head_bytes + field(7, graph_bytes + field(5, tensor("A", np.full(N, 7.0, np.float32)) +
                                                       field(9, av.tobytes())) +
                                    field(5, tensor("B", bv)) + field(5, tensor("c", cv))),
    # the graph field twice: the second part brings B and c
    "graph twice": head_bytes + field(7, graph_bytes + field(5, tensor("A", av))) +
                   field(7, field(5, tensor("B", bv)) + field(5, tensor("c", cv))),
    # raw_data before name, data_type and a packed dims list
    "packed dims": head_bytes + field(7, graph_bytes + field(5, field(9, av.tobytes()) + field(8, b"A") +
                                                           varint(2 << 3) + varint(TensorProto.FLOAT) +
                                                           field(1, varint(N))) +
                                      field(5, tensor("B", bv)) + field(5, tensor("c", cv))),
}

problems = []
for name, data in cases.items():
    m = onnx.ModelProto.FromString(data)  # the reference reading of the wire data
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    if sorted(inits) != ["A", "B", "c"] or not np.array_equal(inits["A"], av):
        problems.append(f"{name}: the test's own model does not parse as intended ({sorted(inits)})")
        continue
    ref = {"y": (xv + inits["A"]) * inits["B"] + inits["c"]}
    path = os.path.join(d, name.replace(" ", "_") + ".onnx")
    with open(path, "wb") as f:
        f.write(data)
    rc, se, out = run_npy(path, {"x": xv}, os.path.join(d, name.replace(" ", "_")))
    if rc != 0:
        problems.append(f"{name}: onnxc run exit {rc}: {se.strip()}")
        continue
    problems += compare_npy_outputs(name, out, ref, "numpy", 0.0)

if problems:
    print("FAILED:\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"large initializers: {len(cases)} wire layouts load as the onnx package reads them")
