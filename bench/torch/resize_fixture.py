#!/usr/bin/python3
"""Write test/fixtures/torch/resize.json: what Pillow's `Image.resize(size, Image.BILINEAR)` (the resize
torchvision's `transforms.Resize` runs on PIL images) makes of real Fashion-MNIST images and of random
96x96 and 32x32 RGB images, for test/data/resize-pil.test.ts.

Fashion-MNIST: the first FASHION_COUNT test images (stored) resized to each of FASHION_SIZES, and the
sha256 of the whole test split resized to 16x16 (the quickstart), for a machine that has the files.
Random images: bytes min(255, floor((v + 1) * 128)) of mulberry32 values v in [-1, 1) (as float32) (`values` in
test/helpers.ts, re-implemented below), so the test regenerates them instead of storing them.

    /usr/bin/python3 bench/torch/resize_fixture.py            # (re)write the fixture
    /usr/bin/python3 bench/torch/resize_fixture.py --check    # regenerate in memory, compare
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import os
import sys
from typing import Dict, List, Optional

import numpy as np
import PIL
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
from fixture_file import ROOT, write_or_check  # noqa: E402

OUT = os.path.join(ROOT, 'test', 'fixtures', 'torch', 'resize.json')
FASHION_DIR = '/usr/share/datasets/fashion-mnist'
FASHION_COUNT = 8
FASHION_SIZES = (16, 14, 32)  # 32: upscaling
FULL_SIZE = 16
RANDOM = [  # (seed, count, in size, out sizes)
    (96, 2, 96, (32, 24, 40)),
    (32, 2, 32, (48,)),  # upscaling
]
FORMAT = 'mixture-models/pil-resize@1'


def mulberry32(n: int, seed: int) -> np.ndarray:
    """test/helpers.ts `values(n, seed)`: deterministic floats in [-1, 1)."""
    s = seed & 0xFFFFFFFF
    out = np.empty(n, dtype=np.float64)
    m = 0xFFFFFFFF

    def imul(a: int, b: int) -> int:
        return (a * b) & m

    for i in range(n):
        s = (s + 0x6D2B79F5) & m
        t = s
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & m
        out[i] = ((t ^ (t >> 14)) & m) / 2 ** 31 - 1
    return out


def random_images(seed: int, count: int, size: int) -> np.ndarray:
    # `values` returns a Float32Array: round to float32 first, as the test sees them
    v = mulberry32(count * size * size * 3, seed).astype(np.float32).astype(np.float64)
    return np.minimum(255, np.floor((v + 1) * 128)).astype(np.uint8).reshape(count, size, size, 3)


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """Pillow BILINEAR on each image (mode L for one channel, RGB for three)."""
    out = []
    for img in images:
        pil = Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img, 'L' if img.shape[2] == 1 else 'RGB')
        arr = np.asarray(pil.resize((size, size), Image.BILINEAR))
        out.append(arr.reshape(size, size, -1))
    return np.stack(out)


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode()


def read_idx_images(path: str) -> np.ndarray:
    data = gzip.open(path).read()
    n, h, w = (int.from_bytes(data[i:i + 4], 'big') for i in (4, 8, 12))
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, h, w, 1)


def build() -> Dict[str, object]:
    fashion = read_idx_images(os.path.join(FASHION_DIR, 't10k-images-idx3-ubyte.gz'))
    few = fashion[:FASHION_COUNT]
    full = resize(fashion, FULL_SIZE)
    return {
        'format': FORMAT,
        'generator': 'bench/torch/resize_fixture.py',
        'pillow_version': PIL.__version__,
        'notes': [
            'Images are uint8 NHWC, base64. Every output is Pillow Image.resize((s, s), Image.BILINEAR) of the input '
            '(mode L for Fashion-MNIST, RGB for the random images).',
            'random.inputs are not stored: bytes min(255, floor((v + 1) * 128)) of test/helpers.ts values(count*size*size*3, seed); '
            'input_sha256 checks the regeneration.',
            'fashion_mnist.full: sha256 of the whole t10k split (10000 images) resized to `size`, uint8 NHWC, one channel.',
        ],
        'fashion_mnist': {
            'source': 't10k-images-idx3-ubyte.gz, first images',
            'count': FASHION_COUNT, 'size': 28, 'channels': 1, 'input': b64(few),
            'outputs': {str(s): b64(resize(few, s)) for s in FASHION_SIZES},
            'full': {'count': int(fashion.shape[0]), 'size': FULL_SIZE,
                     'sha256': hashlib.sha256(full.tobytes()).hexdigest()},
        },
        'random': [
            {'seed': seed, 'count': count, 'size': size, 'channels': 3,
             'input_sha256': hashlib.sha256(random_images(seed, count, size).tobytes()).hexdigest(),
             'outputs': {str(s): b64(resize(random_images(seed, count, size), s)) for s in sizes}}
            for seed, count, size, sizes in RANDOM
        ],
    }


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--check', action='store_true', help='regenerate in memory and compare with the file')
    ap.add_argument('--out', default=OUT)
    args = ap.parse_args(argv)
    return write_or_check(build(), args.out, args.check)


if __name__ == '__main__':
    sys.exit(main())
