#!/usr/bin/python3
"""Write test/fixtures/torch/half.json: float32 values and what PyTorch's `x.half().float()` makes of
them (round to nearest float16, ties to even, overflow to infinity, float16 subnormals), for
test/backends/webgpu/mixed-precision.test.ts: engine.precision mixed16 rounds the operands and
results of every product to float16 as autocast(float16) does.

The values: the edge cases (ties between two float16 values, 65504 and the first value that
overflows, the subnormal range and its ties, signed zeros, infinities, NaN) and random float32
values over every binade from 2^-30 to 2^17, both signs. Stored as the float32 bit patterns (uint32).

    /usr/bin/python3 bench/torch/half_fixture.py            # (re)write the fixture
    /usr/bin/python3 bench/torch/half_fixture.py --check    # regenerate in memory, compare
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fixture_file import ROOT, write_or_check  # noqa: E402

PATH = os.path.join(ROOT, 'test', 'fixtures', 'torch', 'half.json')


def values() -> np.ndarray:
    edge = [0.0, -0.0, 1.0, -1.0, 65504.0, 65519.0, 65519.996, 65520.0, 65536.0, 1e6, -65520.0,
            np.inf, -np.inf, np.nan,
            2.0 ** -14, 2.0 ** -15, 2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -25, 5 * 2.0 ** -25, 2.0 ** -26, 1e-10, -1e-10,
            2.0 ** -126, 2.0 ** -149,
            1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 1 + 2.0 ** -11 + 2.0 ** -20, 2048 + 1, 2048 + 3, 0.1, -0.1, 1 / 3]
    rng = np.random.default_rng(0)
    binades = np.arange(-30, 18)
    random = (rng.uniform(1, 2, (len(binades), 40)) * (2.0 ** binades)[:, None]).ravel()
    random *= rng.choice([-1.0, 1.0], random.shape)
    return np.concatenate([np.array(edge, dtype=np.float64), random]).astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--check', action='store_true', help='compare with the committed fixture instead of writing it')
    args = parser.parse_args()
    x = values()
    rounded = torch.from_numpy(x).half().float().numpy()
    doc = {
        'generator': 'bench/torch/half_fixture.py',
        'torch': torch.__version__,
        'what': 'float32 bit patterns x and of torch.from_numpy(x).half().float()',
        'x': x.view(np.uint32).tolist(),
        'half': rounded.view(np.uint32).tolist(),
    }
    return write_or_check(doc, PATH, args.check)


if __name__ == '__main__':
    sys.exit(main())
