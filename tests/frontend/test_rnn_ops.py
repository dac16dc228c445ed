"""RNN, GRU and LSTM paths the ONNX backend cases leave untested, checked
with `onnxc check` against a numpy reference written here from the ONNX
operator docs (float64): reverse and bidirectional directions, layout 0 and
1, sequence_lens (rows of different lengths, one of length 0), initial_h /
initial_c, peepholes, input_forget, linear_before_reset 0 and 1, clip, the
activations with alpha / beta, and omitted outputs (Y only, Y_c only)."""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, run_onnxc, workdir

onnx = require("onnx")
np = require("numpy")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

rng = np.random.default_rng(11)
vi = helper.make_tensor_value_info
NP2ONNX = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int32): TensorProto.INT32}

# name -> (function of x, alpha, beta), defaults as the ONNX ops of that name
ACTS = {
    "Relu": lambda x, a, b: np.maximum(x, 0),
    "Tanh": lambda x, a, b: np.tanh(x),
    "Sigmoid": lambda x, a, b: 1 / (1 + np.exp(-x)),
    "Affine": lambda x, a, b: a * x + b,
    "LeakyRelu": lambda x, a, b: np.where(x < 0, a * x, x),
    "ThresholdedRelu": lambda x, a, b: np.where(x > a, x, 0),
    "ScaledTanh": lambda x, a, b: a * np.tanh(b * x),
    "HardSigmoid": lambda x, a, b: np.clip(a * x + b, 0, 1),
    "Elu": lambda x, a, b: np.where(x < 0, a * (np.exp(x) - 1), x),
    "Softsign": lambda x, a, b: x / (1 + np.abs(x)),
    "Softplus": lambda x, a, b: np.log1p(np.exp(x)),
}
NEEDS = {"Affine": (1, 1), "LeakyRelu": (1, 0), "ThresholdedRelu": (1, 0), "ScaledTanh": (1, 1),
         "HardSigmoid": (1, 1), "Elu": (1, 0)}
DEFAULTS = {"Affine": (1.0, 0.0), "LeakyRelu": (0.01, 0.0), "ThresholdedRelu": (1.0, 0.0),
            "ScaledTanh": (1.0, 1.0), "HardSigmoid": (0.2, 0.5), "Elu": (1.0, 0.0)}


def act_list(op, dirs, names, alphas, betas):
    """Per direction, the list of (fn, alpha, beta); alpha / beta lists are
    consumed in order by the activations that take them."""
    n = {"RNN": 1, "GRU": 2, "LSTM": 3}[op]
    names = names or {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}[op] * dirs
    al, be = list(alphas or []), list(betas or [])
    out = []
    for nm in names:
        a, b = DEFAULTS.get(nm, (0.0, 0.0))
        na, nb = NEEDS.get(nm, (0, 0))
        if na and al:
            a = al.pop(0)
        if nb and be:
            b = be.pop(0)
        out.append((ACTS[nm], a, b))
    return [out[d * n:(d + 1) * n] for d in range(dirs)]


def rnn_ref(op, X, W, R, B=None, lens=None, h0=None, c0=None, P=None, direction="forward", layout=0,
            acts=None, alphas=None, betas=None, clip=None, lbr=0, input_forget=0, dtype=np.float32):
    X, W, R = (np.asarray(v, dtype=np.float64) for v in (X, W, R))
    if layout:
        X = X.transpose(1, 0, 2)
        h0 = None if h0 is None else h0.transpose(1, 0, 2)
        c0 = None if c0 is None else c0.transpose(1, 0, 2)
    S, N, _ = X.shape
    D, GH, _ = W.shape
    H = R.shape[2]
    fs = act_list(op, D, acts, alphas, betas)
    lens = np.full(N, S) if lens is None else lens
    Y = np.zeros((S, D, N, H))
    Yh, Yc = np.zeros((D, N, H)), np.zeros((D, N, H))
    cl = (lambda v: np.clip(v, -clip, clip)) if clip is not None else (lambda v: v)
    for d in range(D):
        f = [lambda v, a=a: a[0](cl(v), a[1], a[2]) for a in fs[d]]
        Wb, Rb = (np.zeros(GH), np.zeros(GH)) if B is None else (B[d, :GH], B[d, GH:])
        Pd = np.zeros(3 * H) if P is None else P[d]
        rev = direction == "reverse" or d == 1
        for n in range(N):
            h = np.zeros(H) if h0 is None else h0[d, n].astype(np.float64)
            c = np.zeros(H) if c0 is None else c0[d, n].astype(np.float64)
            L = min(int(lens[n]), S)  # the bad-length case only needs some expected data
            for t in (range(L - 1, -1, -1) if rev else range(L)):
                xw = W[d] @ X[t, n] + Wb
                if op == "RNN":
                    h = f[0](xw + R[d] @ h + Rb)
                elif op == "GRU":
                    hr = R[d] @ h + Rb
                    z = f[0](xw[:H] + hr[:H])
                    r = f[0](xw[H:2 * H] + hr[H:2 * H])
                    if lbr:
                        hh = f[1](xw[2 * H:] + r * hr[2 * H:])
                    else:
                        hh = f[1](xw[2 * H:] + R[d][2 * H:] @ (r * h) + Rb[2 * H:])
                    h = (1 - z) * hh + z * h
                else:
                    g = xw + R[d] @ h + Rb
                    i = f[0](g[:H] + Pd[:H] * c)
                    fg = 1 - i if input_forget else f[0](g[2 * H:3 * H] + Pd[2 * H:] * c)
                    c = fg * c + i * f[1](g[3 * H:])
                    o = f[0](g[H:2 * H] + Pd[H:2 * H] * c)
                    h = o * f[2](c)
                Y[t, d, n] = h
            Yh[d, n], Yc[d, n] = h, c
    if layout:
        Y, Yh, Yc = Y.transpose(2, 0, 1, 3), Yh.transpose(1, 0, 2), Yc.transpose(1, 0, 2)
    return Y.astype(dtype), Yh.astype(dtype), Yc.astype(dtype)


def write_case(name, node, opset, inputs, outputs):
    d = os.path.join(workdir("rnn_ops"), name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    g = helper.make_graph([node], name, [vi(k, NP2ONNX[v.dtype], v.shape) for k, v in inputs.items()],
                          [vi(k, NP2ONNX[v.dtype], v.shape) for k, v in outputs.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.save(m, os.path.join(d, "model.onnx"))
    for kind, tensors in (("input", inputs), ("output", outputs)):
        for i, (k, v) in enumerate(tensors.items()):
            with open(os.path.join(d, "test_data_set_0", f"{kind}_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(v, k).SerializeToString())
    return d


def case(name, op, S=5, N=3, I=4, H=6, direction="forward", layout=0, bias=True, lens=None, init=False,
         peep=False, acts=None, alphas=None, betas=None, clip=None, lbr=0, input_forget=0, outs=("Y", "Y_h")):
    G = {"RNN": 1, "GRU": 3, "LSTM": 4}[op]
    D = 2 if direction == "bidirectional" else 1
    f = lambda *s: (rng.standard_normal(s) * 0.7).astype(np.float32)  # noqa: E731
    X = f(*((N, S, I) if layout else (S, N, I)))
    ins = {"X": X, "W": f(D, G * H, I), "R": f(D, G * H, H)}
    names = ["X", "W", "R"]
    opt = {}
    if bias:
        opt["B"] = f(D, 2 * G * H)
    if lens is not None:
        opt["sequence_lens"] = np.array(lens, dtype=np.int32)
    if init:
        opt["initial_h"] = f(*((N, D, H) if layout else (D, N, H)))
        if op == "LSTM":
            opt["initial_c"] = f(*((N, D, H) if layout else (D, N, H)))
    if peep:
        opt["P"] = f(D, 3 * H)
    order = ["B", "sequence_lens", "initial_h"] + (["initial_c", "P"] if op == "LSTM" else [])
    last = max([i for i, k in enumerate(order) if k in opt], default=-1)
    for k in order[:last + 1]:
        names.append(k if k in opt else "")
        if k in opt:
            ins[k] = opt[k]
    Y, Yh, Yc = rnn_ref(op, X, ins["W"], ins["R"], opt.get("B"), opt.get("sequence_lens"), opt.get("initial_h"),
                        opt.get("initial_c"), opt.get("P"), direction, layout, acts, alphas, betas, clip, lbr,
                        input_forget)
    all_outs = {"Y": Y, "Y_h": Yh, "Y_c": Yc}
    out_names = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    last = max(i for i, k in enumerate(out_names) if k in outs)
    attrs = {"hidden_size": H, "direction": direction}
    if layout:
        attrs["layout"] = layout
    if acts:
        attrs["activations"] = acts
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    if clip is not None:
        attrs["clip"] = clip
    if lbr:
        attrs["linear_before_reset"] = lbr
    if input_forget:
        attrs["input_forget"] = input_forget
    node = helper.make_node(op, names, [k if k in outs else "" for k in out_names[:last + 1]], **attrs)
    return write_case(name, node, 14, ins, {k: all_outs[k] for k in out_names if k in outs})


def main():
    cases = [
        case("rnn_reverse_layout1", "RNN", direction="reverse", layout=1, init=True),
        case("rnn_bidir_lens", "RNN", direction="bidirectional", lens=[5, 2, 0], init=True),
        case("rnn_acts_alpha", "RNN", direction="bidirectional", acts=["LeakyRelu", "ScaledTanh"],
             alphas=[0.1, 0.8], betas=[1.3]),
        case("rnn_affine_hardsigmoid", "RNN", direction="bidirectional", acts=["Affine", "HardSigmoid"],
             alphas=[0.5, 0.3], betas=[0.1, 0.4]),
        case("rnn_elu_softsign", "RNN", direction="bidirectional", acts=["Elu", "Softsign"], clip=1.5),
        case("rnn_softplus_thresholded", "RNN", direction="bidirectional", acts=["Softplus", "ThresholdedRelu"],
             alphas=[0.2]),
        case("gru_bidir_layout1_lbr", "GRU", direction="bidirectional", layout=1, init=True, lbr=1),
        case("gru_reverse_lens", "GRU", direction="reverse", lens=[3, 5, 1], init=True),
        case("gru_bidir_lens_clip", "GRU", direction="bidirectional", lens=[4, 1, 5], clip=0.9, lbr=1),
        case("gru_acts", "GRU", acts=["HardSigmoid", "Relu"], alphas=[0.3], betas=[0.6], bias=False),
        case("gru_y_only", "GRU", direction="bidirectional", outs=("Y",)),
        case("lstm_bidir_peep_layout1", "LSTM", direction="bidirectional", layout=1, init=True, peep=True),
        case("lstm_reverse_lens_peep", "LSTM", direction="reverse", lens=[2, 5, 0], init=True, peep=True),
        case("lstm_bidir_clip_acts", "LSTM", direction="bidirectional", clip=0.7,
             acts=["HardSigmoid", "Tanh", "Softsign", "Sigmoid", "Elu", "Tanh"], alphas=[0.25, 0.9], betas=[0.45]),
        case("lstm_input_forget", "LSTM", input_forget=1, init=True, peep=True),
        case("lstm_yc_only", "LSTM", direction="bidirectional", lens=[5, 3, 4], init=True, outs=("Y_c",)),
        case("lstm_long_batch", "LSTM", S=17, N=9, I=13, H=11, direction="bidirectional", init=True),
    ]

    failed = False
    rc, outp, err = run_onnxc(["check", *cases])
    print(outp, err, end="")
    if rc != 0 or f"{len(cases)} passed, 0 failed" not in outp:
        failed = True
        print("FAIL: onnxc check on the cases above")

    # untrusted input: a sequence length past the sequence is an error naming it, not a read out of bounds
    bad = case("rnn_bad_lens", "RNN", lens=[5, 6, 1])
    rc, outp, err = run_onnxc(["check", bad])
    msg = (outp + err).strip().splitlines()
    print(f"sequence_lens 6 for a sequence of 5: exit {rc}: {[m for m in msg if 'sequence_lens' in m][:1]}")
    if rc == 0 or "sequence_lens" not in outp + err:
        failed = True
        print("FAIL: expected a failure naming sequence_lens")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
