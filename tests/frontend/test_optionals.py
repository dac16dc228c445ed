"""ONNX optionals, lowered at import (compiler/ops/optional.c), against the
ONNX spec's semantics.

Runs: Optional(X) then OptionalHasElement (true) and OptionalGetElement (X);
Optional() of a type, then OptionalHasElement (false); OptionalHasElement
with the input omitted (false); both read inside an If branch from the
enclosing graph; an Optional / OptionalGetElement chain in a local
function; an optional(tensor) graph input fed a tensor (HasElement true,
GetElement X). `onnxc check` reads an optional input's OptionalProto data:
a tensor passes, an empty optional is refused naming the file. Refused at
load with exit 1 and a message: OptionalGetElement of an empty optional, an
empty optional fed to Relu or made a graph output, an optional of a
sequence, OptionalHasElement of an undefined name, and an optional
sequence graph input."""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from common import refusal_problem, require, run_npy, run_onnxc, workdir  # noqa: E402

np = require("numpy")
onnx = require("onnx")
from onnx import helper as oh, numpy_helper, TensorProto  # noqa: E402

F, B = TensorProto.FLOAT, TensorProto.BOOL
SHAPE = [2, 3]
TENSOR_TYPE = oh.make_tensor_type_proto(F, SHAPE)


def vi(name, dtype=F, shape=SHAPE):
    return oh.make_tensor_value_info(name, dtype, shape)


def bool_out(name):
    return oh.make_tensor_value_info(name, B, [])


def model(nodes, inputs, outputs, inits=(), opset=18, functions=()):
    m = oh.make_model(oh.make_graph(nodes, "g", inputs, outputs, list(inits)),
                      opset_imports=[oh.make_opsetid("", opset)] + ([oh.make_opsetid("local", 1)] if functions else []),
                      functions=list(functions))
    m.ir_version = 8
    return m


def cases(x):
    """(name, model, feeds, {output: expected})."""
    out = []
    m = model([oh.make_node("Optional", ["X"], ["O"]),
               oh.make_node("OptionalHasElement", ["O"], ["H"]),
               oh.make_node("OptionalGetElement", ["O"], ["Y"])], [vi("X")], [bool_out("H"), vi("Y")])
    out.append(("present", m, {"X": x}, {"H": np.array(True), "Y": x}))
    m = model([oh.make_node("Optional", [], ["O"], type=TENSOR_TYPE),
               oh.make_node("OptionalHasElement", ["O"], ["H"]),
               oh.make_node("Relu", ["X"], ["Y"])], [vi("X")], [bool_out("H"), vi("Y")])
    out.append(("empty", m, {"X": x}, {"H": np.array(False), "Y": np.maximum(x, 0)}))
    m = model([oh.make_node("OptionalHasElement", [], ["H"]), oh.make_node("OptionalHasElement", [""], ["H2"]),
               oh.make_node("Identity", ["X"], ["Y"])], [vi("X")], [bool_out("H"), bool_out("H2"), vi("Y")])
    out.append(("omitted_input", m, {"X": x}, {"H": np.array(False), "H2": np.array(False), "Y": x}))
    # read inside an If branch: the outer empty optional and the outer present one
    branch = oh.make_graph([oh.make_node("OptionalHasElement", ["E"], ["he"]),
                            oh.make_node("OptionalHasElement", ["P"], ["hp"]),
                            oh.make_node("OptionalGetElement", ["P"], ["y"])], "then", [],
                           [bool_out("he"), bool_out("hp"), vi("y")])
    other = oh.make_graph([oh.make_node("Constant", [], ["he"], value=numpy_helper.from_array(np.array(True))),
                           oh.make_node("Constant", [], ["hp"], value=numpy_helper.from_array(np.array(False))),
                           oh.make_node("Neg", ["X"], ["y"])], "else", [],
                          [bool_out("he"), bool_out("hp"), vi("y")])
    m = model([oh.make_node("Optional", [], ["E"], type=TENSOR_TYPE),
               oh.make_node("Optional", ["X"], ["P"]),
               oh.make_node("If", ["c"], ["HE", "HP", "Y"], then_branch=branch, else_branch=other)],
              [vi("X"), oh.make_tensor_value_info("c", B, [])], [bool_out("HE"), bool_out("HP"), vi("Y")])
    out.append(("if_then", m, {"X": x, "c": np.array(True)}, {"HE": np.array(False), "HP": np.array(True), "Y": x}))
    out.append(("if_else", m, {"X": x, "c": np.array(False)}, {"HE": np.array(True), "HP": np.array(False), "Y": -x}))
    # in a local function's body
    f = oh.make_function("local", "Wrap", ["a"], ["h", "b"],
                         [oh.make_node("Optional", ["a"], ["o"]), oh.make_node("Optional", [], ["e"], type=TENSOR_TYPE),
                          oh.make_node("OptionalHasElement", ["e"], ["h"]),
                          oh.make_node("OptionalGetElement", ["o"], ["b"])],
                         [oh.make_opsetid("", 18)])
    m = model([oh.make_node("Wrap", ["X"], ["H", "Y"], domain="local")], [vi("X")], [bool_out("H"), vi("Y")],
              functions=[f])
    out.append(("local_function", m, {"X": x}, {"H": np.array(False), "Y": x}))
    # an optional(tensor) graph input, fed a tensor
    opt_in = oh.make_value_info("X", oh.make_optional_type_proto(TENSOR_TYPE))
    m = model([oh.make_node("OptionalHasElement", ["X"], ["H"]), oh.make_node("OptionalGetElement", ["X"], ["Y"])],
              [opt_in], [bool_out("H"), vi("Y")])
    out.append(("optional_graph_input", m, {"X": x}, {"H": np.array(True), "Y": x}))
    return out


def refused():
    empty = oh.make_node("Optional", [], ["O"], type=TENSOR_TYPE)
    seq_opt = oh.make_value_info("S", oh.make_optional_type_proto(oh.make_sequence_type_proto(TENSOR_TYPE)))
    return [
        ("get_from_empty", model([empty, oh.make_node("OptionalGetElement", ["O"], ["Y"])], [vi("X")], [vi("Y")]),
         "is an empty optional, which holds no element"),
        ("empty_to_relu", model([empty, oh.make_node("Relu", ["O"], ["Y"])], [vi("X")], [vi("Y")]),
         "input 0 'O' is an empty optional"),
        ("empty_output", model([empty], [vi("X")], [oh.make_value_info("O", oh.make_optional_type_proto(TENSOR_TYPE))]),
         "graph output 'O' is an empty optional"),
        ("optional_of_sequence", model([oh.make_node("SequenceConstruct", ["X"], ["S"]),
                                        oh.make_node("Optional", ["S"], ["O"]),
                                        oh.make_node("OptionalHasElement", ["O"], ["H"])],
                                       [vi("X")], [bool_out("H")]),
         "is a sequence; onnxc keeps optionals of tensors only"),
        ("has_element_undefined", model([oh.make_node("OptionalHasElement", ["nowhere"], ["H"])], [vi("X")],
                                        [bool_out("H")]),
         "input 'nowhere' is not defined"),
        ("optional_sequence_input", model([oh.make_node("OptionalHasElement", ["S"], ["H"])], [seq_opt],
                                          [bool_out("H")]),
         "is an optional sequence"),
    ]


def optional_proto(name, x):
    """A serialized OptionalProto holding tensor x, or an empty one (x None)."""
    o = onnx.OptionalProto()
    o.name = name
    if x is None:
        o.elem_type = onnx.OptionalProto.UNDEFINED
    else:
        o.elem_type = onnx.OptionalProto.TENSOR
        o.tensor_value.CopyFrom(numpy_helper.from_array(x, name))
    return o.SerializeToString()


def check_cases(wd, x):
    """`onnxc check` of an optional graph input whose data files are OptionalProtos."""
    failures = []
    opt_in = oh.make_value_info("X", oh.make_optional_type_proto(TENSOR_TYPE))
    m = model([oh.make_node("OptionalGetElement", ["X"], ["Y"])], [opt_in], [vi("Y")])
    for name, data, want_rc, words in [("holds_tensor", x, 0, "1 passed"),
                                       ("holds_nothing", None, 1, "holds nothing"),
                                       ("not_a_proto", b"\xff\xff\xff", 1, "not a valid ONNX OptionalProto")]:
        root = os.path.join(wd, f"check_{name}")
        shutil.rmtree(root, ignore_errors=True)
        case = os.path.join(root, "test_case")
        os.makedirs(os.path.join(case, "test_data_set_0"))
        onnx.save(m, os.path.join(case, "model.onnx"))
        blob = data if isinstance(data, bytes) else optional_proto("X", data)
        with open(os.path.join(case, "test_data_set_0", "input_0.pb"), "wb") as f:
            f.write(blob)
        with open(os.path.join(case, "test_data_set_0", "output_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(x, "Y").SerializeToString())
        rc, so, se = run_onnxc(["check", root])
        ok = rc == want_rc and words in so + se and "Sanitizer" not in so + se
        print(f"  check {name}: rc {rc} -> {'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(f"check {name}: expected rc {want_rc} with {words!r}, got {rc}: {so}{se}")
    return failures


def main():
    wd = workdir("optionals")
    x = np.random.RandomState(0).randn(*SHAPE).astype(np.float32)
    failures = []
    for name, m, feeds, refs in cases(x):
        path = os.path.join(wd, f"{name}.onnx")
        onnx.save(m, path)
        rc, se, out = run_npy(path, feeds, os.path.join(wd, name))
        if rc != 0:
            failures.append(f"{name}: onnxc failed ({rc}): {se.strip()}")
            print(f"  {name}: FAIL")
            continue
        for o, want in refs.items():
            got = np.load(os.path.join(out, f"{o}.npy"))
            ok = got.shape == want.shape and got.dtype == want.dtype and np.array_equal(got, want)
            print(f"  {name}: {o} {got.dtype}{list(got.shape)} -> {'ok' if ok else 'FAIL'}")
            if not ok:
                failures.append(f"{name}: {o} = {got!r}, expected {want!r}")
    for name, m, words in refused():
        path = os.path.join(wd, f"bad_{name}.onnx")
        onnx.save(m, path)
        rc, so, se = run_onnxc(["info", path])
        problem = refusal_problem(name, rc, se, words)
        if problem:
            failures.append(problem)
    failures += check_cases(wd, x)
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"optional ops match the spec ({len(cases(x))} models); {len(refused())} bad models refused; "
          "OptionalProto test data read")


if __name__ == "__main__":
    main()
