"""ai.onnx.ml and ai.onnx.preview.training paths the ONNX backend cases
leave untested, checked with `onnxc check` against numpy references
written from the ONNX operator docs (Debian's onnx has no reference
runtime for these ops):

- LabelEncoder over numbers (int64 -> float with a default, float -> int64
  with a NaN key, tensor attributes int32 -> double);
- Binarizer over int64; ArrayFeatureExtractor on 1-D and 3-D data;
- TreeEnsemble with two trees, AVERAGE / MIN / MAX, missing values taking
  the true branch, float;
- Adam with norm_coefficient_post and T = 0; Momentum (Nesterov) on two
  tensors; Adagrad in double;
- Gradient (served by onnxc's autodiff) of ReduceSum(a * b) over vectors;
- refusals, exit 1 naming the node: Gradient with zs, an unknown domain, onnxc's internal
  domain, a default-domain node in a model that imports only ai.onnx.ml,
  LabelEncoder over strings, an ArrayFeatureExtractor index out of range,
  a TreeEnsemble child outside the nodes."""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, run_onnxc, workdir

onnx = require("onnx")
np = require("numpy")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

root = workdir("ml_ops")
rng = np.random.default_rng(11)
vi = helper.make_tensor_value_info
NP2ONNX = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE,
           np.dtype(np.int64): TensorProto.INT64, np.dtype(np.int32): TensorProto.INT32}
ML = [helper.make_opsetid("ai.onnx.ml", 5)]
TRAIN = [helper.make_opsetid("ai.onnx.preview.training", 1)]


def write_case(name, nodes, imports, inputs, outputs):
    """A backend-test folder: model.onnx and test_data_set_0 (dicts name -> array)."""
    d = os.path.join(root, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    g = helper.make_graph(nodes, name, [vi(k, NP2ONNX[v.dtype], v.shape) for k, v in inputs.items()],
                          [vi(k, NP2ONNX[v.dtype], v.shape) for k, v in outputs.items()])
    m = helper.make_model(g, opset_imports=imports)
    m.ir_version = 8
    onnx.save(m, os.path.join(d, "model.onnx"))
    for kind, tensors in (("input", inputs), ("output", outputs)):
        for i, (k, v) in enumerate(tensors.items()):
            with open(os.path.join(d, "test_data_set_0", f"{kind}_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(v, k).SerializeToString())
    return d


def ml_node(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, domain="ai.onnx.ml", **attrs)


def train_node(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, domain="ai.onnx.preview.training", **attrs)


cases = []

# ---- LabelEncoder ----
x = np.array([[3, 7, 1], [-2, 3, 99]], np.int64)
keys, vals = [1, 3, 7, -2], [0.5, 1.5, 2.5, -1.0]
y = np.array([[dict(zip(keys, vals)).get(int(v), 9.0) for v in row] for row in x], np.float32)
cases.append(write_case("label_encoder_int_float", [ml_node("LabelEncoder", ["X"], ["Y"], keys_int64s=keys,
                        values_floats=vals, default_float=9.0)], ML, {"X": x}, {"Y": y}))
x = np.array([0.5, np.nan, 2.0, -3.0, 7.25], np.float32)
keys, vals = [2.0, float("nan"), 0.5, 7.25], [20, 30, 5, 72]
y = np.array([5, 30, 20, -1, 72], np.int64)
cases.append(write_case("label_encoder_float_int_nan", [ml_node("LabelEncoder", ["X"], ["Y"], keys_floats=keys,
                        values_int64s=vals)], ML, {"X": x}, {"Y": y}))
x = np.array([4, 5, 6, 4], np.int32)
kt = numpy_helper.from_array(np.array([6, 4], np.int32), "keys_tensor")
vt = numpy_helper.from_array(np.array([0.25, -4.0], np.float64), "values_tensor")
dt = numpy_helper.from_array(np.array([7.0], np.float64), "default_tensor")
y = np.array([-4.0, 7.0, 0.25, -4.0], np.float64)
cases.append(write_case("label_encoder_tensor_int32_double", [ml_node("LabelEncoder", ["X"], ["Y"], keys_tensor=kt,
                        values_tensor=vt, default_tensor=dt)], ML, {"X": x}, {"Y": y}))

# ---- Binarizer, ArrayFeatureExtractor ----
x = rng.integers(-5, 5, (3, 4)).astype(np.int64)
cases.append(write_case("binarizer_int64", [ml_node("Binarizer", ["X"], ["Y"], threshold=0.5)], ML, {"X": x},
                        {"Y": (x > 0.5).astype(np.int64)}))
x = rng.standard_normal(5).astype(np.float32)
idx = np.array([4, 0, 0], np.int64)
cases.append(write_case("afe_1d", [ml_node("ArrayFeatureExtractor", ["X", "I"], ["Z"])], ML, {"X": x, "I": idx},
                        {"Z": x[idx].reshape(1, 3)}))
x = rng.standard_normal((2, 3, 4)).astype(np.float32)
idx = np.array([[3, 1]], np.int64)
cases.append(write_case("afe_3d", [ml_node("ArrayFeatureExtractor", ["X", "I"], ["Z"])], ML, {"X": x, "I": idx},
                        {"Z": x[..., [3, 1]]}))

# ---- TreeEnsemble: two trees over 2 features, 2 targets ----
# tree 0: node 0 (x0 <= 0.5, missing -> true) ? leaf 0 : node 1 (x1 > 1 ? leaf 1 : leaf 2)
# tree 1: node 2 (x1 == 2 ? leaf 3 : leaf 4)
tree = dict(nodes_featureids=[0, 1, 1], nodes_truenodeids=[0, 1, 3], nodes_falsenodeids=[1, 2, 4],
            nodes_trueleafs=[1, 1, 1], nodes_falseleafs=[0, 1, 1], nodes_missing_value_tracks_true=[1, 0, 0],
            leaf_targetids=[0, 1, 0, 1, 0], tree_roots=[0, 2], n_targets=2,
            nodes_modes=numpy_helper.from_array(np.array([0, 3, 4], np.uint8), "nodes_modes"),
            nodes_splits=numpy_helper.from_array(np.array([0.5, 1.0, 2.0], np.float32), "nodes_splits"),
            leaf_weights=numpy_helper.from_array(np.array([1, 2, 3, 4, 5], np.float32), "leaf_weights"))
x = np.array([[0.0, 2.0], [np.nan, 0.0], [1.0, 2.0], [1.0, 0.5]], np.float32)


def tree_leaves(row):
    a = 0 if (np.isnan(row[0]) or row[0] <= 0.5) else (1 if row[1] > 1 else 2)
    b = 3 if row[1] == 2 else 4
    return a, b


targets, weights = [0, 1, 0, 1, 0], [1, 2, 3, 4, 5]
for agg, name in ((0, "average"), (2, "min"), (3, "max")):
    init = {0: 0.0, 2: np.finfo(np.float32).max, 3: np.finfo(np.float32).min}[agg]
    y = np.full((4, 2), init, np.float32)
    for r, row in enumerate(x):
        for leaf in tree_leaves(row):
            t, w = targets[leaf], weights[leaf]
            y[r, t] = y[r, t] + w / 2 if agg == 0 else (min if agg == 2 else max)(y[r, t], w)
    cases.append(write_case(f"tree_ensemble_{name}", [ml_node("TreeEnsemble", ["X"], ["Y"], aggregate_function=agg,
                            **tree)], ML, {"X": x}, {"Y": y}))

# ---- optimizers ----
R, T0 = np.array(0.1, np.float32), np.array(0, np.int64)
X, G, V, H = (rng.standard_normal(6).astype(np.float32) for _ in range(4))
H = np.abs(H)
a, b, eps, nc, post = 0.9, 0.99, 1e-3, 0.01, 0.05
g = nc * X + G
v = a * V + (1 - a) * g
h = b * H + (1 - b) * g * g
xn = (1 - post) * (X - 0.1 * v / (np.sqrt(h) + eps))
cases.append(write_case("adam_post_t0", [train_node("Adam", ["R", "T", "X", "G", "V", "H"], ["Xn", "Vn", "Hn"], alpha=a,
                        beta=b, epsilon=eps, norm_coefficient=nc, norm_coefficient_post=post)], TRAIN,
                        {"R": R, "T": T0, "X": X, "G": G, "V": V, "H": H},
                        {"Xn": xn.astype(np.float32), "Vn": v.astype(np.float32), "Hn": h.astype(np.float32)}))
T3 = np.array(3, np.int64)
X2, G2, V2 = (rng.standard_normal((2, 3)).astype(np.float32) for _ in range(3))
outs = {}
for i, (x_, g_, v_) in enumerate(((X, G, V), (X2, G2, V2))):
    gr = nc * x_ + g_
    vn = a * v_ + 0.5 * gr
    outs[f"X{i}n"] = (x_ - 0.1 * (gr + a * vn)).astype(np.float32)
    outs[f"V{i}n"] = vn.astype(np.float32)
outs = {k: outs[k] for k in ("X0n", "X1n", "V0n", "V1n")}
cases.append(write_case("nesterov_two", [train_node("Momentum", ["R", "T", "X0", "X1", "G0", "G1", "V0", "V1"],
                        list(outs), alpha=a, beta=0.5, mode="nesterov", norm_coefficient=nc)], TRAIN,
                        {"R": R, "T": T3, "X0": X, "X1": X2, "G0": G, "G1": G2, "V0": V, "V1": V2}, outs))
Xd, Gd, Hd = X.astype(np.float64), G.astype(np.float64), H.astype(np.float64)
r = 0.1 / (1 + 3 * 0.5)
gr = nc * Xd + Gd
hn = Hd + gr * gr
cases.append(write_case("adagrad_double", [train_node("Adagrad", ["R", "T", "X", "G", "H"], ["Xn", "Hn"],
                        decay_factor=0.5, epsilon=eps, norm_coefficient=nc)], TRAIN,
                        {"R": R, "T": T3, "X": Xd, "G": Gd, "H": Hd},
                        {"Xn": Xd - r * gr / (np.sqrt(hn) + eps), "Hn": hn}))

A, B = (rng.standard_normal(5).astype(np.float32) for _ in range(2))
GRAD = [helper.make_opsetid("", 17)] + TRAIN
cases.append(write_case("gradient_reduce_sum", [
    helper.make_node("Mul", ["A", "B"], ["P"]), helper.make_node("ReduceSum", ["P"], ["Y"], keepdims=0),
    train_node("Gradient", ["A", "B"], ["dA", "dB"], xs=["A", "B"], y="Y")], GRAD, {"A": A, "B": B},
    {"Y": np.array((A * B).sum(), np.float32), "dA": B, "dB": A}))

failed = False
rc, outp, err = run_onnxc(["check", *cases])
print(outp, err, end="")
if rc != 0 or outp.count("PASS ") != len(cases):
    failed = True
    print("FAIL: onnxc check on the cases above")

# ---- refusals: exit 1 with a message naming the node ----
x = np.zeros((2, 2), np.float32)
bad = [
    ("unknown_domain", [helper.make_node("Foo", ["X"], ["Y"], name="foo1", domain="com.example")],
     ML + [helper.make_opsetid("com.example", 1)], "'foo1'"),
    ("internal_domain", [helper.make_node("ReluGrad", ["X", "X"], ["Y"], name="rg", domain="ai.onnxc")],
     ML + [helper.make_opsetid("ai.onnxc", 1)], "'rg'"),
    ("default_without_import", [helper.make_node("Relu", ["X"], ["Y"], name="relu1")], ML, "'relu1'"),
    ("ml_not_imported", [ml_node("Binarizer", ["X"], ["Y"], name="bin1")], [helper.make_opsetid("", 17)], "'bin1'"),
    ("unknown_ml_op", [ml_node("Scaler", ["X"], ["Y"], name="sc1")], ML, "'sc1'"),
    ("label_encoder_strings", [ml_node("LabelEncoder", ["X"], ["Y"], name="le1", keys_floats=[1.0],
                                       values_strings=["a"])], ML, "string"),
    ("gradient_zs", [helper.make_node("Relu", ["X"], ["R"]), helper.make_node("ReduceSum", ["R"], ["S"], keepdims=0),
                     train_node("Gradient", ["X"], ["Y"], name="g1", xs=["X"], y="S", zs=["R"])], GRAD, "'g1'"),
    ("tree_child_out_of_range", [ml_node("TreeEnsemble", ["X"], ["Y"], name="te1",
                                         **dict(tree, nodes_falsenodeids=[7, 2, 4]))], ML, "'te1'"),
]
for name, nodes, imports, want in bad:
    d = write_case(name, nodes, imports, {"X": x}, {"Y": x})
    rc, outp, err = run_onnxc(["run", os.path.join(d, "model.onnx"), "-i", os.path.join(d, "test_data_set_0",
                                                                                         "input_0.pb")])
    msg = (err.strip().splitlines() or [""])[-1]
    print(f"{name}: exit {rc}: {msg}")
    if rc != 1 or want not in err:
        failed = True
        print(f"FAIL: expected exit 1 naming {want}")
d = write_case("afe_index_out_of_range", [ml_node("ArrayFeatureExtractor", ["X", "I"], ["Z"], name="afe1")], ML,
               {"X": np.zeros((2, 3), np.float32), "I": np.array([3], np.int64)}, {"Z": np.zeros((2, 1), np.float32)})
rc, outp, err = run_onnxc(["check", d])
print(f"afe index 3 of 3 features: exit {rc}: {outp.strip()}")
if rc == 0 or "outside [0, 3)" not in outp + err or "CRASH" in outp:
    failed = True
    print("FAIL: expected a failure naming the index")
sys.exit(1 if failed else 0)
