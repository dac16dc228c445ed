"""Attention-family paths the ONNX backend cases leave untested, checked with
`onnxc check --threads 2` against a numpy reference written from the ONNX
operator docs (Debian's onnx predates these ops, so its reference cannot
run them):

- Attention with a past cache but no present outputs (the concatenated keys
  and values live in scratch), 3-D GQA inputs, causal with the cache
  offset, a float mask shorter than the keys (padded with -inf), big
  enough to split over threads;
- Attention-25's sliding window (left / right) with a rank-3 bool mask and
  the qk_matmul_output after the bias (mode 2);
- LinearAttention (gated_delta) without a present_state output (the state
  lives in scratch), split over threads;
- RotaryEmbedding with a position id past the caches: exit 1 naming it."""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, run_onnxc, workdir

onnx = require("onnx")
np = require("numpy")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

root = workdir("attention_ops")
rng = np.random.default_rng(7)
vi = helper.make_tensor_value_info
NP2ONNX = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.bool_): TensorProto.BOOL,
           np.dtype(np.int64): TensorProto.INT64}


def write_case(name, node, opset, inputs, outputs):
    """A backend-test folder: model.onnx and test_data_set_0 (dicts name -> array)."""
    d = os.path.join(root, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    g = helper.make_graph([node], name, [vi(k, NP2ONNX[v.dtype], v.shape) for k, v in inputs.items()],
                          [vi(k, NP2ONNX[v.dtype], v.shape) for k, v in outputs.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    onnx.save(m, os.path.join(d, "model.onnx"))
    for kind, tensors in (("input", inputs), ("output", outputs)):
        for i, (k, v) in enumerate(tensors.items()):
            with open(os.path.join(d, "test_data_set_0", f"{kind}_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(v, k).SerializeToString())
    return d


def attention_ref(Q, K, V, mask=None, past=None, causal=False, scale=None, heads=None, left=-1, right=-1):
    """Y, present K, present V and the four qk stages (raw, softcapped, biased,
    softmax) in float64, per the ONNX Attention docs."""
    Q, K, V = (x.astype(np.float64) for x in (Q, K, V))
    packed = Q.ndim == 3
    if packed:
        B, Sq, _ = Q.shape
        Q = Q.reshape(B, Sq, heads[0], -1).transpose(0, 2, 1, 3)
        K = K.reshape(B, K.shape[1], heads[1], -1).transpose(0, 2, 1, 3)
        V = V.reshape(B, V.shape[1], heads[1], -1).transpose(0, 2, 1, 3)
    P = 0
    if past is not None:
        P = past[0].shape[2]
        K = np.concatenate([past[0], K], axis=2)
        V = np.concatenate([past[1], V], axis=2)
    B, Hq, Sq, D = Q.shape
    T = K.shape[2]
    rep = Hq // K.shape[1]
    Kr, Vr = np.repeat(K, rep, axis=1), np.repeat(V, rep, axis=1)
    scale = 1 / np.sqrt(D) if scale is None else scale
    raw = Q @ Kr.transpose(0, 1, 3, 2) * scale
    bias = np.zeros((B, Hq, Sq, T))
    if mask is not None:
        pad = [(0, 0)] * (mask.ndim - 1) + [(0, T - mask.shape[-1])]
        if mask.dtype == np.bool_:
            mask = np.where(np.pad(mask, pad, constant_values=False), 0.0, -np.inf)
        else:
            mask = np.pad(mask.astype(np.float64), pad, constant_values=-np.inf)
        bias = bias + mask
    i = np.arange(Sq)[:, None] + P
    j = np.arange(T)[None, :]
    allowed = np.ones((Sq, T), bool)
    if causal:
        allowed &= j <= i
    if left >= 0:
        allowed &= i - j <= left
    if right >= 0:
        allowed &= j - i <= right
    bias = np.where(allowed, bias, -np.inf)
    biased = raw + bias
    mx = biased.max(-1, keepdims=True)
    e = np.exp(biased - np.where(np.isneginf(mx), 0, mx))
    s = e.sum(-1, keepdims=True)
    prob = np.where(np.isneginf(bias).all(-1, keepdims=True), 0, e / np.where(s == 0, 1, s))
    Y = prob @ Vr
    if packed:
        Y = Y.transpose(0, 2, 1, 3).reshape(B, Sq, -1)
    return Y, K, V, (raw, raw, biased, prob)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


cases = []

# A: past cache without present outputs; 3-D GQA; causal; short float mask
B, Hq, Hkv, Sq, Skv, P, D, Dv = 2, 8, 2, 48, 48, 80, 32, 24
Q, K, V = f32(B, Sq, Hq * D), f32(B, Skv, Hkv * D), f32(B, Skv, Hkv * Dv)
pk, pv = f32(B, Hkv, P, D), f32(B, Hkv, P, Dv)
mask = (rng.standard_normal((Sq, P + Skv - 10)) * 0.5).astype(np.float32)
Y = attention_ref(Q, K, V, mask, (pk, pv), causal=True, heads=(Hq, Hkv))[0]
node = helper.make_node("Attention", ["Q", "K", "V", "attn_mask", "past_key", "past_value"], ["Y"],
                        is_causal=1, q_num_heads=Hq, kv_num_heads=Hkv)
cases.append(write_case("attention_past_without_present", node, 24,
                        {"Q": Q, "K": K, "V": V, "attn_mask": mask, "past_key": pk, "past_value": pv},
                        {"Y": Y.astype(np.float32)}))

# B: sliding window (opset 25), rank-3 bool mask, qk output after the bias
B, H, Sq, T, D = 2, 3, 7, 9, 8
Q, K, V = f32(B, H, Sq, D), f32(B, H, T, D), f32(B, H, T, D)
bmask = rng.random((H, Sq, T)) > 0.2
Y, _, _, qk = attention_ref(Q, K, V, bmask, left=3, right=1, scale=0.3)
node = helper.make_node("Attention", ["Q", "K", "V", "attn_mask"], ["Y", "", "", "qk"], left_window_size=3,
                        right_window_size=1, scale=0.3, qk_matmul_output_mode=2)
cases.append(write_case("attention_sliding_window", node, 25, {"Q": Q, "K": K, "V": V, "attn_mask": bmask},
                        {"Y": Y.astype(np.float32), "qk": qk[2].astype(np.float32)}))

# C: LinearAttention (gated_delta) with no present_state output
B, T, Hq, Hkv, Dk, Dv = 2, 64, 4, 4, 32, 32
q, k, v = f32(B, T, Hq * Dk) * 0.3, f32(B, T, Hkv * Dk) * 0.3, f32(B, T, Hkv * Dv)
decay = -np.abs(f32(B, T, Hkv)) * 0.1
beta = (1 / (1 + np.exp(-f32(B, T, Hkv)))).astype(np.float32)
S = np.zeros((B, Hkv, Dk, Dv))
out = np.zeros((B, T, Hq, Dv))
q4, k4, v4 = (x.reshape(B, T, -1, Dk if x is not v else Dv).astype(np.float64) for x in (q, k, v))
for t in range(T):
    S = S * np.exp(decay[:, t, :].astype(np.float64))[:, :, None, None]
    got = np.einsum("bhdm,bhd->bhm", S, k4[:, t])
    vt = beta[:, t, :, None] * (v4[:, t] - got)
    S = S + k4[:, t, :, :, None] * vt[:, :, None, :]
    out[:, t] = np.einsum("bhd,bhdm->bhm", q4[:, t], np.repeat(S, Hq // Hkv, axis=1)) / np.sqrt(Dk)
node = helper.make_node("LinearAttention", ["q", "k", "v", "", "decay", "beta"], ["y"], q_num_heads=Hq,
                        kv_num_heads=Hkv)
cases.append(write_case("linear_attention_no_present", node, 27,
                        {"q": q, "k": k, "v": v, "decay": decay, "beta": beta},
                        {"y": out.reshape(B, T, -1).astype(np.float32)}))

failed = 0
rc, outp, err = run_onnxc(["check", *cases, "--threads", "2"])
print(outp, err, end="")
if rc != 0 or f"{len(cases)} passed" not in outp:
    failed += 1
    print("FAIL: onnxc check on the cases above")

# D: a position id past the caches is an error naming it, not a read past the end
d = os.path.join(root, "rotary_bad_position")
x, cos, sin = f32(1, 2, 3, 8), f32(10, 4), f32(10, 4)
pos = np.array([[0, 1, 10]], np.int64)
node = helper.make_node("RotaryEmbedding", ["x", "cos", "sin", "pos"], ["y"])
d = write_case("rotary_bad_position", node, 23, {"x": x, "cos": cos, "sin": sin, "pos": pos}, {"y": x})
args = ["run", os.path.join(d, "model.onnx"), "-o", d]
for i in range(4):
    args += ["-i", os.path.join(d, "test_data_set_0", f"input_{i}.pb")]
rc, outp, err = run_onnxc(args)
msg = (outp + err).strip()
print(f"rotary with position id 10 of 10 cache rows: exit {rc}: {msg}")
if rc != 1 or "position id 10" not in msg:
    failed += 1
    print("FAIL: expected exit 1 naming the position id")
sys.exit(1 if failed else 0)
