"""ref_image_eval.py: the reference side of test_data_images.c.

Preprocesses images the way torchvision does for evaluation (PIL decode,
convert to RGB or L, Resize(round(size * 256 / 224)), CenterCrop(size),
ToTensor, Normalize with the ImageNet mean and std) and writes the float32
tensors back to back, one file per (channels, size): PREFIX_C_SIZE.bin.
Usage: ref_image_eval.py SIZES CHANNELS PREFIX IMAGE...  (SIZES and
CHANNELS comma-separated). Exit 77 when PIL or torchvision is missing."""
import sys

try:
    import numpy as np
    from PIL import Image
    from torchvision import transforms
except ImportError as e:  # reference unavailable: the C test falls back
    print(f"reference unavailable: {e}")
    sys.exit(77)

sizes = [int(s) for s in sys.argv[1].split(",")]
chans = [int(c) for c in sys.argv[2].split(",")]
prefix, images = sys.argv[3], sys.argv[4:]
for c in chans:
    mean, std = [0.485, 0.456, 0.406][:c], [0.229, 0.224, 0.225][:c]
    for size in sizes:
        t = transforms.Compose([
            transforms.Resize(int(round(size * 256 / 224))),
            transforms.CenterCrop(size),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ])
        with open(f"{prefix}_{c}_{size}.bin", "wb") as f:
            for p in images:
                img = Image.open(p).convert("RGB" if c == 3 else "L")
                f.write(t(img).numpy().astype(np.float32).tobytes())
