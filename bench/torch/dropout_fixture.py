#!/usr/bin/python3
"""Write test/fixtures/torch/dropout.json: what PyTorch's nn.Dropout(p) does, measured, for the rates the
paper's models use (ViT 0.1, Perceiver 0.2) and 0.5: in training, the fraction of zeros over N draws,
the value a survivor of 1 becomes (1/(1-p) in float32), how often two calls agree on an element, and
that the gradient reuses the forward mask; in evaluation, that the output is the input.
test/model/torch-dropout.test.ts holds our Dropout layer to the same statistics.

    /usr/bin/python3 bench/torch/dropout_fixture.py [--check]
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
from fixture_file import ROOT, write_or_check  # noqa: E402

OUT = os.path.join(ROOT, 'test', 'fixtures', 'torch', 'dropout.json')
N = 200_000
RATES = (0.1, 0.2, 0.5)


def measure(p: float) -> dict:
    torch.manual_seed(0)
    layer = nn.Dropout(p)
    x = torch.ones(N, requires_grad=True)
    layer.train()
    a = layer(x)
    a.sum().backward()
    b = layer(torch.ones(N))
    survivors = sorted({float(v) for v in a[a != 0].tolist()})
    layer.eval()
    e = layer(torch.linspace(-1, 1, 101))
    return {
        'rate': p,
        'n': N,
        'zero_fraction': float((a == 0).float().mean()),
        'survivor_values': survivors,
        'two_calls_agree': float(((a == 0) == (b == 0)).float().mean()),
        'grad_is_forward': bool(torch.equal(x.grad, a.detach())),
        'eval_is_identity': bool(torch.equal(e, torch.linspace(-1, 1, 101))),
    }


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--check', action='store_true')
    ap.add_argument('--out', default=OUT)
    args = ap.parse_args(argv)
    doc = {
        'format': 'mixture-models/torch-dropout@1',
        'generator': 'bench/torch/dropout_fixture.py',
        'torch_version': torch.__version__,
        'notes': ['Training: nn.Dropout(rate) on ones(n), torch seed 0; two_calls_agree = fraction of elements zeroed by '
                  'both or by neither of two successive calls; grad_is_forward: d sum(y)/dx equals y (same mask, same '
                  'scale). Evaluation: the layer returns its input.'],
        'rates': [measure(p) for p in RATES],
    }
    return write_or_check(doc, args.out, args.check)


if __name__ == '__main__':
    sys.exit(main())
