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
# sizes a shape rule computes from constant data (REVIEW 3.1): the element
# count fits int64, the byte count does not, or is far above 16 GiB
def i64(name, vals):
    return helper.make_tensor(name, TensorProto.INT64, [len(vals)], vals)


huge_cos = save("huge_constant_of_shape.onnx", model(
    [helper.make_node("ConstantOfShape", ["s"], ["y"], name="fill")], [], [vi("y", None)],
    [i64("s", [2147483648, 2147483648])]))
cases.append(("huge ConstantOfShape", huge_cos, ["fill", "ConstantOfShape", "output 0", "[2147483648,2147483648]",
                                                 "16 EiB", "16 GiB limit"]))
huge_cos1 = save("huge_constant_of_shape_1d.onnx", model(
    [helper.make_node("ConstantOfShape", ["s"], ["y"], name="fill")], [], [vi("y", None)],
    [i64("s", [4611686018427387904])]))
cases.append(("ConstantOfShape 2^62", huge_cos1, ["fill", "[4611686018427387904]", "16 EiB"]))
huge_expand = save("huge_expand.onnx", model(
    [helper.make_node("Expand", ["x", "s"], ["y"], name="grow")], [vi("x", [1])], [vi("y", None)],
    [i64("s", [1 << 40])]))
cases.append(("huge Expand", huge_expand, ["grow", "Expand", "[1099511627776]", "4 TiB", "16 GiB limit"]))
# onnxc's own ops are unreachable from files (REVIEW 3.3)
cases.append(("ReluGrad in file", save("relu_grad.onnx", model(
    [helper.make_node("ReluGrad", ["x", "x"], ["y"], name="rg")], [vi("x", [1, 4])], [vi("y", [1, 4])])),
    ["'rg' (ReluGrad)", "unknown op in domain ''"]))
cases.append(("SumToShape in file", save("sum_to_shape.onnx", model(
    [helper.make_node("SumToShape", ["x", "x"], ["y"], name="sts")], [vi("x", [1, 4])], [vi("y", [1, 4])])),
    ["'sts' (SumToShape)", "unknown op in domain ''"]))
cases.append(("MSELoss in file", save("mse_loss.onnx", model(
    [helper.make_node("MSELoss", ["x", "x"], ["y"], name="mse")], [vi("x", [1, 4])], [vi("y", None)])),
    ["'mse' (MSELoss)", "unknown op in domain ''"]))
cases.append(("ai.onnxc domain", save("onnxc_domain.onnx", model(
    [helper.make_node("ReluGrad", ["x", "x"], ["y"], name="rg", domain="ai.onnxc")], [vi("x", [1, 4])],
    [vi("y", [1, 4])], domain_opsets=[("ai.onnxc", 1)])), ["'rg' (ReluGrad)", "'ai.onnxc'", "internal domain"]))


# protobuf-c recurses per nested message: 100000 If bodies, each in the
# then_branch of the one above, exhaust its stack unless the depth is
# bounded first. Written straight in the wire format (the onnx package
# itself refuses to parse ~30 levels); prefixes and suffixes keep it linear.
def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([b])
        out += bytes([b | 0x80])


def ld(num, payload):  # a length-delimited field
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def nested_model(depth):
    core, suffix = ld(2, b"g0"), ld(2, b"g")  # GraphProto.name
    pre_attr = ld(1, b"then_branch") + varint(20 << 3) + varint(5)  # AttributeProto name, type GRAPH
    pre_node = ld(1, b"c") + ld(2, b"y") + ld(4, b"If")  # NodeProto input, output, op_type
    size, prefixes = len(core), []
    for _ in range(depth):
        attr = len(pre_attr) + 1 + len(varint(size)) + size  # ... + g (field 6)
        node = len(pre_node) + 1 + len(varint(attr)) + attr  # ... + attribute (field 5)
        prefixes.append(varint(1 << 3 | 2) + varint(node) + pre_node + varint(5 << 3 | 2) + varint(attr) + pre_attr
                        + varint(6 << 3 | 2) + varint(size))
        size = 1 + len(varint(node)) + node + len(suffix)  # GraphProto: node (field 1) + name
    graph = b"".join(reversed(prefixes)) + core + suffix * depth
    assert len(graph) == size
    return varint(1 << 3) + varint(8) + ld(8, ld(1, b"") + varint(2 << 3) + varint(13)) + ld(7, graph)


cases.append(("nested subgraphs", save("nested_100000.onnx", nested_model(100000)),
              ["subgraphs", "nested more than 64 deep"]))
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

# `onnxc run` on the huge-shape models: the same clear error, exit 1, no
# crash (they used to wrap the planner's byte counts and segfault)
np = require("numpy")
x1 = os.path.join(d, "x1.npy")
np.save(x1, np.ones(1, np.float32))
for label, path, extra, words in [("run ConstantOfShape", huge_cos, [], ["fill", "16 EiB"]),
                                  ("run ConstantOfShape 1d", huge_cos1, [], ["fill", "16 EiB"]),
                                  ("run Expand", huge_expand, ["-i", x1], ["grow", "4 TiB"])]:
    rc, out, err = run_onnxc(["run", path, "-o", os.path.join(d, "run_out")] + extra, timeout=60)
    lines = [l for l in err.splitlines() if l.strip()]
    good_case = rc == 1 and len(lines) == 1 and all(w in lines[0] for w in words)
    print(f"{'ok  ' if good_case else 'FAIL'} {label:20s} exit {rc}: {lines[0] if lines else '(no message)'}")
    ok &= good_case

# a nesting depth just inside the bound still parses (the If then fails on
# its undefined condition, as any such graph would)
rc, out, err = run_onnxc(["info", save("nested_63.onnx", nested_model(63))])
good_case = rc == 1 and "nested more than" not in err and "'c' is not defined" in err
print(f"{'ok  ' if good_case else 'FAIL'} {'nested 63 parses':20s} exit {rc}: {err.strip()}")
ok &= good_case

# --max-memory: a plan above the limit fails naming its largest tensor; the
# same plan fits a larger limit (4 MB intermediate)
relu = save("relu_1000.onnx", model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x", [1000, 1000])],
                                    [vi("y", [1000, 1000])]))
for limit, want_rc, words in [("3M", 1, ["needs 3.8 MiB", "memory limit of 3 MiB", "largest tensor is 'y'"]),
                              ("16M", 0, ["plan:"])]:
    rc, out, err = run_onnxc(["info", relu, "--plan", "--max-memory", limit])
    text = err if want_rc else out
    good_case = rc == want_rc and all(w in text for w in words)
    print(f"{'ok  ' if good_case else 'FAIL'} {'--max-memory ' + limit:20s} exit {rc}: "
          f"{(err.strip() or out.strip().splitlines()[-1])}")
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
