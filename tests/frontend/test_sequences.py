"""ONNX sequence ops, lowered to tensors at import (compiler/ops/sequence.c),
against Python list semantics (the ONNX spec's definition of each op).

Positions are graph inputs, so they are known only at run time and each
position-dependent element runs onnxc's SequenceSelect kernel: every model
runs with every valid position (negative ones too) and must match; an
out-of-range position must fail with exit 1 and a message naming it.
Also: SplitToSequence (equal pieces with keepdims 0, a scalar chunk length
with a shorter last piece), ConcatFromSequence with and without new_axis,
SequenceLength, and files onnxc refuses (a sequence as a graph input, a
sequence fed to a non-sequence op)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from common import refusal_problem, require, run_npy, run_onnxc, workdir  # noqa: E402

np = require("numpy")
onnx = require("onnx")
from onnx import helper as oh, numpy_helper, TensorProto  # noqa: E402

F = TensorProto.FLOAT
SHAPE = [2, 3]


def vi(name, dtype=F, shape=SHAPE):
    return oh.make_tensor_value_info(name, dtype, shape)


def model(nodes, inputs, outputs, inits=(), opset=17):
    m = oh.make_model(oh.make_graph(nodes, "g", inputs, outputs, list(inits)),
                      opset_imports=[oh.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def build():
    """The input data, and per case: (name, model, positions, reference(position), sequence length)."""
    rng = np.random.RandomState(0)
    a, b, c, x = (rng.randn(*SHAPE).astype(np.float32) for _ in range(4))
    data = {"A": a, "B": b, "C": c, "X": x}
    abc = [vi("A"), vi("B"), vi("C")]
    pos = oh.make_tensor_value_info("pos", TensorProto.INT64, [])
    cases = []

    # SequenceAt: every position of [A, B, C]
    m = model([oh.make_node("SequenceConstruct", ["A", "B", "C"], ["S"]),
               oh.make_node("SequenceAt", ["S", "pos"], ["Y"])], abc + [pos], [vi("Y")])
    cases.append(("at", m, range(-3, 3), lambda p: [a, b, c][p], 3))
    # SequenceInsert at a run-time position (append allowed: pos == len), then read every slot back
    for slot in range(4):
        m = model([oh.make_node("SequenceConstruct", ["A", "B", "C"], ["S"]),
                   oh.make_node("SequenceInsert", ["S", "X", "pos"], ["T"]),
                   oh.make_node("SequenceAt", ["T", f"k{slot}"], ["Y"])],
                  abc + [vi("X"), pos], [vi("Y")],
                  [numpy_helper.from_array(np.array(slot, np.int64), f"k{slot}")])

        def ins(p, slot=slot):
            seq = [a, b, c]
            seq.insert(p if p >= 0 else p + 3, x)
            return seq[slot]
        cases.append((f"insert_slot{slot}", m, range(-3, 4), ins, 4))
    # SequenceErase at a run-time position, then read every slot back
    for slot in range(2):
        m = model([oh.make_node("SequenceConstruct", ["A", "B", "C"], ["S"]),
                   oh.make_node("SequenceErase", ["S", "pos"], ["T"]),
                   oh.make_node("SequenceAt", ["T", f"k{slot}"], ["Y"])],
                  abc + [pos], [vi("Y")], [numpy_helper.from_array(np.array(slot, np.int64), f"k{slot}")])

        def era(p, slot=slot):
            seq = [a, b, c]
            del seq[p]
            return seq[slot]
        cases.append((f"erase_slot{slot}", m, range(-3, 3), era, 3))
    # run-time position twice in a row: insert then at
    m = model([oh.make_node("SequenceEmpty", [], ["E"], dtype=F),
               oh.make_node("SequenceInsert", ["E", "A"], ["S1"]),
               oh.make_node("SequenceInsert", ["S1", "B"], ["S2"]),
               oh.make_node("SequenceInsert", ["S2", "X", "pos"], ["S3"]),
               oh.make_node("SequenceAt", ["S3", "pos"], ["Y"]),
               oh.make_node("SequenceLength", ["S3"], ["L"])],
              [vi("A"), vi("B"), vi("X"), pos], [vi("Y"), oh.make_tensor_value_info("L", TensorProto.INT64, [])])

    def ins_at(p):
        seq = [a, b]
        seq.insert(p if p >= 0 else p + 2, x)
        return seq[p if p >= 0 else p + 2]
    cases.append(("insert_then_at", m, range(0, 3), ins_at, 2))
    return data, cases


def static_cases():
    """Cases with no run-time position: (name, model, feeds, {output: reference})."""
    rng = np.random.RandomState(1)
    x = rng.randn(2, 7, 3).astype(np.float32)
    out = []
    # SplitToSequence, scalar chunk 3 along axis 1: pieces 3, 3, 1; concatenate back with new_axis=0
    m = model([oh.make_node("SplitToSequence", ["X", "three"], ["S"], axis=1),
               oh.make_node("SequenceLength", ["S"], ["L"]),
               oh.make_node("SequenceAt", ["S", "last"], ["P"]),
               oh.make_node("ConcatFromSequence", ["S"], ["Y"], axis=1)],
              [vi("X", shape=[2, 7, 3])],
              [vi("Y", shape=[2, 7, 3]), oh.make_tensor_value_info("L", TensorProto.INT64, []),
               vi("P", shape=[2, 1, 3])],
              [numpy_helper.from_array(np.array(3, np.int64), "three"),
               numpy_helper.from_array(np.array(-1, np.int64), "last")])
    out.append(("split_chunk", m, {"X": x}, {"Y": x, "L": np.array(3, np.int64), "P": x[:, 6:7]}))
    # keepdims 0 along axis 2, stacked back on a new last axis, for opsets 12 (attribute axes) and 17 (input axes)
    for opset in (12, 17):
        m = model([oh.make_node("SplitToSequence", ["X"], ["S"], axis=2, keepdims=0),
                   oh.make_node("ConcatFromSequence", ["S"], ["Y"], axis=-1, new_axis=1),
                   oh.make_node("ConcatFromSequence", ["S"], ["Z"], axis=0)],
                  [vi("X", shape=[2, 7, 3])], [vi("Y", shape=[2, 7, 3]), vi("Z", shape=[6, 7])], opset=opset)
        out.append((f"split_squeeze_stack_opset{opset}", m, {"X": x},
                    {"Y": x, "Z": np.concatenate([x[:, :, k] for k in range(3)], axis=0)}))
    return out


def refused():
    s_in = oh.make_tensor_sequence_value_info("S", F, SHAPE)
    return [
        ("sequence_input", model([oh.make_node("SequenceLength", ["S"], ["L"])], [s_in],
                                 [oh.make_tensor_value_info("L", TensorProto.INT64, [])]), "is a sequence"),
        ("sequence_to_relu", model([oh.make_node("SequenceConstruct", ["A"], ["S"]),
                                    oh.make_node("Relu", ["S"], ["Y"])], [vi("A")], [vi("Y")]), "is a sequence"),
        ("split_unknown_count", model([oh.make_node("SplitToSequence", ["A", "n"], ["S"]),
                                       oh.make_node("SequenceLength", ["S"], ["L"])],
                                      [vi("A"), oh.make_tensor_value_info("n", TensorProto.INT64, [])],
                                      [oh.make_tensor_value_info("L", TensorProto.INT64, [])]),
         "must be known when the model is loaded"),
    ]


def main():
    wd = workdir("sequences")
    failures, runs = [], 0
    data, cases = build()
    for name, m, positions, ref, n in cases:
        path = os.path.join(wd, f"{name}.onnx")
        onnx.save(m, path)
        names = [i.name for i in m.graph.input]
        for p in positions:
            feeds = {k: data[k] if k != "pos" else np.array(p, np.int64) for k in names}
            rc, se, out = run_npy(path, feeds, os.path.join(wd, f"{name}_{p}"))
            runs += 1
            if rc != 0:
                failures.append(f"{name} pos={p}: onnxc failed ({rc}): {se.strip()}")
                continue
            got = np.load(os.path.join(out, "Y.npy"))
            want = ref(p)
            if got.shape != want.shape or not np.array_equal(got, want):
                failures.append(f"{name} pos={p}: output differs from the list reference")
        # a position past the end fails cleanly, naming it
        bad = max(positions) + 1
        feeds = {k: data[k] if k != "pos" else np.array(bad, np.int64) for k in names}
        rc, se, _ = run_npy(path, feeds, os.path.join(wd, f"{name}_bad"))
        if rc != 1 or f"position {bad}" not in se or "Sanitizer" in se:
            failures.append(f"{name} pos={bad}: expected exit 1 naming the position, got {rc}: {se.strip()}")
        print(f"  {name}: positions {list(positions)} match; position {bad} refused -> "
              f"{'ok' if not [f for f in failures if f.startswith(name + ' ')] else 'FAIL'}")
    for name, m, feeds, refs in static_cases():
        path = os.path.join(wd, f"{name}.onnx")
        onnx.save(m, path)
        rc, se, out = run_npy(path, feeds, os.path.join(wd, name))
        if rc != 0:
            failures.append(f"{name}: onnxc failed ({rc}): {se.strip()}")
            continue
        for o, want in refs.items():
            got = np.load(os.path.join(out, f"{o}.npy"))
            ok = got.shape == want.shape and np.array_equal(got, want)
            print(f"  {name}: {o} {list(got.shape)} -> {'ok' if ok else 'FAIL'}")
            if not ok:
                failures.append(f"{name}: {o} differs from the numpy reference")
    for name, m, words in refused():
        path = os.path.join(wd, f"bad_{name}.onnx")
        onnx.save(m, path)
        rc, so, se = run_onnxc(["info", path])
        problem = refusal_problem(name, rc, se, words)
        if problem:
            failures.append(problem)
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"sequence ops match list semantics ({runs} runs with run-time positions, "
          f"{len(static_cases())} static models); bad files refused")


if __name__ == "__main__":
    main()
