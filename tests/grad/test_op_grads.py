"""Finite-difference gradient check of single ops: every case builds a
one-node ONNX model (onnx.helper) whose float initializers are the
differentiated tensors, reshapes the op's output(s) to 2-D logits [N, C],
and runs `onnxc grad` (which appends SoftmaxCrossEntropyLoss with fixed
labels, differentiates and writes grad_<initializer>.pb). The reference is
the same loss written with PyTorch float64 math: central finite differences
of it in double precision (eps 1e-6) for every element of every
differentiated input. Bar: max |onnxc - fd| / max |fd| <= 1e-3 per tensor.

Adding an op is one line in CASES: case(name, op, [inputs], reference,
attrs, opset, outputs). Inputs are P(name, array) for differentiated float
initializers and C(name, array) for constant inputs (indices, shapes,
pads; data, never differentiated); an input of None is omitted. The
reference receives the inputs as float64 torch tensors (P) and numpy
arrays (C) in order and returns the op's output(s) as torch tensors."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, run_onnxc, workdir

torch = require("torch")
onnx = require("onnx")
np = require("numpy")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

TOL = 1e-3
EPS = 1e-6
F = torch.nn.functional


class P:  # a differentiated float initializer
    def __init__(self, name, value):
        self.name, self.value = name, np.asarray(value, dtype=np.float32)


class C:  # a constant input (indices, shapes, pads, flags)
    def __init__(self, name, value):
        self.name, self.value = name, np.asarray(value)


def case(name, op, inputs, ref, attrs=None, opset=17, outputs=1, grad_args=()):
    return dict(name=name, op=op, inputs=inputs, ref=ref, attrs=attrs or {}, opset=opset, outputs=outputs,
                grad_args=list(grad_args))


rng = np.random.default_rng(0)


def rnd(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# ---- reference helpers (float64 torch) ----

def onnx_slice(x, starts, ends, axes=None, steps=None):
    """ONNX Slice by numpy slicing semantics (start/end clamping as the spec)."""
    axes = list(range(len(starts))) if axes is None else list(axes)
    steps = [1] * len(starts) if steps is None else list(steps)
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = a % x.dim()
        idx = list(range(*slice(int(s), int(e), int(st)).indices(x.shape[a])))
        x = x.index_select(a, torch.tensor(idx, dtype=torch.long))
    return x


def pad_map(n, pb, pe, mode):
    """Source index of every output position of one padded dim (-1: constant)."""
    out = []
    for o in range(n + pb + pe):
        i = o - pb
        if 0 <= i < n:
            out.append(i)
        elif mode == "constant":
            out.append(-1)
        elif mode == "edge":
            out.append(0 if i < 0 else n - 1)
        elif mode == "wrap":
            out.append(i % n)
        else:  # reflect: period 2 (n - 1), the edge not repeated
            per = 2 * (n - 1)
            i %= per
            out.append(i if i < n else per - i)
    return out


def onnx_pad(x, pads, mode="constant", value=0.0):
    r = x.dim()
    for d in range(r):
        m = pad_map(x.shape[d], int(pads[d]), int(pads[d + r]), mode)
        src = torch.tensor([max(i, 0) for i in m], dtype=torch.long)
        y = x.index_select(d, src)
        keep = torch.tensor([i >= 0 for i in m], dtype=torch.float64)
        shape = [1] * r
        shape[d] = len(m)
        x = y * keep.reshape(shape) + value * (1 - keep.reshape(shape))
    return x


def onnx_gather(x, idx, axis=0):
    idx = np.asarray(idx)
    flat = torch.tensor(np.where(idx < 0, idx + x.shape[axis], idx).reshape(-1), dtype=torch.long)
    y = x.index_select(axis, flat)
    return y.reshape(list(x.shape[:axis]) + list(idx.shape) + list(x.shape[axis + 1:]))


def dropout_mask(seed, n, ratio):
    """onnxc's Dropout mask (runtime/kernels/shape_ops.c): element i is kept
    when u_i >= ratio, u_i = top 53 bits of splitmix64(seed + (i + 1) * golden)."""
    m64 = (1 << 64) - 1
    keep = []
    for i in range(n):
        z = (seed + (i + 1) * 0x9E3779B97F4A7C15) & m64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m64
        z ^= z >> 31
        keep.append((z >> 11) * 2.0 ** -53 >= ratio)
    return np.array(keep)


DEFAULT_SEED = 0x6F6E6E78634452  # OC_DROPOUT_SEED


def dropout_ref(seed, ratio):
    def f(x, *_):
        keep = torch.tensor(dropout_mask(seed, x.numel(), ratio).reshape(x.shape), dtype=torch.float64)
        return x * keep / (1 - ratio)
    return f


T = torch
I64 = np.int64
CASES = [
    # the first gradient rules (elementwise.c, gemm.c, shape_ops.c)
    case("relu", "Relu", [P("x", rnd(3, 5))], lambda x: T.relu(x)),
    case("add_broadcast", "Add", [P("a", rnd(3, 4)), P("b", rnd(1, 4))], lambda a, b: a + b),
    case("sub_broadcast", "Sub", [P("a", rnd(2, 3, 4)), P("b", rnd(4))], lambda a, b: a - b),
    case("mul_broadcast", "Mul", [P("a", rnd(3, 4)), P("b", rnd(3, 1))], lambda a, b: a * b),
    case("gemm_transB", "Gemm", [P("a", rnd(3, 4)), P("b", rnd(5, 4)), P("c", rnd(5))],
         lambda a, b, c: a @ b.T + c, {"transB": 1}),
    case("gemm_transA_alpha", "Gemm", [P("a", rnd(4, 3)), P("b", rnd(4, 5))],
         lambda a, b: 0.5 * (a.T @ b), {"transA": 1, "alpha": 0.5}),
    case("gemm_both_trans", "Gemm", [P("a", rnd(4, 3)), P("b", rnd(5, 4))],
         lambda a, b: a.T @ b.T, {"transA": 1, "transB": 1}),
    case("flatten", "Flatten", [P("x", rnd(2, 3, 2))], lambda x: x.reshape(2, 6), {"axis": 1}),
    case("reshape", "Reshape", [P("x", rnd(2, 6)), C("s", np.array([3, 4], I64))], lambda x, s: x.reshape(3, 4)),
    case("concat_axis1", "Concat", [P("a", rnd(2, 3)), P("b", rnd(2, 2)), P("c", rnd(2, 4))],
         lambda a, b, c: T.cat([a, b, c], 1), {"axis": 1}),
    case("concat_axis0_3d", "Concat", [P("a", rnd(1, 3, 2)), P("b", rnd(2, 3, 2))],
         lambda a, b: T.cat([a, b], 0), {"axis": -3}),
    case("concat_one_param", "Concat", [P("a", rnd(2, 3)), C("b", rnd(2, 2))],
         lambda a, b: T.cat([a, T.tensor(b, dtype=T.float64)], 1), {"axis": 1}),
    # wider than autodiff's old fixed 64 slots (it skipped such nodes: all-zero gradients)
    case("concat_100_inputs", "Concat", [P(f"p{k}", rnd(2, 1)) for k in range(100)],
         lambda *xs: T.cat(xs, 1), {"axis": 1}),
    case("split_input13", "Split", [P("x", rnd(2, 6)), C("split", np.array([1, 2, 3], I64))],
         lambda x, s: list(T.split(x, [1, 2, 3], 1)), {"axis": 1}, 13, outputs=3),
    case("split_unused_output", "Split", [P("x", rnd(4, 3))],
         lambda x: list(T.split(x, 2, 0))[:1], {"axis": 0}, 13, outputs=(2, [0])),
    case("split_attr11", "Split", [P("x", rnd(3, 5, 2))],
         lambda x: list(T.split(x, [2, 3], 1)), {"axis": 1, "split": [2, 3]}, 11, outputs=2),
    case("slice_steps", "Slice", [P("x", rnd(5, 6)), C("s", np.array([1, 0], I64)), C("e", np.array([5, 6], I64)),
                                  C("a", np.array([0, 1], I64)), C("st", np.array([2, 2], I64))],
         lambda x, s, e, a, st: onnx_slice(x, s, e, a, st)),
    case("slice_negative_step", "Slice", [P("x", rnd(4, 5)), C("s", np.array([-1], I64)),
                                          C("e", np.array([-(2 ** 63)], I64)), C("a", np.array([1], I64)),
                                          C("st", np.array([-2], I64))],
         lambda x, s, e, a, st: onnx_slice(x, s, e, a, st)),
    case("slice_attr9", "Slice", [P("x", rnd(3, 4, 5))],
         lambda x: onnx_slice(x, [1, -4], [3, 100], [0, 2]), {"starts": [1, -4], "ends": [3, 100], "axes": [0, 2]}, 9),
    case("transpose_perm", "Transpose", [P("x", rnd(2, 3, 4))], lambda x: x.permute(2, 0, 1), {"perm": [2, 0, 1]}),
    case("transpose_default", "Transpose", [P("x", rnd(3, 5))], lambda x: x.t()),
    case("pad_constant", "Pad", [P("x", rnd(2, 3)), C("pads", np.array([1, 0, 2, 3], I64)),
                                 C("v", np.array(0.5, np.float32))],
         lambda x, p, v: onnx_pad(x, p, "constant", 0.5)),
    case("pad_constant_crop", "Pad", [P("x", rnd(3, 4)), C("pads", np.array([-1, 2, 1, -2], I64))],
         lambda x, p: onnx_pad(onnx_slice(x, [1, 0], [3, 2]), [0, 2, 1, 0])),
    case("pad_reflect", "Pad", [P("x", rnd(2, 4)), C("pads", np.array([0, 2, 0, 3], I64))],
         lambda x, p: onnx_pad(x, p, "reflect"), {"mode": "reflect"}),
    case("pad_edge", "Pad", [P("x", rnd(2, 3)), C("pads", np.array([1, 2, 2, 1], I64))],
         lambda x, p: onnx_pad(x, p, "edge"), {"mode": "edge"}),
    case("pad_wrap", "Pad", [P("x", rnd(2, 3)), C("pads", np.array([0, 2, 0, 4], I64))],
         lambda x, p: onnx_pad(x, p, "wrap"), {"mode": "wrap"}, 19),
    case("pad_axes18", "Pad", [P("x", rnd(2, 3, 2)), C("pads", np.array([1, 2], I64)), None,
                               C("axes", np.array([-2], I64))],
         lambda x, p, a: onnx_pad(x, [0, 1, 0, 0, 2, 0])),
    case("pad_attr10", "Pad", [P("x", rnd(2, 3))], lambda x: onnx_pad(x, [1, 1, 0, 2], "constant", 0.0),
         {"pads": [1, 1, 0, 2]}, 10),
    case("gather_axis0_repeats", "Gather", [P("x", rnd(4, 3)), C("i", np.array([[0, 2], [2, -1], [0, 0]], I64))],
         lambda x, i: onnx_gather(x, i, 0)),
    case("gather_axis1", "Gather", [P("x", rnd(2, 5, 2)), C("i", np.array([4, 1, 1], np.int32))],
         lambda x, i: onnx_gather(x, i, 1), {"axis": 1}),
    case("expand", "Expand", [P("x", rnd(3, 1)), C("shape", np.array([2, 3, 4], I64))],
         lambda x, s: x * T.ones(2, 3, 4, dtype=T.float64)),
    case("expand_keep_dim", "Expand", [P("x", rnd(2, 1, 3)), C("shape", np.array([1, 4, 1], I64))],
         lambda x, s: x * T.ones(1, 4, 1, dtype=T.float64)),
    case("tile", "Tile", [P("x", rnd(2, 3)), C("r", np.array([2, 3], I64))], lambda x, r: x.repeat(2, 3)),
    case("tile_3d", "Tile", [P("x", rnd(1, 2, 3)), C("r", np.array([3, 1, 2], I64))], lambda x, r: x.repeat(3, 1, 2)),
    case("dropout_train_seed", "Dropout", [P("x", rnd(4, 6)), C("ratio", np.array(0.3, np.float32)),
                                           C("training_mode", np.array(True))],
         dropout_ref(1234, 0.3), {"seed": 1234}),
    case("dropout_train_default_seed", "Dropout", [P("x", rnd(3, 8)), C("ratio", np.array(0.5, np.float32)),
                                                   C("training_mode", np.array(True))],
         dropout_ref(DEFAULT_SEED, 0.5), outputs=(2, [0])),
    case("dropout_context_training", "Dropout", [P("x", rnd(2, 10))], dropout_ref(7, 0.5), {"seed": 7},
         grad_args=["--bn", "train"]),
    case("dropout_inference", "Dropout", [P("x", rnd(2, 5)), C("ratio", np.array(0.4, np.float32))],
         lambda x, r: x),
]


def onnx_tensor(name, value):
    return numpy_helper.from_array(value, name)


def build(c, d):
    """The one-node model; outputs (n, used) reshaped to 1-D, concatenated
    and reshaped to [N, C] logits. Returns (path, N, C)."""
    n_out, used = c["outputs"] if isinstance(c["outputs"], tuple) else (c["outputs"], list(range(c["outputs"])))
    inits, in_names = [], []
    for inp in c["inputs"]:
        if inp is None:
            in_names.append("")
            continue
        inits.append(onnx_tensor(inp.name, inp.value))
        in_names.append(inp.name)
    outs = [f"y{k}" for k in range(n_out)]
    nodes = [helper.make_node(c["op"], in_names, outs, name="op", **c["attrs"])]
    flat = []
    for k in used:
        nodes.append(helper.make_node("Reshape", [outs[k], "minus1"], [f"f{k}"], name=f"flat{k}"))
        flat.append(f"f{k}")
    inits.append(onnx_tensor("minus1", np.array([-1], np.int64)))
    ref_out = reference(c, None)
    total = sum(int(t.numel()) for t in ref_out)
    rows = 2 if total % 2 == 0 else 1
    cols = total // rows
    cat = flat[0]
    if len(flat) > 1:
        nodes.append(helper.make_node("Concat", flat, ["cat"], name="cat", axis=0))
        cat = "cat"
    inits.append(onnx_tensor("logits_shape", np.array([rows, cols], np.int64)))
    nodes.append(helper.make_node("Reshape", [cat, "logits_shape"], ["logits"], name="logits"))
    graph = helper.make_graph(nodes, c["name"], [], [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                                                                     [rows, cols])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", c["opset"])])  # >= 5: Reshape's input
    model.ir_version = 8
    path = os.path.join(d, "model.onnx")
    onnx.save(model, path)
    return path, rows, cols


def reference(c, params):
    """The op's used outputs in float64; params overrides P inputs by name."""
    args = []
    for inp in c["inputs"]:
        if inp is None:
            continue
        if isinstance(inp, P):
            v = params[inp.name] if params is not None else torch.tensor(inp.value, dtype=torch.float64)
            args.append(v)
        else:
            args.append(inp.value)
    out = c["ref"](*args)
    return out if isinstance(out, list) else [out]


def loss_of(c, params, labels, rows, cols):
    logits = torch.cat([t.reshape(-1) for t in reference(c, params)]).reshape(rows, cols)
    return F.cross_entropy(logits, labels)


def check(c):
    d = workdir(f"op_grad_{c['name']}")
    path, rows, cols = build(c, d)
    labels = rng.integers(0, cols, rows).astype(np.int64)
    np.save(os.path.join(d, "y.npy"), labels)
    out = os.path.join(d, "out")
    rc, so, se = run_onnxc(["grad", path, "--labels", os.path.join(d, "y.npy"), "-o", out] + c["grad_args"])
    if rc:
        print(f"{c['name']:28s} FAIL: onnxc grad failed ({rc}): {se.strip()}")
        return False
    lt = torch.tensor(labels)
    base = {p.name: torch.tensor(p.value, dtype=torch.float64) for p in c["inputs"] if isinstance(p, P)}
    want_loss = float(loss_of(c, base, lt, rows, cols))
    got_loss = float(numpy_helper.to_array(onnx.load_tensor(os.path.join(out, "loss.pb"))))
    ok = abs(got_loss - want_loss) <= 1e-5 + 1e-4 * abs(want_loss)
    errs = []
    for name, v in base.items():
        fd = np.zeros(v.numel())
        flat = v.reshape(-1)
        for i in range(v.numel()):  # central differences in float64
            hi, lo = flat.clone(), flat.clone()
            hi[i] += EPS
            lo[i] -= EPS
            fd[i] = (float(loss_of(c, dict(base, **{name: hi.reshape(v.shape)}), lt, rows, cols)) -
                     float(loss_of(c, dict(base, **{name: lo.reshape(v.shape)}), lt, rows, cols))) / (2 * EPS)
        f = os.path.join(out, f"grad_{name}.pb")
        if not os.path.exists(f):
            print(f"{c['name']:28s} FAIL: no gradient written for '{name}'")
            return False
        got = numpy_helper.to_array(onnx.load_tensor(f)).astype(np.float64).reshape(-1)
        err = float(np.max(np.abs(got - fd)) / max(np.max(np.abs(fd)), 1e-12)) if got.size == fd.size else 1e9
        errs.append(f"{name} {list(v.shape)} {err:.2e}")
        ok &= err <= TOL
    print(f"{c['name']:28s} {c['op']:9s} opset {c['opset']:2d}  loss {got_loss:.6f} (ref {want_loss:.6f})  "
          f"max rel err vs fd: {', '.join(errs)}  {'ok' if ok else 'FAIL'}")
    return ok


def check_dropout_determinism():
    """Same seed: bitwise the same Y and mask on two runs, equal to the
    generator's definition; training_mode false: Y = X, mask all true."""
    d = workdir("op_grad_dropout_forward")
    x = rnd(5, 7)
    ok = True
    for training, seed in ((True, 99), (False, None)):
        attrs = {"seed": seed} if seed is not None else {}
        node = helper.make_node("Dropout", ["x", "r", "t"], ["y", "mask"], **attrs)
        graph = helper.make_graph([node], "dropout", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [5, 7]),
                                                           helper.make_tensor_value_info("mask", TensorProto.BOOL,
                                                                                         [5, 7])],
                                  [onnx_tensor("x", x), onnx_tensor("r", np.array(0.25, np.float32)),
                                   onnx_tensor("t", np.array(training))])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        path = os.path.join(d, "model.onnx")
        onnx.save(model, path)
        runs = []
        for k in range(2):
            o = os.path.join(d, f"run{k}")
            rc, so, se = run_onnxc(["run", path, "-o", o, "--format", "npy"])
            if rc:
                print(f"dropout forward: onnxc run failed ({rc}): {se.strip()}")
                return False
            runs.append((np.load(os.path.join(o, "y.npy")), np.load(os.path.join(o, "mask.npy"))))
        same = runs[0][0].tobytes() == runs[1][0].tobytes() and runs[0][1].tobytes() == runs[1][1].tobytes()
        if training:
            keep = dropout_mask(seed, x.size, 0.25).reshape(x.shape)
            want = np.where(keep, x.astype(np.float64) / 0.75, 0.0)
        else:
            keep, want = np.ones(x.shape, bool), x.astype(np.float64)
        good = same and np.array_equal(runs[0][1], keep) and np.max(np.abs(runs[0][0] - want)) <= 1e-6
        print(f"dropout forward training={training}: repeat bitwise {'same' if same else 'DIFFERENT'}, "
              f"mask {'matches' if np.array_equal(runs[0][1], keep) else 'DIFFERS'} "
              f"(kept {int(keep.sum())}/{keep.size}), max |y - ref| {np.max(np.abs(runs[0][0] - want)):.1e}  "
              f"{'ok' if good else 'FAIL'}")
        ok &= good
    return ok


only = sys.argv[1:]
ok = True
for c in CASES:
    if not only or any(s in c["name"] for s in only):
        ok &= check(c)
if not only or "dropout" in only:
    ok &= check_dropout_determinism()
sys.exit(0 if ok else 1)
