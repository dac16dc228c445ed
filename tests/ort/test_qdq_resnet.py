"""An int8 QDQ-quantized ResNet-18 runs in onnxc with ONNX Runtime's outputs
(issue #15's real-model bar for quantized models).

The model: torchvision resnet18 (10 classes, seeded random weights, seeded
random BatchNorm statistics so that folding BN gives every output channel
its own weight range), eval mode, exported by torch.onnx.export at opset 13
(BN folds into the Convs) for a 4x3x112x112 input.

Quantization is written here with onnx.helper, in the layout ONNX Runtime's
static quantizer writes (QDQ, uint8 activations / int8 weights):
  * every float activation (the graph input and every node's output) passes
    through QuantizeLinear -> DequantizeLinear, uint8, per tensor, with an
    asymmetric min/max range (always holding 0) calibrated on 3 seeded
    random batches; MaxPool and Flatten outputs reuse their input's
    parameters (ORT's quantizer does the same, so ORT runs them on uint8);
  * Conv and Gemm weights are int8 initializers, symmetric per output
    channel (axis 0, zero point 0, scale max|w| / 127), read through
    DequantizeLinear;
  * biases are int32 initializers read through DequantizeLinear with the
    per-channel scale s_x * s_w[c] and an int32 zero point of 0.
So every op sits between DQ and Q. ONNX Runtime 1.30 (graph optimization
level 'all') fuses them into its integer kernels: 20 QLinearConv, 8
QLinearAdd, QLinearGlobalAveragePool, QGemm, and MaxPool on uint8; the 17
Relus stay DQ -> Relu -> Q in float (their range is not the Conv output's).

Calibration and the second reference use a small PyTorch interpreter of the
ONNX graph written here (torch.nn.functional per node; QuantizeLinear as
clamp(round_half_even(x / s) + zp), DequantizeLinear as (q - zp) * s), first
checked against the torch module on the float graph (max abs diff <= 1e-4).

Checks, on the 4 seeded test images:
  1. onnxc on the float graph matches torch (max abs diff <= 1e-4 x scale),
     as does the interpreter: the baseline the quantized runs start from.
  2. Per layer, teacher-forced: onnxc runs a copy of the QDQ graph whose
     QuantizeLinear outputs are also graph outputs (onnxc has no QDQ fusion,
     so the copy computes the same; its logits must be identical). Each of
     the 50 quantized tensors is recomputed in float64 from onnxc's own
     quantized inputs and must equal onnxc's uint8 values, except elements
     off by 1 whose exact x / s lies within BOUNDARY_EPS = 1e-3 steps of a .5
     rounding boundary (float32's summation order decides those). Measured:
     16 of 5,984,296 values differ, the farthest 1.7e-5 steps from a
     boundary.
  3. Logits: onnxc on the QDQ graph vs ONNX Runtime on the QDQ graph, and
     vs the PyTorch emulation of the QDQ graph (float32): max abs diff
     <= QDQ_TOL_STEPS = 10 steps of the output quantizer (the logits are
     DequantizeLinear outputs on a grid of step s_out = 0.023, so 10 steps
     is 0.23, 6% of max |logit| 3.85), and the same argmax for every image
     whose reference top-2 margin exceeds twice the tolerance.
Why steps and not 1e-4: two evaluations that both follow the ONNX
definition round a value one step apart wherever it falls within float
error of a .5 boundary; such flips (16 above) propagate through the 20
quantized layers. The emulation in float32 vs in float64 (both correct)
differs by 4 steps at the logits (printed as the noise floor); ORT, which
requantizes int32 accumulations with its own float multipliers in every
fused kernel, measured 7. Bugs land well outside: in the emulation,
dropping the int32 biases moves the logits 26 steps from ORT's, collapsing
the per-channel weight scales to one 82, shifting an activation zero point
by one 92. (Round-half-even vs half-up is invisible at this level, as exact
ties are rare; the ONNX node tests check it.)

ONNX Runtime is npm onnxruntime-node, installed by this test as
tests/ort/test_export_ort.py does; without Node, npm or the package the
test exits 77 (CTest skip), never a pass."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from common import require, run_onnxc, workdir  # noqa: E402

np = require("numpy")
torch = require("torch")
torchvision = require("torchvision")
onnx = require("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

F = torch.nn.functional
HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 13  # per-axis DequantizeLinear (the weights' per-channel scales) is opset 13
SHAPE = (4, 3, 112, 112)
CLASSES = 10
CALIB_BATCHES = 3
FLOAT_TOL = 1e-4  # x max(1, max |logit|), as tests/ort/test_export_ort.py
QDQ_TOL_STEPS = 10  # output-quantizer steps; see the docstring
BOUNDARY_EPS = 1e-3  # steps; float32 rounding in a Conv sum, see check_layers
KEEP_PARAMS = ("MaxPool", "Flatten")  # output shares the input's quantization
FLOAT_OPS = {"Conv", "Relu", "MaxPool", "Add", "GlobalAveragePool", "Flatten", "Gemm"}


# ---------------------------------------------------------------- model

def build_model():
    torch.manual_seed(0)
    m = torchvision.models.resnet18(num_classes=CLASSES)
    g = torch.Generator().manual_seed(1)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            c = mod.num_features
            mod.weight.data = torch.rand(c, generator=g) + 0.5
            mod.bias.data = torch.randn(c, generator=g) * 0.1
            mod.running_mean = torch.randn(c, generator=g) * 0.1
            mod.running_var = torch.rand(c, generator=g) + 0.5
    return m.eval()


def export(m, path):
    torch.onnx.export(m, torch.zeros(SHAPE), path, opset_version=OPSET,
                      input_names=["x"], output_names=["logits"])
    model = onnx.load(path)
    ops = {n.op_type for n in model.graph.node}
    if not ops <= FLOAT_OPS:
        raise AssertionError(f"unexpected ops in the export: {sorted(ops - FLOAT_OPS)}")
    return model


# ---------------------------------------------------------------- reference interpreter

def attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def per_axis(t, rank, axis):
    """A 1-D scale / zero point shaped to broadcast along axis of a rank-D tensor."""
    if t.numel() == 1:
        return t.reshape(())
    shape = [1] * rank
    shape[axis] = t.numel()
    return t.reshape(shape)


def quantize(x, s, zp, axis):
    lo, hi = (0, 255) if zp.dtype == torch.uint8 else (-128, 127)
    s, z = per_axis(s, x.dim(), axis), per_axis(zp.to(torch.int64), x.dim(), axis)
    q = torch.round(x / s).to(torch.int64) + z  # torch.round is half to even, as ONNX
    return torch.clamp(q, lo, hi).to(zp.dtype)


def dequantize(q, s, zp, axis):
    s, z = per_axis(s, q.dim(), axis), per_axis(zp.to(torch.int64), q.dim(), axis)
    return (q.to(torch.int64) - z).to(torch.float32) * s


def run_node(n, ins):
    """One node on torch tensors (float32 or float64 alike)."""
    a, t = attrs(n), n.op_type
    if t == "Conv":
        p = list(a.get("pads", [0, 0, 0, 0]))
        assert p[:2] == p[2:], f"{n.name}: asymmetric pads {p}"
        return F.conv2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None, stride=a.get("strides", 1),
                        padding=p[:2], dilation=a.get("dilations", 1), groups=a.get("group", 1))
    if t == "Relu":
        return torch.relu(ins[0])
    if t == "MaxPool":
        p = list(a.get("pads", [0, 0, 0, 0]))
        assert p[:2] == p[2:], f"{n.name}: asymmetric pads {p}"
        return F.max_pool2d(ins[0], a["kernel_shape"], a.get("strides", 1), p[:2],
                            ceil_mode=bool(a.get("ceil_mode", 0)))
    if t == "Add":
        return ins[0] + ins[1]
    if t == "GlobalAveragePool":
        return ins[0].mean(dim=(2, 3), keepdim=True)
    if t == "Flatten":
        return ins[0].reshape(ins[0].shape[0], -1)
    if t == "Gemm":
        A = ins[0].T if a.get("transA", 0) else ins[0]
        B = ins[1].T if a.get("transB", 0) else ins[1]
        return a.get("alpha", 1.0) * (A @ B) + a.get("beta", 1.0) * ins[2]
    if t == "QuantizeLinear":
        return quantize(ins[0], ins[1], ins[2], a.get("axis", 1))
    if t == "DequantizeLinear":
        return dequantize(ins[0], ins[1], ins[2], a.get("axis", 1))
    raise AssertionError(f"interpreter has no {t}")


def initializers(model):
    return {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in model.graph.initializer}


def evaluate(model, x, dtype=torch.float32):
    """Runs the graph with torch ops in dtype (DequantizeLinear outputs are
    float32 by definition, then widened); returns every value by name."""
    v = initializers(model)
    v[model.graph.input[0].name] = torch.from_numpy(x).to(dtype)
    for n in model.graph.node:
        v[n.output[0]] = run_node(n, widen(n, [v[i] if i else None for i in n.input], dtype))
    return v


def widen(n, ins, dtype):
    """The compute ops' float inputs in dtype; QuantizeLinear divides by its
    float32 scale in the wider type, DequantizeLinear stays float32."""
    if n.op_type == "DequantizeLinear":
        return ins
    if n.op_type == "QuantizeLinear":
        return [ins[0].to(dtype)] + ins[1:]
    return [i.to(dtype) if i is not None and i.is_floating_point() else i for i in ins]


# ---------------------------------------------------------------- QDQ rewrite

def activation_params(lo, hi):
    """uint8, asymmetric: [lo, hi] widened to hold 0, mapped onto 0..255."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = np.float32((hi - lo) / 255.0 if hi > lo else 1.0)
    zp = np.uint8(np.clip(np.round(-lo / float(scale)), 0, 255))
    return scale, zp


def weight_params(w, axis):
    """int8, symmetric per channel along axis: scale max|w_c| / 127, zero point 0."""
    red = tuple(i for i in range(w.ndim) if i != axis)
    m = np.max(np.abs(w), axis=red).astype(np.float32)
    scale = np.where(m > 0, m / np.float32(127), np.float32(1)).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
    return q, scale


def quantize_graph(model, ranges):
    g = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    new_inits, nodes, params = [], [], {}
    out_name = g.output[0].name
    producer = {o: n for n in g.node for o in n.output}

    def add_init(arr, name):
        new_inits.append(numpy_helper.from_array(arr, name))
        return name

    def qdq(t):
        """Q -> DQ after activation t; returns the name consumers read."""
        p = producer.get(t)
        if p is not None and p.op_type in KEEP_PARAMS:
            params[t] = params[p.input[0] + "_dq"]
        else:
            params[t] = activation_params(*ranges[t])
        s, z = params[t]
        src = t + "_f" if t == out_name else t
        nodes.append(helper.make_node("QuantizeLinear", [src, add_init(np.array(s), t + "_scale"),
                                                         add_init(np.array(z), t + "_zp")], [t + "_q"]))
        nodes.append(helper.make_node("DequantizeLinear", [t + "_q", t + "_scale", t + "_zp"],
                                      [out_name if t == out_name else t + "_dq"]))
        params[t + "_dq"] = params[t]

    def weight_dq(name, axis, in_scale, bias):
        w = inits[name]
        q, s = weight_params(w, axis)
        add_init(q, name + "_q")
        add_init(s, name + "_scale")
        add_init(np.zeros(s.shape, np.int8), name + "_zp")
        nodes.append(helper.make_node("DequantizeLinear", [name + "_q", name + "_scale", name + "_zp"],
                                      [name + "_dq"], axis=axis))
        if bias is None:
            return [name + "_dq"]
        bs = (np.float32(in_scale) * s).astype(np.float32)
        bq = np.round(inits[bias].astype(np.float64) / bs).astype(np.int32)
        add_init(bq, bias + "_q")
        add_init(bs, bias + "_scale")
        add_init(np.zeros(bs.shape, np.int32), bias + "_zp")
        nodes.append(helper.make_node("DequantizeLinear", [bias + "_q", bias + "_scale", bias + "_zp"],
                                      [bias + "_dq"], axis=0))
        return [name + "_dq", bias + "_dq"]

    qdq(g.input[0].name)
    for n in g.node:
        ins = list(n.input)
        for i, t in enumerate(ins):
            if t and t not in inits:
                ins[i] = t + "_dq"
        if n.op_type in ("Conv", "Gemm"):
            axis = 0 if n.op_type == "Conv" or attrs(n).get("transB", 0) else 1
            ins[1:] = weight_dq(n.input[1], axis, params[ins[0]][0], n.input[2] if len(n.input) > 2 else None)
        outs = [o + "_f" if o == out_name else o for o in n.output]
        nodes.append(helper.make_node(n.op_type, ins, outs, name=n.name, **attrs(n)))
        qdq(n.output[0])
    used = {i for nd in nodes for i in nd.input}
    kept = [i for i in g.initializer if i.name in used]
    graph = helper.make_graph(nodes, g.name + "_qdq", list(g.input), list(g.output), kept + new_inits)
    qm = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                           producer_name="onnxc tests/ort/test_qdq_resnet.py")
    onnx.checker.check_model(qm)
    return qm, params[out_name][0]


# ---------------------------------------------------------------- per-layer check

def probe_model(qmodel):
    """The QDQ model with every QuantizeLinear output also a graph output
    (onnxc has no QDQ fusion, so this changes nothing it computes)."""
    pm = onnx.ModelProto()
    pm.CopyFrom(qmodel)
    for n in qmodel.graph.node:
        if n.op_type == "QuantizeLinear":
            pm.graph.output.append(helper.make_tensor_value_info(n.output[0], TensorProto.UINT8, None))
    return pm


def npy_name(name):
    """The file name `onnxc run -o` gives an output (tools/cmd_run.c)."""
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in name) + ".npy"


def check_layers(qmodel, x, qdir):
    """Teacher-forced: each quantized tensor recomputed in float64 from
    onnxc's own quantized inputs must equal onnxc's, except elements whose
    exact value x / s lies within BOUNDARY_EPS of a rounding boundary (there
    float32's summation order decides); returns failures."""
    v = initializers(qmodel)
    v[qmodel.graph.input[0].name] = torch.from_numpy(x).to(torch.float64)
    total = flips = largest = 0
    worst_dist, worst = 0.0, ""
    problems = []
    for n in qmodel.graph.node:
        ins = widen(n, [v[i] if i else None for i in n.input], torch.float64)
        if n.op_type != "QuantizeLinear":
            v[n.output[0]] = run_node(n, ins)
            continue
        got = torch.from_numpy(np.load(os.path.join(qdir, npy_name(n.output[0]))))
        want = run_node(n, ins)
        v[n.output[0]] = got  # downstream reads onnxc's tensor
        if got.shape != want.shape or got.dtype != want.dtype:
            problems.append(f"{n.output[0]}: onnxc {got.dtype} {list(got.shape)} vs {want.dtype} {list(want.shape)}")
            continue
        d = got.to(torch.int64) - want.to(torch.int64)
        ratio = ins[0] / ins[1].to(torch.float64)
        dist = torch.abs(ratio - torch.floor(ratio) - 0.5)  # from the nearest .5
        bad = d != 0
        total += got.numel()
        flips += int(bad.sum())
        largest = max(largest, int(d.abs().max()))
        if bad.any():
            md = float(dist[bad].max())
            if md > worst_dist:
                worst_dist, worst = md, n.output[0]
            if int(d.abs().max()) > 1 or md > BOUNDARY_EPS:
                problems.append(f"{n.output[0]}: {int(bad.sum())} of {got.numel()} differ, by up to "
                                f"{int(d.abs().max())}, up to {md:.3g} steps from a rounding boundary")
    ok = not problems
    print(f"  per layer, onnxc vs float64 from onnxc's inputs: {flips} of {total} quantized values differ "
          f"(by at most {largest}, at most {worst_dist:.2e} steps from a .5 boundary"
          f"{', in ' + worst if worst else ''}; "
          f"allowed {BOUNDARY_EPS:g}) -> {'ok' if ok else 'FAIL'}")
    return [f"per layer: {p}" for p in problems]


# ---------------------------------------------------------------- runs and checks

def run_onnxc_model(path, spec, d):
    out = os.path.join(d, "onnxc_" + os.path.basename(path)[:-5])
    rc, so, se = run_onnxc(["run", path, "-i", spec, "-o", out, "--top", "0"])
    if rc != 0:
        raise AssertionError(f"onnxc run {path} failed ({rc}): {se.strip()[-1500:]}")
    return np.load(os.path.join(out, "logits.npy")), out


def run_ort_model(node, modules, path, spec, d):
    out = os.path.join(d, "ort")
    env = dict(os.environ, ORT_NODE_MODULES=modules)
    p = subprocess.run([node, os.path.join(HERE, "run_ort.js"), path, out, spec],
                       capture_output=True, text=True, timeout=600, env=env)
    if p.returncode != 0:
        raise AssertionError(f"ONNX Runtime failed ({p.returncode}): {p.stderr.strip()[-1500:]}")
    return np.load(os.path.join(out, "logits.npy"))


def compare(what, got, ref, tol, step=None):
    """Prints the max abs diff (and in output steps); returns a failure or None."""
    if got.shape != ref.shape:
        return f"{what}: shape {list(got.shape)} vs {list(ref.shape)}"
    diff = float(np.max(np.abs(got.astype(np.float64) - ref.astype(np.float64))))
    top2 = np.sort(ref, 1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 2 * tol  # images whose top-1 cannot move within tol
    agree = int(np.sum((np.argmax(got, 1) == np.argmax(ref, 1))[clear]))
    steps = f" = {diff / step:.2f} steps of {step:.4g}" if step else ""
    ok = bool(np.isfinite(got).all()) and diff <= tol and agree == int(clear.sum())
    print(f"  {what}: max abs diff {diff:.4g}{steps} (tolerance {tol:.4g}), argmax agrees on "
          f"{agree} of the {int(clear.sum())} images with a clear top-1 (of {got.shape[0]}) "
          f"-> {'ok' if ok else 'FAIL'}")
    return None if ok else f"{what}: max abs diff {diff:.4g} (tolerance {tol:.4g}), argmax {agree}/{int(clear.sum())}"


def main():
    t0 = time.monotonic()
    wd = workdir("ort_qdq_resnet")
    from test_export_ort import install_ort  # exits 77 (skip) when ORT cannot be had
    node, modules = install_ort(wd)

    m = build_model()
    fpath, qpath = os.path.join(wd, "resnet18_float.onnx"), os.path.join(wd, "resnet18_qdq.onnx")
    fmodel = export(m, fpath)
    rng = np.random.default_rng(2024)
    x = rng.standard_normal(SHAPE).astype(np.float32)
    spec = f"x={os.path.join(wd, 'x.npy')}"
    np.save(os.path.join(wd, "x.npy"), x)
    failures = []

    # the interpreter against torch on the float graph, then calibration
    with torch.no_grad():
        ref_float = m(torch.from_numpy(x)).numpy()
        interp = evaluate(fmodel, x)["logits"].numpy()
        ranges = {}  # activation name -> (min, max) over the calibration batches
        weights = {i.name for i in fmodel.graph.initializer}
        for _ in range(CALIB_BATCHES):
            vals = evaluate(fmodel, rng.standard_normal(SHAPE).astype(np.float32))
            for k, t in vals.items():
                if k not in weights:
                    lo, hi = ranges.get(k, (float("inf"), float("-inf")))
                    ranges[k] = (min(lo, float(t.min())), max(hi, float(t.max())))
    scale = max(1.0, float(np.max(np.abs(ref_float))))
    print(f"float resnet18 {list(SHAPE)}: max |logit| {float(np.max(np.abs(ref_float))):.4g}")
    failures.append(compare("interpreter (float) vs torch", interp, ref_float, FLOAT_TOL * scale))

    qmodel, s_out = quantize_graph(fmodel, ranges)
    onnx.save(qmodel, qpath)
    counts = {}
    for n in qmodel.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    print(f"QDQ graph: {len(ranges)} calibrated tensors; nodes {dict(sorted(counts.items()))}; "
          f"output step s_out = {s_out:.4g}")
    with torch.no_grad():
        emul = evaluate(qmodel, x)["logits"].numpy()
        emul64 = evaluate(qmodel, x, torch.float64)["logits"].numpy()
    nf = float(np.max(np.abs(emul.astype(np.float64) - emul64)))
    print(f"  noise floor: torch QDQ emulation in float32 vs float64: max abs diff {nf:.4g} = "
          f"{nf / s_out:.2f} steps")

    try:
        got_float, _ = run_onnxc_model(fpath, spec, wd)
        failures.append(compare("onnxc float vs torch", got_float, ref_float, FLOAT_TOL * scale))
        got, _ = run_onnxc_model(qpath, spec, wd)
        ppath = os.path.join(wd, "resnet18_qdq_probe.onnx")
        onnx.save(probe_model(qmodel), ppath)
        got_probe, qdir = run_onnxc_model(ppath, spec, wd)
        failures.append(compare("onnxc QDQ probe vs QDQ", got_probe, got, 0.0))
        failures += check_layers(qmodel, x, qdir)
        ort = run_ort_model(node, modules, qpath, spec, wd)
        tol = QDQ_TOL_STEPS * float(s_out)
        failures.append(compare("onnxc QDQ vs ORT QDQ", got, ort, tol, float(s_out)))
        failures.append(compare("onnxc QDQ vs torch QDQ emulation", got, emul, tol, float(s_out)))
        qerr = float(np.max(np.abs(got.astype(np.float64) - ref_float)))
        print(f"  (for scale) onnxc QDQ vs float torch: max abs diff {qerr:.4g} = {qerr / s_out:.1f} steps")
    except AssertionError as e:
        failures.append(str(e))
    failures = [f for f in failures if f]
    print(f"took {time.monotonic() - t0:.1f} s")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"int8 QDQ resnet18 matches ONNX Runtime and the PyTorch QDQ emulation within "
          f"{QDQ_TOL_STEPS} output steps, same argmax")


if __name__ == "__main__":
    main()
