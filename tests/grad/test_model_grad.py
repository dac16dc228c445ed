"""Whole-model gradients from `onnxc grad` against PyTorch's
loss.backward() on the same ONNX-exported weights: the loss must match and
every parameter's gradient within a max relative error of 1e-3 (max abs
difference over the max magnitude of PyTorch's gradient)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, run_onnxc, workdir

torch = require("torch")
onnx = require("onnx")
np = require("numpy")
from onnx import numpy_helper  # noqa: E402

nn = torch.nn
TOL = 1e-3


def mlp():
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def mlp_deep():  # Flatten + residual-free stack with a shared fan-out (Add of two branches)
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c = nn.Linear(48, 32), nn.Linear(32, 32), nn.Linear(32, 5)

        def forward(self, x):
            h = torch.relu(self.a(torch.flatten(x, 1)))
            return self.c(h + torch.relu(self.b(h)))  # h fans out: gradients accumulate
    return M()


def fold_pad_into_avgpool(path):
    """PyTorch 1.13 exports avg_pool with count_include_pad=True as Pad(zeros) + AveragePool; onnxc has no
    gradient rule for Pad yet, so such a pair is rewritten into the equivalent single
    AveragePool(pads, count_include_pad=1) (spatial zero pads, ceil_mode 0 only)."""
    m = onnx.load(path)
    g = m.graph
    consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in g.node
              if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value"}
    consts.update({t.name: numpy_helper.to_array(t) for t in g.initializer})
    producer = {o: n for n in g.node for o in n.output}
    drop = []
    for n in g.node:
        pad = producer.get(n.input[0]) if n.op_type == "AveragePool" else None
        if pad is None or pad.op_type != "Pad" or len(pad.input) < 2 or pad.input[1] not in consts:
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        mode = {a.name: onnx.helper.get_attribute_value(a) for a in pad.attribute}.get("mode", b"constant")
        value = consts.get(pad.input[2]) if len(pad.input) > 2 and pad.input[2] else np.zeros(1)
        pads = [int(v) for v in consts[pad.input[1]]]
        r = len(pads) // 2
        if (mode != b"constant" or value is None or np.any(value != 0) or attrs.get("ceil_mode", 0)
                or any(attrs.get("pads", [0])) or any(pads[i] for i in (0, 1, r, r + 1)) or min(pads) < 0):
            continue
        for a in list(n.attribute):
            if a.name in ("pads", "count_include_pad"):
                n.attribute.remove(a)
        n.attribute.extend([onnx.helper.make_attribute("pads", pads[2:r] + pads[r + 2:]),
                            onnx.helper.make_attribute("count_include_pad", 1)])
        n.input[0] = pad.input[0]
        if sum(pad.output[0] in u.input for u in g.node) == 0:
            drop.append(pad)
    for pad in drop:
        g.node.remove(pad)
    onnx.save(m, path)


def small_cnn():  # Conv pad+stride+bias, MaxPool, groups=2, AvgPool (count_include_pad), dilation, GAP
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.c2 = nn.Conv2d(8, 8, 3, padding=1, groups=2)
            self.c3 = nn.Conv2d(8, 12, 3, padding=2, dilation=2, bias=False)
            self.fc = nn.Linear(12, 10)

        def forward(self, x):
            h = nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
            h = torch.relu(self.c2(h))
            h = nn.functional.avg_pool2d(h, 3, stride=2, padding=1, count_include_pad=True)
            h = torch.relu(self.c3(h))
            return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(h, 1), 1))
    return M()


def cnn_1d():  # uncovered trailing input (stride 2, no pad), overlapping MaxPool, AvgPool without pad count, GMP
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv1d(2, 6, 4, stride=2)
            self.c2 = nn.Conv1d(6, 6, 3, stride=2, groups=3, dilation=2)  # length 10 -> 3: input 9 unread
            self.fc = nn.Linear(6, 4)

        def forward(self, x):
            h = nn.functional.max_pool1d(torch.tanh(self.c1(x)), 3, stride=2, padding=1)
            h = nn.functional.avg_pool1d(torch.tanh(self.c2(h)), 2, stride=1, padding=1, count_include_pad=False)
            return self.fc(torch.flatten(nn.functional.adaptive_max_pool1d(h, 1), 1))
    return M()


def cnn_3d():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv3d(2, 4, (2, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            h = nn.functional.max_pool3d(torch.relu(self.c1(x)), 2)
            h = nn.functional.avg_pool3d(h, (1, 2, 2))
            return self.fc(torch.flatten(nn.functional.adaptive_avg_pool3d(h, 1), 1))
    return M()


def lenet5():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


cases = [("mlp", mlp, (8, 64), 10), ("mlp_residual", mlp_deep, (6, 3, 16), 5),
         ("small_cnn", small_cnn, (4, 3, 19, 19), 10, {"fold_pad": 1}), ("cnn_1d", cnn_1d, (3, 2, 41), 4),
         ("cnn_3d", cnn_3d, (2, 2, 4, 9, 9), 3, {"fold_pad": 1}), ("lenet5", lenet5, (4, 1, 28, 28), 10)]


# ---- norms, softmax, reductions, activations, Div, MatMul (a fifth tuple entry holds options:
# "opset" for the export, "bn": "train" to run `onnxc grad --bn train` against PyTorch in train()) ----
def mlp_bn1d():  # Gemm -> Tanh -> BatchNormalization on [N, C] -> LeakyRelu -> Gemm -> Elu -> Gemm
    # Tanh before the BN: in train mode batch statistics cancel a bias right before it (zero gradient)
    return nn.Sequential(nn.Linear(20, 32), nn.Tanh(), nn.BatchNorm1d(32), nn.LeakyReLU(0.1), nn.Linear(32, 16), nn.ELU(0.8),
                         nn.Linear(16, 6))


def net_bn2d():  # Tanh(x * per-channel parameter) -> BatchNormalization on NCHW -> Tanh -> Flatten -> Gemm
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(3, 1, 1))
            self.bn = nn.BatchNorm2d(3)
            self.fc = nn.Linear(3 * 5 * 5, 4)
            with torch.no_grad():  # non-trivial running statistics for eval mode
                self.bn.running_mean.uniform_(-0.5, 0.5)
                self.bn.running_var.uniform_(0.5, 2.0)

        def forward(self, x):
            # tanh before the BN: batch statistics would cancel a pure scale (zero gradient for w)
            return self.fc(torch.flatten(torch.tanh(self.bn(torch.tanh(x * self.w))), 1))
    return M()


def net_layernorm_softmax():  # MatMul (batched, broadcast) + LayerNorm + GELU + Softmax + Mul + ReduceMean/Sum
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.w_in = nn.Parameter(torch.randn(12, 16) * 0.3)  # [B, T, 12] x [12, 16]: broadcast MatMul
            self.b_in = nn.Parameter(torch.randn(16))
            self.ln = nn.LayerNorm(16)
            self.wp = nn.Parameter(torch.randn(16, 16) * 0.3)
            self.v = nn.Parameter(torch.randn(16))
            self.out, self.out_t = nn.Linear(16, 7), nn.Linear(5, 7)

        def forward(self, x):
            h = nn.functional.gelu(self.ln(torch.matmul(x, self.w_in) + self.b_in))
            att = torch.softmax(torch.matmul(h, self.wp) / 4.0, dim=-1)  # MatMul broadcast, Div, Softmax
            g = (att * h).mean(dim=1)  # ReduceMean over T
            s = torch.matmul(h, self.v)  # [B, T]: 1-D MatMul operand
            return torch.log_softmax(self.out(g) + self.out_t(s), dim=1)  # LogSoftmax inside the net
    return M()


def mlp_activations():  # Sigmoid, Tanh, Softplus, SiLU (Mul(x, Sigmoid(x))), Clip, GELU tanh, Div by a parameter
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.l = nn.ModuleList([nn.Linear(a, b) for a, b in [(10, 24), (24, 24), (24, 24), (24, 24), (24, 24),
                                                                  (24, 24), (24, 3)]])
            self.temp = nn.Parameter(torch.rand(24) + 0.5)

        def forward(self, x):
            h = torch.sigmoid(self.l[0](x))
            h = torch.tanh(self.l[1](h))
            h = nn.functional.softplus(self.l[2](h))
            h = nn.functional.silu(self.l[3](h))
            h = nn.functional.hardtanh(self.l[4](h), -0.5, 0.5)
            h = nn.functional.gelu(self.l[5](h), approximate="tanh") / self.temp
            return self.l[6](h.sum(dim=1, keepdim=True) * 0.1 + h)  # ReduceSum
    return M()


cases += [("mlp_bn1d_eval", mlp_bn1d, (16, 20), 6), ("mlp_bn1d_train", mlp_bn1d, (16, 20), 6, {"bn": "train"}),
          ("bn2d_eval", net_bn2d, (6, 3, 5, 5), 4), ("bn2d_train", net_bn2d, (6, 3, 5, 5), 4, {"bn": "train"}),
          ("layernorm_softmax", net_layernorm_softmax, (4, 5, 12), 7, {"opset": 17}),
          ("activations", mlp_activations, (9, 10), 3)]
ok = True
for name, make, shape, classes, *extra in cases:
    opts = extra[0] if extra else {}
    d = workdir(f"grad_{name}")
    torch.manual_seed(0)
    model = make().eval()
    x = torch.randn(*shape)
    y = torch.randint(0, classes, (shape[0],))
    path = os.path.join(d, "model.onnx")
    torch.onnx.export(model, x, path, input_names=["x"], output_names=["logits"],
                      opset_version=opts.get("opset", 13), do_constant_folding=False)
    if opts.get("fold_pad"):
        fold_pad_into_avgpool(path)
    if opts.get("bn") == "train":
        model.train()  # batch statistics, as onnxc grad --bn train
    loss = nn.functional.cross_entropy(model(x), y)
    model.zero_grad()
    loss.backward()
    np.save(os.path.join(d, "x.npy"), x.numpy())
    np.save(os.path.join(d, "y.npy"), y.numpy().astype(np.int64))
    out = os.path.join(d, "out")
    rc, so, se = run_onnxc(["grad", path, "-i", os.path.join(d, "x.npy"), "--labels", os.path.join(d, "y.npy"),
                            "-o", out] + (["--bn", opts["bn"]] if "bn" in opts else []))
    if rc:
        print(f"{name}: onnxc grad failed ({rc}): {se.strip()}")
        ok = False
        continue
    got_loss = float(numpy_helper.to_array(onnx.load_tensor(os.path.join(out, "loss.pb"))))
    good = abs(got_loss - loss.item()) <= 1e-5 + 1e-4 * abs(loss.item())
    print(f"{name}: loss onnxc {got_loss:.6f} PyTorch {loss.item():.6f} {'ok' if good else 'MISMATCH'}")
    ok &= good
    for pname, p in model.named_parameters():
        f = os.path.join(out, "grad_" + pname.replace("/", "_") + ".pb")
        if not os.path.exists(f):
            print(f"  {pname}: no gradient file written")
            ok = False
            continue
        got = numpy_helper.to_array(onnx.load_tensor(f))
        want = p.grad.numpy()
        rel = float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-12)) if got.shape == want.shape else 1e9
        good = rel <= TOL
        print(f"  {pname:12s} {list(want.shape)} max rel err {rel:.2e} {'ok' if good else 'FAIL'}")
        ok &= good
sys.exit(0 if ok else 1)
