#!/usr/bin/python3
"""Write test/fixtures/torch/augment.json: torchvision's training augmentation on fixed small images,
as distributions (its random draws and ours differ, so the test compares laws) and as exact outputs
of the deterministic operations.

Distributions: N draws of each transform on one image (float CHW in [0, 1], as ToTensor gives), and
per draw a few features; the fixture keeps each feature's quantiles at QUANTILE_PROBS (and, for the
flip, the fraction of draws that flipped):
  flip        RandomHorizontalFlip(0.5) on `asymmetric`: left-half minus right-half mean
  brightness  ColorJitter(brightness=0.5) on `dark` (never clipped): mean(out) / mean(in), the factor
  hue         ColorJitter(hue=0.25) on `colour`: the mean of each channel
  recipe      RandomHorizontalFlip(0.5) then ColorJitter(brightness=0.5, hue=0.25) (the paper's recipe)
              on `asymmetric`: channel means and left-minus-right; on `colour`: channel means and max
Exact: F.adjust_brightness / F.adjust_hue in both orders for a few factors on `colour` and `dark`.

    /usr/bin/python3 bench/torch/augment_fixture.py [--check]
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
from fixture_file import ROOT, write_or_check  # noqa: E402

OUT = os.path.join(ROOT, 'test', 'fixtures', 'torch', 'augment.json')
N = 4000
SIZE = 6
QUANTILE_PROBS = [0.01, 0.025, 0.05] + [round(0.1 * i, 1) for i in range(1, 10)] + [0.95, 0.975, 0.99]
EXACT = [(0.7, 0.1, 'brightness_first'), (1.4, -0.2, 'hue_first'), (1.3, 0.25, 'brightness_first'), (0.55, -0.25, 'hue_first')]


def images() -> Dict[str, np.ndarray]:
    g = torch.Generator().manual_seed(7)
    colour = torch.randint(0, 256, (SIZE, SIZE, 3), generator=g, dtype=torch.uint8)
    dark = torch.randint(10, 151, (SIZE, SIZE, 3), generator=g, dtype=torch.uint8)  # x 1.5 stays below 255
    asym = torch.randint(0, 256, (SIZE, SIZE, 3), generator=g, dtype=torch.uint8)
    asym[:, : SIZE // 2] = asym[:, : SIZE // 2] // 4 + 180  # bright left half
    asym[:, SIZE // 2:] = asym[:, SIZE // 2:] // 4        # dark right half
    return {'colour': colour.numpy(), 'dark': dark.numpy(), 'asymmetric': asym.numpy()}


def chw(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(img).permute(2, 0, 1).float().div(255)


def half_diff(x: torch.Tensor) -> float:
    return float(x[:, :, : SIZE // 2].mean() - x[:, :, SIZE // 2:].mean())


FEATURES: Dict[str, Callable[[torch.Tensor, torch.Tensor], float]] = {
    'mean_r': lambda x, _: float(x[0].mean()),
    'mean_g': lambda x, _: float(x[1].mean()),
    'mean_b': lambda x, _: float(x[2].mean()),
    'max': lambda x, _: float(x.max()),
    'left_minus_right': lambda x, _: half_diff(x),
    'factor': lambda x, src: float(x.mean() / src.mean()),
}


def distribution(transform, image: str, features: List[str], imgs) -> dict:
    src = chw(imgs[image])
    draws = np.array([[FEATURES[f](out, src) for f in features] for out in (transform(src) for _ in range(N))])
    return {'image': image, 'n': N,
            'features': {f: [float('%.7g' % q) for q in np.quantile(draws[:, i], QUANTILE_PROBS)] for i, f in enumerate(features)}}


def build() -> dict:
    torch.manual_seed(0)
    imgs = images()
    recipe = T.Compose([T.RandomHorizontalFlip(0.5), T.ColorJitter(brightness=0.5, hue=0.25)])
    src = chw(imgs['asymmetric'])
    flips = sum(1 for _ in range(N) if half_diff(T.RandomHorizontalFlip(0.5)(src)) < 0)
    exact = []
    for name in ('colour', 'dark'):
        x = chw(imgs[name])
        for b, h, order in EXACT:
            y = F.adjust_hue(F.adjust_brightness(x, b), h) if order == 'brightness_first' else F.adjust_brightness(F.adjust_hue(x, h), b)
            exact.append({'image': name, 'brightness': b, 'hue': h, 'order': order,
                          'output_hwc': [float('%.7g' % v) for v in y.permute(1, 2, 0).reshape(-1).tolist()]})
    return {
        'format': 'mixture-models/torch-augment@1',
        'generator': 'bench/torch/augment_fixture.py',
        'torch_version': torch.__version__,
        'torchvision_version': torchvision.__version__,
        'notes': ['Images are uint8 HWC lists; transforms ran on float CHW tensors x / 255. Quantiles of each feature over n '
                  'draws at quantile_probs; flip.flipped counts the draws of RandomHorizontalFlip(0.5) that flipped.'],
        'quantile_probs': QUANTILE_PROBS,
        'images': {k: v.reshape(-1).tolist() for k, v in imgs.items()},
        'size': SIZE,
        'flip': {'image': 'asymmetric', 'n': N, 'flipped': flips},
        'distributions': {
            'brightness': distribution(T.ColorJitter(brightness=0.5), 'dark', ['factor'], imgs),
            'hue': distribution(T.ColorJitter(hue=0.25), 'colour', ['mean_r', 'mean_g', 'mean_b'], imgs),
            'recipe_asymmetric': distribution(recipe, 'asymmetric', ['mean_r', 'mean_g', 'mean_b', 'left_minus_right'], imgs),
            'recipe_colour': distribution(recipe, 'colour', ['mean_r', 'mean_g', 'mean_b', 'max'], imgs),
        },
        'exact': exact,
    }


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--check', action='store_true')
    ap.add_argument('--out', default=OUT)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    return write_or_check(build(), args.out, args.check)


if __name__ == '__main__':
    sys.exit(main())
