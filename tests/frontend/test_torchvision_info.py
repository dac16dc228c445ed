"""`onnxc info` on torchvision models exported by PyTorch (random weights):
parameter totals must equal PyTorch's own count and the published figures
(ResNet-18 11,689,512; VGG-11 132,863,336), FLOPs must equal 2 x the MACs
PyTorch's forward hooks count for Conv2d/Linear, and every node's output
shape must equal ONNX's reference shape inference."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from common import info_json, require, workdir

torch = require("torch")
torchvision = require("torchvision")
onnx = require("onnx")

PUBLISHED = {"resnet18": 11_689_512, "vgg11": 132_863_336}


def reference_macs(model, x):
    macs = []

    def hook(mod, inp, out):
        if isinstance(mod, torch.nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
            macs.append(out.numel() * k)
        elif isinstance(mod, torch.nn.Linear):
            macs.append(out.numel() * mod.in_features)

    hs = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(x)
    for h in hs:
        h.remove()
    return sum(macs)


def check(name, batch, dynamic):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)().eval()
    x = torch.randn(batch, 3, 224, 224)
    path = os.path.join(workdir("torchvision"), f"{name}.onnx")
    kw = {}
    if dynamic:
        kw["dynamic_axes"] = {"input": {0: "batch"}, "output": {0: "batch"}}
    torch.onnx.export(model, x, path, input_names=["input"], output_names=["output"], opset_version=13,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False, **kw)
    extra = ["--batch", str(batch)] if dynamic else []
    info = info_json(path, *extra)
    torch_params = sum(p.numel() for p in model.parameters())
    macs = reference_macs(model, x)
    print(f"{name}: onnxc params {info['total_params']:,} | PyTorch {torch_params:,} | published {PUBLISHED[name]:,}")
    print(f"{name}: onnxc FLOPs {info['total_flops']:,} | 2 x PyTorch-hook MACs {2 * macs:,} "
          f"({2 * macs / batch / 1e9:.2f} GFLOPs per image)")
    ok = info["total_params"] == torch_params == PUBLISHED[name]
    ok &= info["total_flops"] == 2 * macs
    ok &= info["flops_unknown_nodes"] == 0 and info["unsupported_nodes"] == 0

    # shapes against ONNX's reference shape inference
    m = onnx.load(path)
    if dynamic:
        for vi in list(m.graph.input) + list(m.graph.output):
            vi.type.tensor_type.shape.dim[0].dim_value = batch
    ref = onnx.shape_inference.infer_shapes(m)
    shapes = {}
    for vi in list(ref.graph.value_info) + list(ref.graph.output):
        shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
    ours = {n["name"]: n["output_shape"] for n in info["nodes"]}
    compared = 0
    for node in ref.graph.node:
        want = shapes.get(node.output[0])
        if want is None:
            continue
        compared += 1
        if ours.get(node.name) != want:
            print(f"  shape mismatch at {node.name} ({node.op_type}): onnxc {ours.get(node.name)}, onnx {want}")
            ok = False
    print(f"{name}: {compared} node output shapes compared with onnx.shape_inference")
    ok &= compared > 10
    return ok


ok = check("resnet18", 1, dynamic=False)
ok &= check("vgg11", 2, dynamic=True)
sys.exit(0 if ok else 1)
