"""MelWeightMatrix (opset 17) against a numpy evaluation of the ONNX spec's
formula (the reference implementation's loops; onnx.reference is not in
onnx 1.12, so the formula is written out here).

Every parameter set runs twice: with the five inputs as graph inputs fed at
run time (the plan takes the extents from the declared output shape and the
kernel checks the data against them) and as initializers (the shape rule
computes the extents, no output shape declared). Covered: the backend
case's parameters, speech-like ones (40 and 128 bands), a lower edge above
0, an odd dft_length, upper edges above the Nyquist frequency (the top
bands' edges fall past the spectrum: those rows are left out), equal edges,
no bands, int64 / double inputs, and the output types double, float16,
int32 and uint8. Refused with exit 1 and a message that names what is
wrong: bad constants at load time (negative num_mel_bins, a huge
dft_length, a non-scalar or float num_mel_bins, a missing input, a
declared output too large, a string output_datatype), bad data at run time
(sample_rate 0, lower edge above the upper, a negative lower edge, data
that does not match the declared shape)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from common import refusal_problem, require, run_npy, run_onnxc, workdir  # noqa: E402

np = require("numpy")
onnx = require("onnx")
from onnx import helper as oh, numpy_helper, TensorProto  # noqa: E402

NAMES = ["num_mel_bins", "dft_length", "sample_rate", "lower_edge_hertz", "upper_edge_hertz"]
NP_OF = {TensorProto.FLOAT: np.float32, TensorProto.DOUBLE: np.float64, TensorProto.FLOAT16: np.float16,
         TensorProto.INT32: np.int32, TensorProto.UINT8: np.uint8, TensorProto.INT64: np.int64}


def reference(bins, dft, rate, lo, hi, out_np):
    """The spec's matrix: mel(f) = 2595 log10(1 + f / 700), bins + 2 points
    evenly spaced in mel, each mapped back to hertz and to the spectrum row
    floor((dft + 1) f / rate); band i is the triangle over edges i, i+1,
    i+2 with its peak 1 at edge i+1. Rows past the spectrum are cut off."""
    rows = dft // 2 + 1
    lo_mel = 2595 * np.log10(1 + float(lo) / 700)
    hi_mel = 2595 * np.log10(1 + float(hi) / 700)
    step = (hi_mel - lo_mel) / (bins + 2)
    hz = 700 * (np.power(10, (np.arange(bins + 2) * step + lo_mel) / 2595) - 1)
    edge = (((dft + 1) * hz) // rate).astype(int)
    full = np.zeros((max(rows, int(edge.max()) + 1 if bins else rows), bins))
    for i in range(bins):
        left, center, right = edge[i], edge[i + 1], edge[i + 2]
        if center == left:
            full[center, i] = 1
        else:
            for j in range(left, center + 1):
                full[j, i] = float(j - left) / float(center - left)
        if right > center:
            for j in range(center, right):
                full[j, i] = float(right - j) / float(right - center)
    return full[:rows].astype(out_np)


def model(values, itype, ftype, out_type, as_inputs, declare=True, extra_attrs=None, n_inputs=5):
    """values: the five input values. as_inputs: graph inputs, else initializers."""
    attrs = {} if out_type is None else {"output_datatype": out_type}
    attrs.update(extra_attrs or {})
    node = oh.make_node("MelWeightMatrix", NAMES[:n_inputs], ["Y"], **attrs)
    rows, bins = values[1] // 2 + 1, values[0]
    tensors = [np.array(v, dtype=NP_OF[itype if k < 3 else ftype]) for k, v in enumerate(values)]
    ins, inits = [], []
    for k in range(n_inputs):
        if as_inputs:
            ins.append(oh.make_tensor_value_info(NAMES[k], itype if k < 3 else ftype, list(tensors[k].shape)))
        else:
            inits.append(numpy_helper.from_array(tensors[k], NAMES[k]))
    y_type = TensorProto.FLOAT if out_type is None else out_type
    y = oh.make_tensor_value_info("Y", y_type, [rows, bins] if declare else None)
    m = oh.make_model(oh.make_graph([node], "mel", ins, [y], inits), opset_imports=[oh.make_opsetid("", 17)])
    m.ir_version = 8
    return m, tensors[:n_inputs]


I32, I64, F32, F64, F16 = TensorProto.INT32, TensorProto.INT64, TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16
CASES = [  # name, (bins, dft, rate, lo, hi), input int type, input float type, output_datatype (None: default)
    ("backend_case", (8, 16, 8192, 0.0, 4096.0), I32, F32, None),
    ("speech40", (40, 512, 16000, 20.0, 8000.0), I32, F32, None),
    ("speech128_i64_f64", (128, 2048, 22050, 0.0, 11025.0), I64, F64, F64),
    ("odd_dft_nyquist", (10, 15, 8000, 0.0, 4000.0), I32, F32, None),
    ("upper_above_nyquist", (10, 16, 8000, 0.0, 8000.0), I32, F32, None),
    ("odd_dft_above_nyquist", (6, 15, 8000, 1000.0, 7000.0), I64, F64, None),
    ("low_edge_300", (12, 256, 8000, 300.0, 3400.0), I64, F32, F16),
    ("equal_edges", (5, 64, 16000, 300.0, 300.0), I32, F32, None),
    ("no_bands", (0, 16, 8000, 0.0, 4000.0), I32, F32, None),
    ("int32_out", (16, 128, 16000, 0.0, 8000.0), I32, F32, TensorProto.INT32),
    ("uint8_out", (16, 128, 16000, 0.0, 8000.0), I32, F16, TensorProto.UINT8),
]


def main():
    wd = workdir("mel_weight_matrix")
    failures = []
    for name, vals, itype, ftype, out_type in CASES:
        out_np = NP_OF[F32 if out_type is None else out_type]
        # the inputs as stored in their types, so the reference sees the same values
        bins, dft, rate = (int(v) for v in vals[:3])
        lo, hi = (float(np.array(v, NP_OF[ftype])) for v in vals[3:])
        want = reference(bins, dft, rate, lo, hi, out_np)
        for as_inputs in (True, False):
            tag = f"{name}_{'inputs' if as_inputs else 'constants'}"
            m, tensors = model(vals, itype, ftype, out_type, as_inputs, declare=as_inputs)
            path = os.path.join(wd, f"{tag}.onnx")
            onnx.save(m, path)
            feeds = dict(zip(NAMES, tensors)) if as_inputs else {}
            rc, se, out = run_npy(path, feeds, os.path.join(wd, tag))
            if rc != 0:
                failures.append(f"{tag}: onnxc failed ({rc}): {se.strip()}")
                print(f"  {tag}: FAIL")
                continue
            got = np.load(os.path.join(out, "Y.npy"))
            ok = got.shape == want.shape and got.dtype == want.dtype and np.array_equal(got, want)
            print(f"  {tag}: {list(got.shape)} {got.dtype} -> {'ok' if ok else 'FAIL'}")
            if not ok:
                failures.append(f"{tag}: output {got.shape} {got.dtype} differs from the spec formula "
                                f"{want.shape} {want.dtype} (max diff "
                                f"{np.abs(got.astype(float) - want.astype(float)).max() if got.shape == want.shape else '-'})")

    # refused when the model is loaded: bad constants, a bad declared shape, missing inputs, a bad type
    good = (8, 16, 8192, 0.0, 4096.0)
    load_bad = [
        ("negative_bins", model((-3,) + good[1:], I32, F32, None, False, declare=False)[0], "num_mel_bins -3"),
        ("huge_dft", model((8, 1 << 40) + good[2:], I64, F32, None, False, declare=False)[0], "dft_length 1099511627776"),
        ("huge_declared", model((1 << 14, 1 << 16) + good[2:], I64, F32, None, True)[0], "larger than onnxc makes"),
        ("four_inputs", model(good, I32, F32, None, False, n_inputs=4)[0], "MelWeightMatrix"),
        ("string_output", model(good, I32, F32, TensorProto.STRING, False, declare=False)[0], "output_datatype 8"),
    ]
    m = model(good, I32, F32, None, False, declare=False)[0]
    m.graph.initializer[0].CopyFrom(numpy_helper.from_array(np.array([8, 8], np.int32), "num_mel_bins"))
    load_bad.append(("vector_bins", m, "must be a scalar"))
    m = model(good, I32, F32, None, False, declare=False)[0]
    m.graph.initializer[0].CopyFrom(numpy_helper.from_array(np.array(8.0, np.float32), "num_mel_bins"))
    load_bad.append(("float_bins", m, "must be int32 or int64"))
    for name, m, words in load_bad:
        path = os.path.join(wd, f"bad_{name}.onnx")
        onnx.save(m, path)
        rc, so, se = run_onnxc(["run", path, "-o", os.path.join(wd, f"bad_{name}"), "--top", "0"])
        problem = refusal_problem(name, rc, se, words)
        if problem:
            failures.append(problem)

    # refused at run time: data the declared shape or the spec does not allow
    run_bad = [
        ("zero_rate", (8, 16, 0, 0.0, 4096.0), "sample_rate 0 must be positive"),
        ("edges_swapped", (8, 16, 8192, 4096.0, 100.0), "must satisfy 0 <= lower <= upper"),
        ("negative_lower", (8, 16, 8192, -10.0, 4096.0), "must satisfy 0 <= lower <= upper"),
        ("upper_above_rate", (8, 16, 8192, 0.0, 9000.0), "must satisfy 0 <= lower <= upper"),
    ]
    for name, vals, words in run_bad:
        m, tensors = model(vals, I32, F32, None, True)
        path = os.path.join(wd, f"runbad_{name}.onnx")
        onnx.save(m, path)
        rc, se, _ = run_npy(path, dict(zip(NAMES, tensors)), os.path.join(wd, f"runbad_{name}"))
        problem = refusal_problem(f"run-time {name}", rc, se, words)
        if problem:
            failures.append(problem)
    # data that disagrees with the declared [9, 8]: 16 bands fed
    m, tensors = model(good, I32, F32, None, True)
    path = os.path.join(wd, "runbad_shape.onnx")
    onnx.save(m, path)
    tensors[0] = np.array(16, np.int32)
    rc, se, _ = run_npy(path, dict(zip(NAMES, tensors)), os.path.join(wd, "runbad_shape"))
    if not (rc == 1 and "the data gives output [9,16]" in se and "Sanitizer" not in se):
        failures.append(f"run-time shape mismatch: expected exit 1 naming [9,16], got {rc}: {se}")
    print(f"  refused shape mismatch -> {'ok' if rc == 1 else 'FAIL'}")

    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"MelWeightMatrix matches the spec formula ({len(CASES)} parameter sets, fed and constant); "
          f"{len(load_bad) + len(run_bad) + 1} bad models refused")


if __name__ == "__main__":
    main()
