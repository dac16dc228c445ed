"""schemas/onnx.proto must match the official ONNX schema on the wire:
every message and field the official descriptors have must exist in ours
with the same number, type and label (proto2 'optional'/'repeated').
Ours is compiled to a descriptor set by protoc-c; the official one comes
from Debian's python3-onnx."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import require, workdir

onnx = require("onnx")
from google.protobuf import descriptor_pb2  # noqa: E402  (python3-protobuf, an onnx dependency)

schema = sys.argv[1]
out = os.path.join(workdir("schema"), "ours.desc")
subprocess.run(["protoc-c", f"--descriptor_set_out={out}", f"-I{os.path.dirname(schema)}", schema], check=True)
fds = descriptor_pb2.FileDescriptorSet()
with open(out, "rb") as f:
    fds.ParseFromString(f.read())

ours = {}


def collect(prefix, msgs):
    for m in msgs:
        name = prefix + m.name
        ours[name] = {f.name: (f.number, f.type, f.label) for f in m.field}
        collect(name + ".", m.nested_type)


collect("", fds.file[0].message_type)

official_file = onnx.onnx_ml_pb2.ModelProto.DESCRIPTOR.file
checked = 0
problems = []


def compare(prefix, desc):
    global checked
    for m in desc:
        name = prefix + m.name
        if name not in ours:
            problems.append(f"message {name} missing")
            continue
        for f in m.fields:
            mine = ours[name].get(f.name)
            want = (f.number, f.type, f.label)
            checked += 1
            if mine != want:
                problems.append(f"{name}.{f.name}: ours {mine}, official {want}")
        compare(name + ".", m.nested_types)


compare("", [official_file.message_types_by_name[n] for n in official_file.message_types_by_name])
print(f"compared {checked} fields of {len(official_file.message_types_by_name)} top-level messages")
for p in problems:
    print("MISMATCH", p)
sys.exit(1 if problems or checked < 100 else 0)
