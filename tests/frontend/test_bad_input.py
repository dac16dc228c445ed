"""Untrusted model files: each bad case must make `onnxc info` exit 1 with
one clear line naming the file and the problem; never a crash (signal),
sanitizer report, hang or huge allocation. Cases are built with the
official ONNX Python helpers, so the files are valid protobuf wherever the
case is about meaning rather than encoding."""
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, run_onnxc, workdir

onnx = require("onnx")
from onnx import TensorProto, helper  # noqa: E402

d = workdir("bad_input")


def model(nodes, inputs, outputs, inits=(), opset=13, domain_opsets=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(dm, v) for dm, v in domain_opsets]
    return helper.make_model(g, opset_imports=ops, producer_name="onnxc-test")


def save(name, m):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(m.SerializeToString() if hasattr(m, "SerializeToString") else m)
    return path


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


good = model([helper.make_node("Relu", ["x"], ["y"], name="relu1")], [vi("x", [1, 4])], [vi("y", [1, 4])])
good_bytes = good.SerializeToString()

cases = []  # (label, path, words the message must contain)
cases.append(("missing file", os.path.join(d, "does_not_exist.onnx"), ["cannot open"]))
cases.append(("empty file", save("empty.onnx", b""), ["empty"]))
rnd = random.Random(7)
cases.append(("random bytes", save("random.onnx", bytes(rnd.getrandbits(8) for _ in range(4096))), ["not a valid ONNX model"]))
cases.append(("truncated model", save("truncated.onnx", good_bytes[: len(good_bytes) // 2]), ["not a valid ONNX model"]))
cases.append(("undefined input", save("undefined.onnx", model(
    [helper.make_node("Relu", ["nope"], ["y"], name="relu1")], [vi("x", [1, 4])], [vi("y", [1, 4])])),
    ["relu1", "'nope'", "not defined"]))
cases.append(("cycle", save("cycle.onnx", model(
    [helper.make_node("Add", ["x", "b"], ["a"], name="add1"), helper.make_node("Relu", ["a"], ["b"], name="relu1")],
    [vi("x", [1, 4])], [vi("b", [1, 4])])), ["cycle"]))
cases.append(("dims overflow", save("overflow.onnx", model(
    [helper.make_node("Relu", ["x"], ["y"], name="relu1")], [vi("x", [1 << 40, 1 << 40])], [vi("y", None)])),
    ["overflows"]))
neg = model([helper.make_node("Relu", ["x"], ["y"], name="relu1")], [vi("x", [2, 3])], [vi("y", [2, 3])])
neg.graph.input[0].type.tensor_type.shape.dim[1].dim_value = -5
cases.append(("negative dim", save("negative_dim.onnx", neg), ["negative"]))
def raw_tensor(name, dims, nbytes):
    t = TensorProto()
    t.name, t.data_type, t.raw_data = name, TensorProto.FLOAT, b"\0" * nbytes
    t.dims.extend(dims)
    return t


short = raw_tensor("w", [1000, 1000], 16)
cases.append(("short raw_data", save("short_raw.onnx", model(
    [helper.make_node("Add", ["x", "w"], ["y"], name="add1")], [vi("x", [1000, 1000])], [vi("y", [1000, 1000])],
    [short])), ["raw_data has 16 bytes", "'w'"]))
huge = raw_tensor("w", [1 << 20, 1 << 20, 1 << 10], 16)
cases.append(("huge initializer", save("huge_init.onnx", model(
    [helper.make_node("Relu", ["w"], ["y"], name="relu1")], [], [vi("y", None)], [huge])), ["'w'"]))


def external(name, location):
    t = raw_tensor("w", [4], 0)
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", "16")):
        e = t.external_data.add()
        e.key, e.value = k, v
    return save(name, model([helper.make_node("Add", ["x", "w"], ["y"], name="add1")], [vi("x", [4])],
                            [vi("y", [4])], [t]))


cases.append(("external ../", external("ext_dotdot.onnx", "../secret.bin"), ["leaves the model's folder"]))
cases.append(("external absolute", external("ext_abs.onnx", "/etc/passwd"), ["absolute path"]))
cases.append(("external missing", external("ext_missing.onnx", "nothere.bin"), ["nothere.bin"]))
with open(os.path.join(d, "short.bin"), "wb") as f:
    f.write(b"\0" * 8)
cases.append(("external too short", external("ext_short.onnx", "short.bin"), ["needs 16"]))
cases.append(("opset too new", save("opset99.onnx", model(
    [helper.make_node("Relu", ["x"], ["y"], name="relu1")], [vi("x", [1, 4])], [vi("y", [1, 4])], opset=99)),
    ["opset 99"]))
cases.append(("unknown domain", save("domain.onnx", model(
    [helper.make_node("FusedGemm", ["x"], ["y"], name="f1", domain="com.microsoft")], [vi("x", [1, 4])],
    [vi("y", [1, 4])], domain_opsets=[("com.microsoft", 1)])), ["com.microsoft"]))
cases.append(("shape conflict", save("conflict.onnx", model(
    [helper.make_node("Relu", ["x"], ["y"], name="relu1")], [vi("x", [1, 4])], [vi("y", [1, 5])])),
    ["relu1", "declared"]))
cases.append(("bad conv weight", save("conv.onnx", model(
    [helper.make_node("Conv", ["x", "w"], ["y"], name="conv1")], [vi("x", [1, 3, 8, 8])], [vi("y", None)],
    [helper.make_tensor("w", TensorProto.FLOAT, [64, 3, 7], [0.0] * (64 * 21))])), ["conv1", "rank"]))

ok = True
for label, path, words in cases:
    rc, out, err = run_onnxc(["info", path], timeout=60)
    lines = [l for l in err.splitlines() if l.strip()]
    good_case = (rc == 1 and len(lines) == 1 and "error" in lines[0] and os.path.basename(path) in lines[0]
                 and all(w in lines[0] for w in words))
    print(f"{'ok  ' if good_case else 'FAIL'} {label:20s} exit {rc}: {lines[0] if lines else '(no message)'}")
    if not good_case:
        for l in lines[1:]:
            print("     ", l)
    ok &= good_case

# positive controls: valid external data loads, and an unsupported op is a
# clear warning, not a failure to parse
with open(os.path.join(d, "weights.bin"), "wb") as f:
    f.write(b"\0" * 16)
rc, out, err = run_onnxc(["info", external("ext_ok.onnx", "weights.bin")])
print(f"{'ok  ' if rc == 0 else 'FAIL'} {'external data ok':20s} exit {rc} {err.strip()}")
ok &= rc == 0
rc, out, err = run_onnxc(["info", save("unsupported.onnx", model(
    [helper.make_node("NoSuchOp", ["x"], ["y"], name="n1")], [vi("x", [1, 4])], [vi("y", [1, 4])]))])
good_case = rc == 0 and "unsupported op 'NoSuchOp'" in err and "(unsupported op)" in out
print(f"{'ok  ' if good_case else 'FAIL'} {'unsupported op':20s} exit {rc}: {err.strip()}")
ok &= good_case
sys.exit(0 if ok else 1)
