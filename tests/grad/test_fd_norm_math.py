"""Per-op gradients from `onnxc grad` against double-precision central
finite differences: BatchNormalization (inference and training mode),
LayerNormalization, Softmax, LogSoftmax, ReduceMean, ReduceSum, the
activations (LeakyRelu, Elu, Gelu exact and tanh, Sigmoid, Tanh, Softplus,
Swish and x * Sigmoid(x), Clip, Erf), Pow, Sqrt, Exp, Log, Div with
broadcasting and MatMul (batched, broadcast, 1-D operands).

Each case is a one-op ONNX model whose inputs are all initializers, so
onnxc differentiates with respect to every one of them. The op's output Y
goes through a fixed random projection to logits,
    logits = Reshape(Reshape(Y, [-1, 1]) * R, [1, -1]),  loss = CE(logits, 0),
so every element of Y matters. The reference evaluates the same loss in
float64 (PyTorch double) and differentiates it by central differences,
(L(p + h) - L(p - h)) / 2h with h = 1e-6, element by element. Bar: max
|onnxc - FD| / max |FD| <= 1e-3 per input tensor (onnxc runs in float32)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, run_onnxc, workdir

torch = require("torch")
onnx = require("onnx")
np = require("numpy")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

TOL = 1e-3
H = 1e-6
F = torch.nn.functional
rng = np.random.default_rng(0)


def rnd(*shape, lo=None, hi=None):
    if lo is not None:
        return rng.uniform(lo, hi, size=shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def away(a, points, gap=0.05):
    """Moves elements of a that sit within gap of a kink (for LeakyRelu,
    Elu, Clip), so central differences do not straddle it."""
    a = a.copy()
    for p in points:
        near = np.abs(a - p) < gap
        a[near] = p + np.where(a[near] >= p, gap, -gap)
    return a


# ---- the cases: one op, its initializer inputs, and its forward in torch (double) ----
cases = []


def case(name, op, inputs, fwd, attrs=None, opset=13, order=None, state=(), grad_args=(), n_out=1):
    cases.append(dict(name=name, op=op, inputs=inputs, fwd=fwd, attrs=attrs or {}, opset=opset,
                      order=order or list(inputs), state=set(state), grad_args=list(grad_args), n_out=n_out))


def bn_ref(train):
    def f(p):
        x, s, b, m, v = p["X"], p["scale"], p["B"], p["mean"], p["var"]
        if train:
            dims = [0] + list(range(2, x.dim()))
            m = x.mean(dim=dims)
            v = x.var(dim=dims, unbiased=False)
        shape = [1, -1] + [1] * (x.dim() - 2)
        return (x - m.view(shape)) / torch.sqrt(v.view(shape) + 1e-5) * s.view(shape) + b.view(shape)
    return f


bn_in = lambda: {"X": rnd(4, 3, 2, 2), "scale": rnd(3), "B": rnd(3), "mean": rnd(3), "var": rnd(3, lo=0.5, hi=1.5)}
case("batchnorm_eval", "BatchNormalization", bn_in(), bn_ref(False), state=("mean", "var"))
case("batchnorm_train_flag", "BatchNormalization", bn_in(), bn_ref(True), state=("mean", "var"),
     grad_args=["--bn", "train"])
case("batchnorm_train_attr", "BatchNormalization", bn_in(), bn_ref(True), state=("mean", "var"),
     attrs={"training_mode": 1}, opset=15, n_out=3)
case("batchnorm_train_flag_opset15", "BatchNormalization", bn_in(), bn_ref(True), state=("mean", "var"),
     attrs={"training_mode": 0}, opset=15, grad_args=["--bn", "train"])
case("batchnorm1d_train", "BatchNormalization",
     {"X": rnd(6, 4), "scale": rnd(4), "B": rnd(4), "mean": rnd(4), "var": rnd(4, lo=0.5, hi=1.5)},
     bn_ref(True), state=("mean", "var"), grad_args=["--bn", "train"])


def ln_ref(axis, bias=True):
    def f(p):
        x = p["X"]
        ax = axis % x.dim()
        dims = list(range(ax, x.dim()))
        m = x.mean(dim=dims, keepdim=True)
        v = x.var(dim=dims, keepdim=True, unbiased=False)
        y = (x - m) / torch.sqrt(v + 1e-5) * p["scale"]
        return y + p["B"] if bias else y
    return f


case("layernorm_last", "LayerNormalization", {"X": rnd(3, 4, 5), "scale": rnd(5), "B": rnd(5)}, ln_ref(-1),
     opset=17)
case("layernorm_axis1", "LayerNormalization", {"X": rnd(3, 4, 5), "scale": rnd(4, 5), "B": rnd(4, 5)},
     ln_ref(1), attrs={"axis": 1}, opset=17)
case("layernorm_bcast_nobias", "LayerNormalization", {"X": rnd(3, 4, 5), "scale": rnd(1, 5)},
     ln_ref(1, bias=False), attrs={"axis": 1}, opset=17)

case("softmax_axis1", "Softmax", {"X": rnd(3, 4, 5)}, lambda p: F.softmax(p["X"], dim=1), attrs={"axis": 1})
case("logsoftmax_last", "LogSoftmax", {"X": rnd(3, 4, 5)}, lambda p: F.log_softmax(p["X"], dim=-1))
case("softmax_legacy_opset11", "Softmax", {"X": rnd(2, 3, 4)},
     lambda p: F.softmax(p["X"].reshape(2, 12), dim=1).reshape(2, 3, 4), attrs={"axis": 1}, opset=11)
case("logsoftmax_axis0", "LogSoftmax", {"X": rnd(3, 4)}, lambda p: F.log_softmax(p["X"], dim=0),
     attrs={"axis": 0})

case("reducemean_axis1", "ReduceMean", {"X": rnd(3, 4, 5)}, lambda p: p["X"].mean(dim=1),
     attrs={"axes": [1], "keepdims": 0})
case("reducemean_all", "ReduceMean", {"X": rnd(3, 4)}, lambda p: p["X"].mean(), attrs={"keepdims": 0})
case("reducesum_axes_input", "ReduceSum", {"X": rnd(3, 4, 5), "axes": np.array([0, 2], np.int64)},
     lambda p: p["X"].sum(dim=(0, 2), keepdim=True), state=("axes",))
case("reducesum_neg_axis_opset11", "ReduceSum", {"X": rnd(2, 3, 4)}, lambda p: p["X"].sum(dim=-1),
     attrs={"axes": [-1], "keepdims": 0}, opset=11)

x_act = rnd(4, 5) * 2
case("leakyrelu", "LeakyRelu", {"X": away(x_act, [0])}, lambda p: F.leaky_relu(p["X"], 0.1), attrs={"alpha": 0.1})
case("elu", "Elu", {"X": away(x_act, [0])}, lambda p: F.elu(p["X"], 0.7), attrs={"alpha": 0.7})
case("gelu_exact", "Gelu", {"X": x_act}, lambda p: F.gelu(p["X"]), opset=20)
case("gelu_tanh", "Gelu", {"X": x_act}, lambda p: F.gelu(p["X"], approximate="tanh"),
     attrs={"approximate": "tanh"}, opset=20)
case("sigmoid", "Sigmoid", {"X": x_act}, lambda p: torch.sigmoid(p["X"]))
case("tanh", "Tanh", {"X": x_act}, lambda p: torch.tanh(p["X"]))
case("softplus", "Softplus", {"X": x_act}, lambda p: F.softplus(p["X"]))
case("swish", "Swish", {"X": x_act}, lambda p: p["X"] * torch.sigmoid(0.8 * p["X"]), attrs={"alpha": 0.8},
     opset=24)
case("silu_mul_sigmoid", "SiLU", {"X": x_act}, lambda p: F.silu(p["X"]))  # Mul(X, Sigmoid(X))
case("clip_inputs", "Clip", {"X": away(x_act, [-0.5, 0.7]), "min": np.array(-0.5, np.float32),
                             "max": np.array(0.7, np.float32)},
     lambda p: torch.clamp(p["X"], -0.5, 0.7), state=("min", "max"))
case("clip_attrs_opset6", "Clip", {"X": away(x_act, [-0.5, 0.7])}, lambda p: torch.clamp(p["X"], -0.5, 0.7),
     attrs={"min": -0.5, "max": 0.7}, opset=6)
case("erf", "Erf", {"X": x_act}, lambda p: torch.erf(p["X"]))
case("sqrt", "Sqrt", {"X": rnd(4, 5, lo=0.3, hi=2.0)}, lambda p: torch.sqrt(p["X"]))
case("exp", "Exp", {"X": x_act * 0.5}, lambda p: torch.exp(p["X"]))
case("log", "Log", {"X": rnd(4, 5, lo=0.3, hi=2.0)}, lambda p: torch.log(p["X"]))
case("pow", "Pow", {"A": rnd(4, 5, lo=0.3, hi=2.0), "B": rnd(5, lo=0.5, hi=3.0)},
     lambda p: torch.pow(p["A"], p["B"]))

case("div_bcast_row", "Div", {"A": rnd(3, 4), "B": rnd(4, lo=0.5, hi=2.0)}, lambda p: p["A"] / p["B"])
case("div_bcast_both", "Div", {"A": rnd(1, 4), "B": rnd(3, 1, lo=0.5, hi=2.0) * np.array([[1], [-1], [1]],
                                                                                           np.float32)},
     lambda p: p["A"] / p["B"])

mm = lambda p: torch.matmul(p["A"], p["B"])
case("matmul_2d", "MatMul", {"A": rnd(3, 4), "B": rnd(4, 5)}, mm)
case("matmul_batched_bcastB", "MatMul", {"A": rnd(2, 3, 4), "B": rnd(4, 5)}, mm)
case("matmul_bcast_both", "MatMul", {"A": rnd(2, 1, 3, 4), "B": rnd(3, 4, 2)}, mm)
case("matmul_1d_a", "MatMul", {"A": rnd(3), "B": rnd(2, 3, 4)}, mm)
case("matmul_1d_b", "MatMul", {"A": rnd(2, 3, 4), "B": rnd(4)}, mm)
case("matmul_1d_both", "MatMul", {"A": rnd(4), "B": rnd(4)}, mm)


def build(c, d):
    """The case's ONNX model (all inputs initializers) and the projection R."""
    nodes, inits = [], []
    for k, v in c["inputs"].items():
        inits.append(numpy_helper.from_array(v, k))
    if c["op"] == "SiLU":  # as PyTorch exports it
        nodes.append(helper.make_node("Sigmoid", ["X"], ["S"]))
        nodes.append(helper.make_node("Mul", ["X", "S"], ["Y"]))
    else:
        outs = ["Y"] + [f"Y{k}" for k in range(1, c["n_out"])]
        nodes.append(helper.make_node(c["op"], c["order"], outs, **c["attrs"]))
    with torch.no_grad():
        y = c["fwd"]({k: torch.from_numpy(v.astype(np.float64)) for k, v in c["inputs"].items()})
    numel = int(np.prod(y.shape))
    r = rnd(numel, 3)
    inits += [numpy_helper.from_array(r, "R"), numpy_helper.from_array(np.array([-1, 1], np.int64), "s1"),
              numpy_helper.from_array(np.array([1, -1], np.int64), "s2")]
    nodes += [helper.make_node("Reshape", ["Y", "s1"], ["Yc"]), helper.make_node("Mul", ["Yc", "R"], ["P"]),
              helper.make_node("Reshape", ["P", "s2"], ["logits"])]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, None)]
    outputs += [helper.make_tensor_value_info(f"Y{k}", TensorProto.FLOAT, None) for k in range(1, c["n_out"])]
    graph = helper.make_graph(nodes, c["name"], [], outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", c["opset"])])
    model.ir_version = 8
    path = os.path.join(d, "model.onnx")
    onnx.save(model, path)
    return path, r


def loss64(c, params, r):
    y = c["fwd"](params).reshape(-1, 1) * torch.from_numpy(r.astype(np.float64))
    return F.cross_entropy(y.reshape(1, -1), torch.tensor([0]))


def fd_grad(c, r, name):
    base = {k: torch.from_numpy(v.astype(np.float64)) for k, v in c["inputs"].items()}
    g = np.zeros(c["inputs"][name].shape, np.float64)
    flat = g.reshape(-1)
    with torch.no_grad():
        for i in range(flat.size):
            vals = []
            for s in (1, -1):
                p = dict(base)
                p[name] = base[name].clone()
                p[name].view(-1)[i] += s * H
                vals.append(loss64(c, p, r).item())
            flat[i] = (vals[0] - vals[1]) / (2 * H)
    return g


ok = True
for c in cases:
    d = workdir(f"grad_fd_{c['name']}")
    path, r = build(c, d)
    np.save(os.path.join(d, "y.npy"), np.array([0], np.int64))
    out = os.path.join(d, "out")
    rc, so, se = run_onnxc(["grad", path, "--labels", os.path.join(d, "y.npy"), "-o", out] + c["grad_args"])
    if rc:
        print(f"{c['name']}: onnxc grad failed ({rc}): {se.strip()}")
        ok = False
        continue
    with torch.no_grad():
        want_loss = loss64(c, {k: torch.from_numpy(v.astype(np.float64)) for k, v in c["inputs"].items()}, r).item()
    got_loss = float(numpy_helper.to_array(onnx.load_tensor(os.path.join(out, "loss.pb"))))
    good = abs(got_loss - want_loss) <= 1e-5 + 1e-4 * abs(want_loss)
    line = [f"{c['name']}: loss {got_loss:.6f} vs {want_loss:.6f}{'' if good else ' MISMATCH'}"]
    ok &= good
    for name, v in c["inputs"].items():
        if name in c["state"] or v.dtype != np.float32:
            continue
        f = os.path.join(out, f"grad_{name}.pb")
        if not os.path.exists(f):
            line.append(f"{name}: no gradient")
            ok = False
            continue
        got = numpy_helper.to_array(onnx.load_tensor(f)).astype(np.float64)
        want = fd_grad(c, r, name)
        rel = float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-12)) if got.shape == want.shape \
            else float("inf")
        good = rel <= TOL
        ok &= good
        line.append(f"{name}{list(v.shape)} rel {rel:.1e}{'' if good else ' FAIL'}")
    print("  ".join(line))
print("all per-op gradients within 1e-3 of finite differences" if ok else "FAILURES above")
sys.exit(0 if ok else 1)
