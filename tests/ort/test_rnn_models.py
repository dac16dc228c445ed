"""Recurrent PyTorch models exported to ONNX run in onnxc with PyTorch's
outputs (issue #15's real-model bar for RNN, GRU and LSTM).

Models (small, seeded random weights, built here):
  lstm_text  Embedding(60, 16) -> LSTM(16, 24, batch first) -> Linear(24, 4)
             on the last hidden state: a text classifier over int64 tokens
  gru_seq    GRU(8, 12, 2 layers, bidirectional, batch first) -> Linear(24, 5)
             per step; outputs the sequence and the final hidden states
  gru_text   Embedding(40, 12) -> GRU(12, 10, 2 layers, bidirectional) ->
             Linear(20, 3) on the last layer's two final hidden states
  lstm_bi    LSTM(8, 10, bidirectional, sequence first) with h0 and c0 as
             graph inputs; outputs Y, Y_h and Y_c
  rnn_relu   RNN(6, 10, relu, bidirectional, 2 layers): the plain RNN op

Each is exported with torch.onnx.export, run with `onnxc run`, and every
output compared with PyTorch's: max abs diff <= 1e-4. The two text
classifiers are also differentiated: `onnxc grad` (cross entropy on fixed
labels, back-propagation through the recurrent ops) against PyTorch
autograd for the loss and the gradients of the named parameters
(embedding, linear head; the embedding's gradient arrives through the
LSTM / GRU's dX), max abs diff <= 1e-4.

With --ort, the same models are run under ONNX Runtime (npm onnxruntime-node,
installed by this test as tests/ort/test_export_ort.py does) and compared with
onnxc instead; when Node, npm or the package is missing that mode exits 77
(CTest skip), never a pass."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from common import compare_npy_outputs, require, run_onnxc, workdir  # noqa: E402

np = require("numpy")
torch = require("torch")
require("onnx")
nn = torch.nn

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_ABS_DIFF = 1e-4
OPSET = 14  # layout attribute exists from 14; torch 1.13 exports batch_first with Transposes


class LstmText(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(60, 16)
        self.lstm = nn.LSTM(16, 24, batch_first=True)
        self.fc = nn.Linear(24, 4)

    def forward(self, tokens):
        _, (h, _) = self.lstm(self.emb(tokens))
        return self.fc(h[-1])


class GruSeq(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 12, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(24, 5)

    def forward(self, x):
        y, h = self.gru(x)
        return self.fc(y), h


class GruText(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(40, 12)
        self.gru = nn.GRU(12, 10, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(20, 3)

    def forward(self, tokens):
        _, h = self.gru(self.emb(tokens))
        return self.fc(torch.cat([h[-2], h[-1]], dim=1))


class LstmBi(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 10, bidirectional=True)

    def forward(self, x, h0, c0):
        y, (h, c) = self.lstm(x, (h0, c0))
        return y, h, c


class RnnRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(6, 10, num_layers=2, nonlinearity="relu", bidirectional=True)

    def forward(self, x):
        return self.rnn(x)


def models():
    """(name, module, {input name: array}, [output names])"""
    rng = np.random.default_rng(7)
    f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    return [
        ("lstm_text", LstmText(), {"tokens": rng.integers(0, 60, size=(3, 7), dtype=np.int64)}, ["logits"]),
        ("gru_seq", GruSeq(), {"x": f(2, 6, 8)}, ["y", "h"]),
        ("gru_text", GruText(), {"tokens": rng.integers(0, 40, size=(4, 9), dtype=np.int64)}, ["logits"]),
        ("lstm_bi", LstmBi(), {"x": f(5, 3, 8), "h0": f(2, 3, 10), "c0": f(2, 3, 10)}, ["y", "h", "c"]),
        ("rnn_relu", RnnRelu(), {"x": f(4, 2, 6)}, ["y", "h"]),
    ]


def export(name, module, inputs, outputs, d):
    path = os.path.join(d, f"{name}.onnx")
    args = tuple(torch.from_numpy(v) for v in inputs.values())
    torch.onnx.export(module, args, path, opset_version=OPSET, input_names=list(inputs),
                      output_names=outputs)
    with torch.no_grad():
        ref = module(*args)
    ref = ref if isinstance(ref, tuple) else (ref,)
    return path, {o: r.numpy() for o, r in zip(outputs, ref)}


def save_inputs(inputs, d):
    specs = []
    for k, v in inputs.items():
        p = os.path.join(d, f"in_{k}.npy")
        np.save(p, v)
        specs.append(f"{k}={p}")
    return specs


def run_onnxc_model(path, specs, d):
    out = os.path.join(d, "onnxc")
    rc, so, se = run_onnxc(["run", path, *sum((["-i", s] for s in specs), []), "-o", out, "--top", "0"])
    if rc != 0:
        raise AssertionError(f"onnxc run {path} failed ({rc}): {se.strip()}")
    return out


def compare(name, got_dir, ref, what):
    return compare_npy_outputs(name, got_dir, ref, what, MAX_ABS_DIFF)


GRAD_MODELS = ("lstm_text", "gru_text")


def compare_grads(name, module, path, inputs, specs, d):
    labels = np.arange(next(iter(inputs.values())).shape[0], dtype=np.int64) % 3
    lab = os.path.join(d, "labels.npy")
    np.save(lab, labels)
    gdir = os.path.join(d, "grad")
    rc, so, se = run_onnxc(["grad", path, *sum((["-i", s] for s in specs), []), "--labels", lab, "-o", gdir])
    if rc != 0:
        return [f"{name}: onnxc grad failed ({rc}): {se.strip()}"]
    module.zero_grad()
    out = module(*(torch.from_numpy(v) for v in inputs.values()))
    loss = torch.nn.functional.cross_entropy(out, torch.from_numpy(labels))
    loss.backward()
    ref = {"loss": loss.detach().numpy()}
    ref.update({f"grad_{k}": p.grad.numpy() for k, p in module.named_parameters()
                if os.path.exists(os.path.join(gdir, f"grad_{k}.pb"))})
    if len(ref) < 3:
        return [f"{name}: onnxc grad wrote no gradient for the named parameters ({sorted(os.listdir(gdir))})"]
    got_dir = os.path.join(d, "grad_npy")
    os.makedirs(got_dir, exist_ok=True)
    from onnx import numpy_helper
    import onnx
    for k in ref:
        np.save(os.path.join(got_dir, f"{k}.npy"),
                numpy_helper.to_array(onnx.load_tensor(os.path.join(gdir, f"{k}.pb"))).reshape(ref[k].shape))
    return compare(name, got_dir, ref, "torch autograd")


def main():
    use_ort = "--ort" in sys.argv[1:]
    wd = workdir("ort_rnn" if use_ort else "rnn_models")
    torch.manual_seed(0)
    if use_ort:
        from test_export_ort import install_ort  # exits 77 (skip) when ORT cannot be had
        node, modules = install_ort(wd)
    failures = []
    for name, module, inputs, outputs in models():
        module.eval()
        d = os.path.join(wd, name)
        os.makedirs(d, exist_ok=True)
        path, ref = export(name, module, inputs, outputs, d)
        specs = save_inputs(inputs, d)
        try:
            got = run_onnxc_model(path, specs, d)
        except AssertionError as e:
            failures.append(f"{name}: {e}")
            continue
        if use_ort:
            ort_dir = os.path.join(d, "ort")
            env = dict(os.environ, ORT_NODE_MODULES=modules)
            p = subprocess.run([node, os.path.join(HERE, "run_ort.js"), path, ort_dir, *specs],
                               capture_output=True, text=True, timeout=600, env=env)
            if p.returncode != 0:
                failures.append(f"{name}: ONNX Runtime failed ({p.returncode}): {p.stderr.strip()[-1500:]}")
                continue
            ref = {o: np.load(os.path.join(ort_dir, f"{o}.npy")) for o in outputs}
        failures += compare(name, got, ref, "ORT" if use_ort else "torch")
        if not use_ort and name in GRAD_MODELS:
            failures += compare_grads(name, module, path, inputs, specs, d)
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"all 5 recurrent models match {'ONNX Runtime' if use_ort else 'PyTorch'}"
          f" within {MAX_ABS_DIFF:g}")


if __name__ == "__main__":
    main()
