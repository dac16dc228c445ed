"""Finite-difference gradient check of RNN, GRU and LSTM (onnxc's RNNGrad,
back-propagation through time), the way tests/grad/test_op_grads.py checks
single ops: a one-node model whose float initializers (X, W, R, B,
initial_h, initial_c, P) are differentiated, its outputs flattened,
concatenated and reshaped to [2, C] logits; `onnxc grad` appends
SoftmaxCrossEntropyLoss with fixed labels. The reference is the same loss
over the numpy float64 forward of tests/frontend/test_rnn_ops.py (written
from the ONNX docs), with central differences (eps 1e-6) for every element.
Bar: max |onnxc - fd| / max |fd| <= 1e-3 per tensor.

Cases cover every direction, both layouts, sequence_lens (with a length-0
row), peepholes, input_forget, both GRU reset variants, clip, activations
with alpha / beta, and gradients arriving through Y, Y_h and Y_c."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, os.path.join(HERE, "..", "frontend"))
from common import require, run_onnxc, workdir  # noqa: E402

np = require("numpy")
onnx = require("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from test_rnn_ops import rnn_ref  # noqa: E402

TOL = 1e-3
EPS = 1e-6
rng = np.random.default_rng(5)
ORDER = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"]


def make(name, op, S=3, N=2, I=3, H=2, direction="forward", layout=0, lens=None, peep=False, outs=("Y", "Y_h"),
         **attrs):
    G = {"RNN": 1, "GRU": 3, "LSTM": 4}[op]
    D = 2 if direction == "bidirectional" else 1
    f = lambda *s: (rng.standard_normal(s) * 0.6).astype(np.float32)  # noqa: E731
    st = (N, D, H) if layout else (D, N, H)
    vals = {"X": f(*((N, S, I) if layout else (S, N, I))), "W": f(D, G * H, I), "R": f(D, G * H, H),
            "B": f(D, 2 * G * H), "initial_h": f(*st)}
    if lens is not None:
        vals["sequence_lens"] = np.array(lens, np.int32)
    if op == "LSTM":
        vals["initial_c"] = f(*st)
        if peep:
            vals["P"] = f(D, 3 * H)
    return dict(name=name, op=op, vals=vals, direction=direction, layout=layout, outs=list(outs), H=H,
                attrs=attrs)


def forward(c, v):
    a = c["attrs"]
    Y, Yh, Yc = rnn_ref(c["op"], v["X"], v["W"], v["R"], v.get("B"), v.get("sequence_lens"), v.get("initial_h"),
                        v.get("initial_c"), v.get("P"), c["direction"], c["layout"], a.get("activations"),
                        a.get("activation_alpha"), a.get("activation_beta"), a.get("clip"),
                        a.get("linear_before_reset", 0), a.get("input_forget", 0), dtype=np.float64)
    got = {"Y": Y, "Y_h": Yh, "Y_c": Yc}
    return np.concatenate([got[o].reshape(-1) for o in c["outs"]])


def loss(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    lp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -float(np.mean(lp[np.arange(len(labels)), labels]))


def build(c, d, cols):
    v = c["vals"]
    names = [k if k in v else "" for k in ORDER]
    while names[-1] == "":
        names.pop()
    all_outs = ["Y", "Y_h"] + (["Y_c"] if c["op"] == "LSTM" else [])
    last = max(all_outs.index(o) for o in c["outs"])
    node_outs = [o if o in c["outs"] else "" for o in all_outs[:last + 1]]
    attrs = dict(c["attrs"], hidden_size=c["H"], direction=c["direction"])
    if c["layout"]:
        attrs["layout"] = 1
    nodes = [helper.make_node(c["op"], names, node_outs, name="rnn", **attrs)]
    for o in c["outs"]:
        nodes.append(helper.make_node("Reshape", [o, "minus1"], [f"f_{o}"], name=f"flat_{o}"))
    cat = f"f_{c['outs'][0]}"
    if len(c["outs"]) > 1:
        nodes.append(helper.make_node("Concat", [f"f_{o}" for o in c["outs"]], ["cat"], name="cat", axis=0))
        cat = "cat"
    nodes.append(helper.make_node("Reshape", [cat, "shape2"], ["logits"], name="logits"))
    inits = [numpy_helper.from_array(a, k) for k, a in v.items()]
    inits += [numpy_helper.from_array(np.array([-1], np.int64), "minus1"),
              numpy_helper.from_array(np.array([2, cols], np.int64), "shape2")]
    g = helper.make_graph(nodes, c["name"], [], [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                                                                [2, cols])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
    m.ir_version = 8
    path = os.path.join(d, "model.onnx")
    onnx.save(m, path)
    return path


def check(c):
    d = workdir(f"rnn_grad_{c['name']}")
    v = {k: a for k, a in c["vals"].items()}
    total = forward(c, v).size
    assert total % 2 == 0, c["name"]
    cols = total // 2
    path = build(c, d, cols)
    labels = rng.integers(0, cols, 2).astype(np.int64)
    np.save(os.path.join(d, "y.npy"), labels)
    out = os.path.join(d, "out")
    rc, so, se = run_onnxc(["grad", path, "--labels", os.path.join(d, "y.npy"), "-o", out])
    if rc:
        print(f"{c['name']:32s} FAIL: onnxc grad failed ({rc}): {se.strip()}")
        return False
    base = {k: a.astype(np.float64) for k, a in v.items() if k != "sequence_lens"}
    L = lambda vv: loss(forward(c, dict(v, **vv)).reshape(2, cols), labels)  # noqa: E731
    want = L(base)
    got_loss = float(numpy_helper.to_array(onnx.load_tensor(os.path.join(out, "loss.pb"))))
    ok = abs(got_loss - want) <= 1e-5 + 1e-4 * abs(want)
    errs = []
    for name, a in base.items():
        flat = a.reshape(-1)
        fd = np.zeros(flat.size)
        for i in range(flat.size):
            hi, lo = flat.copy(), flat.copy()
            hi[i] += EPS
            lo[i] -= EPS
            fd[i] = (L(dict(base, **{name: hi.reshape(a.shape)})) - L(dict(base, **{name: lo.reshape(a.shape)}))) / (
                2 * EPS)
        f = os.path.join(out, f"grad_{name}.pb")
        if not os.path.exists(f):
            print(f"{c['name']:32s} FAIL: no gradient written for '{name}'")
            return False
        g = numpy_helper.to_array(onnx.load_tensor(f)).astype(np.float64).reshape(-1)
        err = float(np.max(np.abs(g - fd)) / max(np.max(np.abs(fd)), 1e-12)) if g.size == fd.size else 1e9
        errs.append(f"{name} {err:.1e}")
        ok &= err <= TOL
    print(f"{c['name']:32s} loss {got_loss:.6f} (ref {want:.6f})  max rel err vs fd: {', '.join(errs)}  "
          f"{'ok' if ok else 'FAIL'}")
    return ok


CASES = [
    make("rnn_forward", "RNN"),
    make("rnn_bidir_layout1_lens", "RNN", direction="bidirectional", layout=1, lens=[3, 0]),
    make("rnn_reverse_acts", "RNN", direction="reverse", activations=["LeakyRelu"], activation_alpha=[0.2]),
    make("gru_forward", "GRU"),
    make("gru_bidir_lbr_lens", "GRU", direction="bidirectional", lens=[2, 3], linear_before_reset=1),
    make("gru_reverse_layout1_clip", "GRU", direction="reverse", layout=1, clip=0.8),
    make("lstm_forward_peep", "LSTM", peep=True, outs=("Y", "Y_h", "Y_c")),
    make("lstm_bidir_lens_layout1", "LSTM", direction="bidirectional", layout=1, lens=[1, 3], peep=True,
         outs=("Y", "Y_c")),
    make("lstm_reverse_input_forget", "LSTM", direction="reverse", input_forget=1, peep=True, outs=("Y_h", "Y_c")),
    make("lstm_acts_alpha", "LSTM", activations=["HardSigmoid", "ScaledTanh", "Softsign"],
         activation_alpha=[0.3, 0.9], activation_beta=[0.5, 1.1], outs=("Y",)),
]

only = sys.argv[1:]
ok = True
for c in CASES:
    if not only or any(s in c["name"] for s in only):
        ok &= check(c)
sys.exit(0 if ok else 1)
