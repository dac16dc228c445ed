"""Models with ONNX local functions (ModelProto.functions) run in onnxc
(issue #15's real-model bar: "a model exported with local functions").

onnxc inlines every call of a local function at import
(compiler/onnx_import.c, expand_call). Models:

  torch_blocks  a small residual CNN exported by PyTorch's exporter with
                export_modules_as_functions: each residual Block (Conv ->
                BatchNorm -> LeakyReLU, plus the skip) and each LeakyReLU
                becomes a local function; Block calls LeakyReLU, and the
                negative slope reaches LeakyRelu through two attribute
                references. Compared with PyTorch's output.
  hand_nested   written here with onnx.helper: a function with an attribute
                default (FunctionProto.attribute_proto, spliced in as raw
                protobuf because Debian's onnx 1.12 predates the field), an
                attribute that is declared but not given (the op's own
                default then applies), a function calling another one twice,
                and a call whose output name is not used by anything else.
                Compared with numpy.

Each output must be within 1e-5 (max abs diff). Files onnxc must refuse,
each with a message naming the cause: a function that calls itself, an
attribute reference outside any function, a reference to an attribute the
function does not declare, two functions with one name.

With --ort, both models also run under ONNX Runtime (npm onnxruntime-node,
installed as tests/ort/test_export_ort.py does) and onnxc is compared with
it; when Node, npm or the package is missing that mode exits 77 (CTest
skip), never a pass."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from common import compare_npy_outputs, refusal_problem, require, run_onnxc, workdir  # noqa: E402

np = require("numpy")
torch = require("torch")
onnx = require("onnx")
from onnx import helper as oh, TensorProto  # noqa: E402

nn = torch.nn
HERE = os.path.dirname(os.path.abspath(__file__))
MAX_ABS_DIFF = 1e-5


class Block(nn.Module):
    def __init__(self, c, slope):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.bn = nn.BatchNorm2d(c)
        self.act = nn.LeakyReLU(slope)

    def forward(self, x):
        return x + self.act(self.bn(self.conv(x)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.b1, self.b2 = Block(8, 0.1), Block(8, 0.3)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        return self.head(self.b2(self.b1(self.stem(x))).mean((2, 3)))


def torch_blocks(d):
    torch.manual_seed(0)
    m = Net().eval()
    with torch.no_grad():  # BatchNorm statistics that are not the identity
        for b in (m.b1, m.b2):
            b.bn.running_mean.uniform_(-0.5, 0.5)
            b.bn.running_var.uniform_(0.5, 2.0)
    x = torch.randn(2, 3, 16, 16)
    path = os.path.join(d, "torch_blocks.onnx")
    torch.onnx.export(m, (x,), path, opset_version=15, input_names=["x"], output_names=["y"],
                      export_modules_as_functions={Block, nn.LeakyReLU})
    mp = onnx.load(path)
    names = sorted(f.name for f in mp.functions)
    assert names == ["Block", "LeakyReLU"], f"the exporter wrote functions {names}, not Block and LeakyReLU"
    assert sum(n.op_type == "Block" for n in mp.graph.node) == 2, "the graph does not call Block twice"
    with torch.no_grad():
        ref = m(x).numpy()
    return path, {"x": x.numpy()}, {"y": ref}


def scaled_leaky_fn(with_default):
    """ScaledLeaky(x, b; scale, slope) = LeakyRelu(x * scale, slope) + b."""
    body = [oh.make_node("Constant", [], ["s"], value_float=0.0),
            oh.make_node("Mul", ["x", "s"], ["xs"]),
            oh.make_node("LeakyRelu", ["xs"], ["t"]),
            oh.make_node("Add", ["t", "b"], ["y"])]
    body[0].attribute[0].ref_attr_name = "scale"
    slope = oh.make_attribute("alpha", 0.0)
    slope.ref_attr_name = "slope"
    body[2].attribute.append(slope)
    f = oh.make_function("my.dom", "ScaledLeaky", ["x", "b"], ["y"], body, [oh.make_opsetid("", 17)],
                         ["scale"] if with_default else ["scale", "slope"])
    if with_default:  # FunctionProto.attribute_proto (field 11): slope defaults to 0.25
        raw = oh.make_attribute("slope", 0.25).SerializeToString()
        f.MergeFromString(bytes([(11 << 3) | 2, len(raw)]) + raw)
    return f


def hand_nested(d):
    leaky = scaled_leaky_fn(True)
    twice = oh.make_function("my.dom", "Twice", ["u", "c"], ["w"], [
        oh.make_node("ScaledLeaky", ["u", "c"], ["v"], domain="my.dom", scale=2.0),
        oh.make_node("ScaledLeaky", ["v", "c"], ["w"], domain="my.dom", scale=-1.0, slope=0.5)],
        [oh.make_opsetid("", 17), oh.make_opsetid("my.dom", 1)])
    # the same body with slope declared and never given: LeakyRelu's own alpha (0.01)
    plain = scaled_leaky_fn(False)
    plain.name = "ScaledLeakyPlain"
    nodes = [oh.make_node("Twice", ["X", "B"], ["Y"], domain="my.dom", name="call1"),
             oh.make_node("ScaledLeaky", ["Y", "B"], ["Z"], domain="my.dom", scale=3.0, name="call2"),
             oh.make_node("ScaledLeakyPlain", ["Z", "B"], ["P"], domain="my.dom", scale=-2.0, name="call3")]
    g = oh.make_graph(nodes, "g", [oh.make_tensor_value_info("X", TensorProto.FLOAT, [4, 3]),
                                   oh.make_tensor_value_info("B", TensorProto.FLOAT, [3])],
                      [oh.make_tensor_value_info("P", TensorProto.FLOAT, [4, 3]),
                       oh.make_tensor_value_info("Z", TensorProto.FLOAT, [4, 3])])
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 17), oh.make_opsetid("my.dom", 1)],
                      functions=[leaky, twice, plain])
    m.ir_version = 8
    path = os.path.join(d, "hand_nested.onnx")
    onnx.save(m, path)
    rng = np.random.RandomState(1)
    x, b = rng.randn(4, 3).astype(np.float32), np.array([0.1, -0.2, 0.3], np.float32)

    def sl(v, s, a):
        t = v * s
        return np.where(t >= 0, t, a * t) + b
    z = sl(sl(sl(x, 2.0, 0.25), -1.0, 0.5), 3.0, 0.25)
    return path, {"X": x, "B": b}, {"P": sl(z, -2.0, 0.01).astype(np.float32), "Z": z.astype(np.float32)}


def refused(d):
    """Files onnxc must refuse: (name, model, words the message must hold)."""
    x = [oh.make_tensor_value_info("X", TensorProto.FLOAT, [2])]
    opsets = [oh.make_opsetid("", 17), oh.make_opsetid("my.dom", 1)]
    cases = []
    loop = oh.make_function("my.dom", "Loop1", ["a"], ["b"],
                            [oh.make_node("Loop1", ["a"], ["b"], domain="my.dom")], opsets)
    cases.append(("recursive", oh.make_model(oh.make_graph([oh.make_node("Loop1", ["X"], ["Y"], domain="my.dom")], "g",
                                                        x, [oh.make_tensor_value_info("Y", TensorProto.FLOAT, [2])]),
                                          opset_imports=opsets, functions=[loop]), "nest more than"))
    ref = oh.make_node("LeakyRelu", ["X"], ["Y"])
    a = oh.make_attribute("alpha", 0.0)
    a.ref_attr_name = "slope"
    ref.attribute.append(a)
    cases.append(("ref_outside", oh.make_model(oh.make_graph([ref], "g", x, [oh.make_tensor_value_info(
        "Y", TensorProto.FLOAT, [2])]), opset_imports=opsets), "not in a local function"))
    undeclared = scaled_leaky_fn(False)
    del undeclared.attribute[:]
    undeclared.attribute.append("scale")
    cases.append(("undeclared", oh.make_model(oh.make_graph(
        [oh.make_node("ScaledLeaky", ["X", "X"], ["Y"], domain="my.dom", scale=1.0)], "g", x,
        [oh.make_tensor_value_info("Y", TensorProto.FLOAT, [2])]), opset_imports=opsets, functions=[undeclared]),
        "does not declare"))
    cases.append(("duplicate", oh.make_model(oh.make_graph(
        [oh.make_node("ScaledLeaky", ["X", "X"], ["Y"], domain="my.dom", scale=1.0)], "g", x,
        [oh.make_tensor_value_info("Y", TensorProto.FLOAT, [2])]), opset_imports=opsets,
        functions=[scaled_leaky_fn(False), scaled_leaky_fn(False)]), "are both 'ScaledLeaky'"))
    out = []
    for name, m, words in cases:
        m.ir_version = 8
        p = os.path.join(d, f"bad_{name}.onnx")
        onnx.save(m, p)
        out.append((name, p, words))
    return out


def save_inputs(inputs, d):
    specs = []
    for k, v in inputs.items():
        p = os.path.join(d, f"in_{k}.npy")
        np.save(p, v)
        specs.append(f"{k}={p}")
    return specs


def compare(name, got_dir, ref, what):
    return compare_npy_outputs(name, got_dir, ref, what, MAX_ABS_DIFF)


def main():
    use_ort = "--ort" in sys.argv[1:]
    wd = workdir("ort_functions" if use_ort else "local_functions")
    if use_ort:
        from test_export_ort import install_ort  # exits 77 (skip) when ORT cannot be had
        node, modules = install_ort(wd)
    failures = []
    for name, build in (("torch_blocks", torch_blocks), ("hand_nested", hand_nested)):
        d = os.path.join(wd, name)
        os.makedirs(d, exist_ok=True)
        path, inputs, ref = build(d)
        specs = save_inputs(inputs, d)
        got = os.path.join(d, "onnxc")
        rc, so, se = run_onnxc(["run", path, *sum((["-i", s] for s in specs), []), "-o", got, "--top", "0"])
        if rc != 0:
            failures.append(f"{name}: onnxc run failed ({rc}): {se.strip()}")
            continue
        if use_ort:
            ort_dir = os.path.join(d, "ort")
            env = dict(os.environ, ORT_NODE_MODULES=modules)
            p = subprocess.run([node, os.path.join(HERE, "run_ort.js"), path, ort_dir, *specs],
                               capture_output=True, text=True, timeout=600, env=env)
            if p.returncode != 0:
                failures.append(f"{name}: ONNX Runtime failed ({p.returncode}): {p.stderr.strip()[-1500:]}")
                continue
            ref = {o: np.load(os.path.join(ort_dir, f"{o}.npy")) for o in ref}
        failures += compare(name, got, ref, "ORT" if use_ort else "reference")
    if not use_ort:
        for name, path, words in refused(wd):
            rc, so, se = run_onnxc(["info", path])
            problem = refusal_problem(name, rc, se, words)
            if problem:
                failures.append(problem)
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"both models with local functions match {'ONNX Runtime' if use_ort else 'their references'}"
          f" within {MAX_ABS_DIFF:g}" + ("" if use_ort else "; the four bad files are refused"))


if __name__ == "__main__":
    main()
