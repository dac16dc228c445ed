"""ref_image_eval.py: the reference side of test_data_images.c.

Preprocesses images the way torchvision does for evaluation (PIL decode,
convert to RGB or L, Resize(round(size * 256 / 224)), CenterCrop(size),
ToTensor, Normalize) and writes the float32 tensors back to back.
Usage: ref_image_eval.py SIZE CHANNELS OUT.bin IMAGE... Exit 77 when PIL or
torchvision is missing."""
import sys

try:
    import numpy as np
    from PIL import Image
    from torchvision import transforms
except ImportError as e:  # reference unavailable: the C test falls back
    print(f"reference unavailable: {e}")
    sys.exit(77)

size, channels, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
if channels == 1:
    mean, std = mean[:1], std[:1]
t = transforms.Compose([
    transforms.Resize(int(round(size * 256 / 224))),
    transforms.CenterCrop(size),
    transforms.ToTensor(),
    transforms.Normalize(mean, std),
])
with open(out, "wb") as f:
    for p in sys.argv[4:]:
        img = Image.open(p).convert("RGB" if channels == 3 else "L")
        f.write(t(img).numpy().astype(np.float32).tobytes())
