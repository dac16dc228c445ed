"""Graph passes on real models, against PyTorch.

Models (random weights, BatchNorm statistics measured on random inputs,
eval mode, BatchNormalization kept as nodes:
training=PRESERVE, do_constant_folding=False, dynamic batch axis):
  - torchvision resnet18 (Conv+BN+Relu, Conv+BN+Add+Relu residuals),
  - torchvision mobilenet_v2 (ReLU6 exported as Clip with constant bounds,
    residual Adds without activation),
  - a small net (opset 14, for HardSwish): residual blocks,
    LeakyRelu/HardSwish/Sigmoid after Conv,
    x.reshape(x.shape[0], -1) (Shape -> Gather -> Unsqueeze -> Concat ->
    Reshape with the symbolic batch), Dropout, x @ W + b (MatMul + Add)
    followed by Relu, and a Linear + Tanh;
  - a hand-written ONNX graph (opset 20) for what PyTorch 1.13 does not
    export as single ops: Conv + HardSigmoid, Conv + Gelu (tanh and exact),
    and Gemm + Add (residual) + Relu, against torch.nn.functional in float64.
For each: `onnxc run` with all passes and with --no-fuse, both compared with
PyTorch's output (max abs difference within 1e-4 of the output's largest
magnitude). Then `onnxc info --passes --json` must report exactly the
rewrites counted here from the ONNX graph itself (BatchNormalizations that
follow a Conv whose output nothing else reads; activations and residual
Adds that follow such a Conv, a Gemm or a MatMul + bias), and for resnet18 the counts its architecture
implies: 20 BN folded (17 convs + 3 downsample convs), 17 Conv+Relu fusions
(stem + first conv of 8 blocks + 8 residual Relus), 8 of them residual. The
--no-fuse report must show every rewrite off (fold and widen stay on). Unknown pass names are an
error listing the valid ones."""
import collections
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import SKIP, require, run_onnxc, workdir

torch = require("torch")
torchvision = require("torchvision")
onnx = require("onnx")
np = require("numpy")

ACTS = {"Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Gelu"}


class SmallNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        c = 8
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(3, c, 3, padding=1, bias=False), torch.nn.BatchNorm2d(c),
                                        torch.nn.ReLU())
        self.a1 = torch.nn.Conv2d(c, c, 3, padding=1)
        self.a2 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.b2 = torch.nn.BatchNorm2d(c)
        self.leaky = torch.nn.Conv2d(c, c, 1)
        self.hs = torch.nn.Sequential(torch.nn.Conv2d(c, c, 3, padding=1, groups=c), torch.nn.Hardswish())
        self.sig = torch.nn.Conv2d(c, c, 1)
        self.drop = torch.nn.Dropout(0.3)
        self.w = torch.nn.Parameter(torch.randn(c * 8 * 8, 16) * 0.05)
        self.b = torch.nn.Parameter(torch.randn(16) * 0.1)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)
        y = torch.relu(self.b2(self.a2(torch.relu(self.a1(x)))) + x)  # residual block
        y = torch.nn.functional.leaky_relu(self.leaky(y), 0.1)
        y = self.hs(y) + y                                               # residual, no activation after
        y = torch.sigmoid(self.sig(y)) * y
        y = torch.nn.functional.max_pool2d(y, 2)
        y = y.reshape(y.shape[0], -1)
        y = self.drop(y)
        y = torch.relu(y @ self.w + self.b)                              # MatMul + Add + Relu
        return torch.tanh(self.fc(y))


def calibrate(model, shape):
    """BatchNorm statistics of real activations (random inputs): with the
    default mean 0 / var 1 a deep random net's output shrinks to nothing
    and BN folding would be tested against the identity map only."""
    for mod in model.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.momentum = None  # cumulative average over the batches below
            mod.reset_running_stats()
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(*shape))
    model.eval()


def export(name, model, shape, opset=13):
    torch.manual_seed(0)
    calibrate(model, shape)
    x = torch.randn(*shape)
    path = os.path.join(workdir("passes"), f"{name}.onnx")
    torch.onnx.export(model, x, path, input_names=["input"], output_names=["output"], opset_version=opset,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    with torch.no_grad():
        ref = model(x).numpy()
    xp = os.path.join(workdir("passes"), f"{name}_input.npy")
    np.save(xp, x.numpy())
    return path, xp, ref


def run(path, xp, name, *flags, output="output"):
    out = os.path.join(workdir("passes"), f"{name}_out{'_'.join(f.strip('-') for f in flags)}")
    rc, so, se = run_onnxc(["run", path, "-i", xp, "-o", out, *flags])
    if rc != 0:
        raise AssertionError(f"onnxc run {' '.join(flags)} on {name} failed ({rc}): {se.strip()}")
    return np.load(os.path.join(out, f"{output}.npy"))


def expected_rewrites(path, batch):
    """Counts the rewrites the passes must make, from the ONNX graph: a BN is
    folded when its input is a Conv output read by nothing else; after that
    Conv (or its BN), a Gemm, or a 2-D MatMul by a weight plus a bias Add,
    an Add of a same-shaped value is a residual fusion and an activation
    (read once) is fused."""
    m = onnx.load(path)
    for vi in list(m.graph.input) + list(m.graph.output):
        vi.type.tensor_type.shape.dim[0].dim_value = batch
    m = onnx.shape_inference.infer_shapes(m, data_prop=True)
    shape = {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
             for vi in list(m.graph.value_info) + list(m.graph.output) + list(m.graph.input)}
    readers = collections.defaultdict(list)
    for n in m.graph.node:
        for v in n.input:
            if v:
                readers[v].append(n)
    outputs = {o.name for o in m.graph.output}
    producer = {v: n for n in m.graph.node for v in n.output}

    def sole_reader(v):
        return readers[v][0] if len(readers[v]) == 1 and v not in outputs else None

    weights = {t.name for t in m.graph.initializer}
    bn = 0
    conv_out = []  # value each Conv's (Gemm's) result ends up in after BN folding (MatMul + Add -> Gemm)
    for n in m.graph.node:
        v, r = n.output[0], sole_reader(n.output[0])
        if n.op_type == "Conv":
            if r is not None and r.op_type == "BatchNormalization" and len(r.output) == 1:
                bn += 1
                v = r.output[0]
        elif n.op_type == "MatMul":
            if not (len(shape.get(n.input[0], [])) == 2 and n.input[1] in weights and r is not None
                    and r.op_type == "Add" and (set(r.input) - {v}) <= weights):
                continue
            v = r.output[0]
        elif n.op_type != "Gemm":
            continue
        conv_out.append(v)
    acts, residual, claimed = 0, 0, set()
    for v in conv_out:
        r = sole_reader(v)
        if r is not None and r.op_type == "Add" and r.name not in claimed:
            other = r.input[1] if r.input[0] == v else r.input[0]
            if shape.get(other) == shape.get(v) == shape.get(r.output[0]) and other != v:
                claimed.add(r.name)
                residual += 1
                v = r.output[0]
                r = sole_reader(v)
        if r is not None and r.op_type in ACTS:
            acts += 1
    return {"bn": bn, "acts": acts, "residual": residual, "nodes": collections.Counter(n.op_type for n in m.graph.node),
            "producer": producer}


def reported(path, *flags):
    rc, so, se = run_onnxc(["info", path, "--passes", "--json", "--batch", "2", *flags])
    if rc != 0:
        raise AssertionError(f"onnxc info --passes failed ({rc}): {se.strip()}")
    passes = {p["name"]: p for p in json.loads(so)["passes"]}
    fuse = passes["fuse"]["notes"]
    return passes, {
        "bn": len(passes["bn_fold"]["notes"]),
        "acts": sum(1 for l in fuse if any(f"+ {a} '" in l for a in ACTS)),
        "residual": sum(1 for l in fuse if "(residual" in l),
    }


def check(name, model, shape, arch=None, opset=13):
    path, xp, ref = export(name, model, shape, opset)
    scale = float(np.abs(ref).max())
    ok = True
    for flags in [(), ("--no-fuse",)]:
        got = run(path, xp, name, *flags)
        err = float(np.abs(got - ref).max()) / scale
        good = got.shape == ref.shape and err <= 1e-4
        print(f"{name} {' '.join(flags) or '(all passes)'}: max |onnxc - PyTorch| / max |PyTorch| = {err:.2e} "
              f"(output scale {scale:.3g}) {'ok' if good else 'TOO FAR'}")
        ok &= good
    want = expected_rewrites(path, shape[0])
    passes, got = reported(path)
    for k in ("bn", "acts", "residual"):
        good = got[k] == want[k] and (arch is None or arch[k] == want[k])
        print(f"{name}: {k}: onnxc reports {got[k]}, counted in the model {want[k]}"
              f"{'' if arch is None else f', architecture {arch[k]}'} {'ok' if good else 'MISMATCH'}")
        ok &= good
    for p in passes.values():
        if not p["ran"]:
            print(f"{name}: pass {p['name']} did not run by default ({p['skipped']})")
            ok = False
    off, _ = reported(path, "--no-fuse")
    for p in off.values():
        want_on = p["group"] in ("fold", "types")  # widening stays on: float16 nodes need it
        if p["ran"] != want_on:
            print(f"{name}: --no-fuse: pass {p['name']} {'ran' if p['ran'] else 'skipped'}")
            ok = False
    return ok


ok = check("resnet18", torchvision.models.resnet18(), (2, 3, 224, 224), arch={"bn": 20, "acts": 17, "residual": 8})
ok &= check("mobilenet_v2", torchvision.models.mobilenet_v2(), (1, 3, 224, 224),
            arch={"bn": 52, "acts": 35, "residual": 10})
torch.manual_seed(1)
net = SmallNet()
for mod in net.modules():  # BN scale and shift away from the identity map
    if isinstance(mod, torch.nn.BatchNorm2d):
        mod.weight.data.uniform_(0.5, 1.5)
        mod.bias.data.uniform_(-0.2, 0.2)
ok &= check("small_net", net, (3, 3, 16, 16), opset=14)

# the small net exercises every pass: views, Dropout removal, MatMul+Add -> Gemm
path = os.path.join(workdir("passes"), "small_net.onnx")
passes, _ = reported(path)
notes = {k: p["notes"] for k, p in passes.items()}
need = [("identity", "runs as a view"), ("fuse", "MatMul '"), ("fuse", "+ LeakyRelu"), ("fuse", "+ HardSwish"),
        ("fuse", "+ Tanh"), ("fold", "folded Shape")]
for pname, text in need:
    hit = any(text in l for l in notes[pname])
    print(f"small_net: pass {pname} reports '{text}': {'yes' if hit else 'NO'}")
    ok &= hit



def handmade():
    """Activations PyTorch 1.13 does not export as single ops (Gelu is ONNX
    opset 20) and a Gemm residual, written with onnx.helper; the reference
    is torch.nn.functional in float64."""
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(3)
    f32 = lambda *s: (rng.standard_normal(s) * 0.3).astype(np.float32)
    w = {"W1": f32(4, 3, 3, 3), "B1": f32(4), "W2": f32(4, 4, 1, 1), "W3": f32(4, 4, 3, 3), "B3": f32(4),
         "W4": f32(16, 4 * 6 * 6), "B4": f32(16), "W5": f32(16, 16), "B5": f32(16)}
    nodes = [
        helper.make_node("Conv", ["x", "W1", "B1"], ["c1"], "conv1", pads=[1, 1, 1, 1]),
        helper.make_node("HardSigmoid", ["c1"], ["h1"], "hsig", alpha=0.3, beta=0.4),
        helper.make_node("Conv", ["h1", "W2"], ["c2"], "conv2"),
        helper.make_node("Gelu", ["c2"], ["g2"], "gelu_tanh", approximate="tanh"),
        helper.make_node("Conv", ["g2", "W3", "B3"], ["c3"], "conv3", pads=[1, 1, 1, 1]),
        helper.make_node("Gelu", ["c3"], ["g3"], "gelu"),
        helper.make_node("Flatten", ["g3"], ["fl"], "flatten"),
        helper.make_node("Gemm", ["fl", "W4", "B4"], ["f"], "fc1", transB=1),
        helper.make_node("Gemm", ["f", "W5", "B5"], ["f5"], "fc2", transB=1),
        helper.make_node("Add", ["f5", "f"], ["s"], "residual"),
        helper.make_node("Relu", ["s"], ["y"], "relu"),
    ]
    graph = helper.make_graph(nodes, "handmade", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 16])],
                              [numpy_helper.from_array(v, k) for k, v in w.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 8
    path = os.path.join(workdir("passes"), "handmade.onnx")
    onnx.save(model, path)  # not onnx.checker: the installed onnx predates opset 20
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    xp = os.path.join(workdir("passes"), "handmade_input.npy")
    np.save(xp, x)
    F, t = torch.nn.functional, {k: torch.tensor(v, dtype=torch.float64) for k, v in w.items()}
    h = torch.clamp(0.3 * F.conv2d(torch.tensor(x, dtype=torch.float64), t["W1"], t["B1"], padding=1) + 0.4, 0, 1)
    g = F.gelu(F.conv2d(h, t["W2"]), approximate="tanh")
    g = F.gelu(F.conv2d(g, t["W3"], t["B3"], padding=1))
    f = g.flatten(1) @ t["W4"].T + t["B4"]
    ref = torch.relu(f @ t["W5"].T + t["B5"] + f).numpy()
    ok = True
    for flags in [(), ("--no-fuse",)]:
        got = run(path, xp, "handmade", *flags, output="y")
        err = float(np.abs(got - ref).max()) / float(np.abs(ref).max())
        print(f"handmade {' '.join(flags) or '(all passes)'}: max |onnxc - float64 reference| / max |ref| = {err:.2e}")
        ok &= err <= 1e-4
    passes, got = reported(path)
    fuse = passes["fuse"]["notes"]
    want = ["Conv 'conv1' + HardSigmoid 'hsig'", "Conv 'conv2' + Gelu 'gelu_tanh'", "Conv 'conv3' + Gelu 'gelu'",
            "Gemm 'fc2' + Add 'residual' (residual 'f') + Relu 'relu' -> FusedGemm"]
    for wline in want:
        hit = any(l.startswith(wline) for l in fuse)
        print(f"handmade: fusion '{wline}': {'yes' if hit else 'NO'}")
        ok &= hit
    ok &= len(fuse) == len(want)
    return ok


ok &= handmade()

# switches: exactly these passes, one off, unknown names
rc, so, se = run_onnxc(["info", path, "--passes=fold,bn_fold", "--json", "--batch", "1"])
ran = {p["name"] for p in json.loads(so)["passes"] if p["ran"]} if rc == 0 else None
print(f"--passes=fold,bn_fold ran {sorted(ran) if ran else ran}")
ok &= ran == {"fold", "bn_fold"}
rc, so, se = run_onnxc(["info", path, "--passes", "--no-pass", "fuse", "--json", "--batch", "1"])
ran = {p["name"] for p in json.loads(so)["passes"] if p["ran"]} if rc == 0 else None
print(f"--no-pass fuse ran {sorted(ran) if ran else ran}")
ok &= ran == {"fold", "widen", "identity", "bn_fold", "dce", "slice", "c8"}
rc, so, se = run_onnxc(["run", path, "-i", os.path.join(workdir("passes"), "small_net_input.npy"), "--passes", "fold,fusion"])
print(f"unknown pass: exit {rc}: {se.strip()}")
ok &= rc == 2 and "unknown pass 'fusion'" in se and "bn_fold" in se and "dce" in se
sys.exit(0 if ok else 1)
