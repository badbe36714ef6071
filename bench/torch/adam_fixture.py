#!/usr/bin/python3
"""Write test/fixtures/torch/adam.json: a training trajectory of torch.optim.Adam with coupled L2
(weight_decay) from the weights of alternating_vit.json (a 2-block CNN + ViT mixture model with
BatchNorm, LayerNorm, attention, GELU, ConvTranspose2d and a Linear head; dropout 0), STEPS steps of
cross-entropy on BATCHES fixed batches in turn, in train mode. Reference in float64; the same run in
float32 gives, per tensor, how far float32 arithmetic alone drifts from it.
test/engine/adam-torch.test.ts trains our model through the Trainer on the same batches and compares.

    /usr/bin/python3 bench/torch/adam_fixture.py [--check]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from typing import List, Optional

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import models as M  # noqa: E402
from fixture_file import ROOT, write_or_check  # noqa: E402
from fixtures import MIX_CNN, flat, num, quantize_, tensor  # noqa: E402

OUT = os.path.join(ROOT, 'test', 'fixtures', 'torch', 'adam.json')
START = os.path.join(ROOT, 'test', 'fixtures', 'torch', 'alternating_vit.json')
STEPS = 24
BATCHES = 4
BATCH = 8
ADAM = {'lr': 1e-3, 'betas': [0.9, 0.999], 'eps': 1e-8, 'weight_decay': 1e-4}


def start_model() -> nn.Module:
    start = json.load(open(START))
    kw = {**start['model']['kwargs'], 'cnn_channels': MIX_CNN}
    model = M.ResAlternatingMixtureModel(**kw)
    state = model.state_dict()
    for e in start['state_dict']:
        state[e['name']].copy_(torch.tensor(e['values'], dtype=torch.float32).reshape(e['shape']))
    model.load_state_dict(state)
    return model


def trajectory(model: nn.Module, xs: List[torch.Tensor], ys: List[torch.Tensor], dtype) -> tuple:
    model = copy.deepcopy(model).to(dtype)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=ADAM['lr'], betas=tuple(ADAM['betas']), eps=ADAM['eps'],
                           weight_decay=ADAM['weight_decay'])
    losses = []
    for t in range(STEPS):
        x, y = xs[t % BATCHES].to(dtype), ys[t % BATCHES]
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return losses, {k: v.detach().double() for k, v in model.state_dict().items() if v.is_floating_point()}


def build() -> dict:
    torch.set_num_threads(1)
    model = start_model()
    gen = torch.Generator().manual_seed(16)
    xs, ys = [], []
    for _ in range(BATCHES):
        x = torch.rand(BATCH, 3, 6, 6, generator=gen)
        quantize_(x)
        xs.append(x)
        ys.append(torch.randint(0, 3, (BATCH,), generator=gen))
    # parameters whose gradient is zero in exact arithmetic (a conv bias before train-mode BatchNorm): in
    # float32 Adam normalises rounding noise into steps, so any float32 run moves them differently
    probe = copy.deepcopy(model).double().train()
    nn.functional.cross_entropy(probe(xs[0].double()), ys[0]).backward()
    grads = {n: float(p.grad.abs().max()) for n, p in probe.named_parameters()}
    zero_gradient = {n for n, g in grads.items() if g <= 1e-10 * max(grads.values())}
    # ... and the running mean of the BatchNorm right after such a bias (Sequential(conv, BatchNorm2d)) follows it
    coupled = {n[:-len('0.bias')] + '1.running_mean' for n in zero_gradient if n.endswith('.0.bias')}
    losses, final = trajectory(model, xs, ys, torch.float64)
    losses32, final32 = trajectory(model, xs, ys, torch.float32)
    trainable = {n for n, p in model.named_parameters()}
    return {
        'format': 'mixture-models/torch-adam@1',
        'generator': 'bench/torch/adam_fixture.py',
        'torch_version': torch.__version__,
        'start': 'alternating_vit.json',
        'optimizer': ADAM,
        'steps': STEPS,
        'notes': [f'Step t (0-based) trains on batches[t % {BATCHES}] in train mode (BatchNorm batch statistics, running '
                  'statistics updated with momentum 0.1 and the unbiased variance); loss = cross-entropy, mean over the batch.',
                  'losses[t] is the loss of step t before its update. final: every floating state_dict tensor after the '
                  'last step, float64 reference rounded to 7 significant digits; float32_drift: per tensor, the largest '
                  '|float32 run - float64 run|, and losses_float32 the float32 run\'s losses. zero_gradient: the loss does not '
                  'depend on the tensor (a conv bias before train-mode BatchNorm; float64 gradient <= 1e-10 of the largest), '
                  'so only weight decay and, in float32, normalised rounding noise move it; also set on the running_mean '
                  'of the BatchNorm that follows such a bias, which tracks it.'],
        'batches': [{'input': tensor(x, 'NCHW', 5), 'labels': y.tolist()} for x, y in zip(xs, ys)],
        'losses': [num(v) for v in losses],
        'losses_float32': [num(v) for v in losses32],
        'final': [{'name': k, 'trainable': k in trainable, 'zero_gradient': k in zero_gradient or k in coupled, 'shape': list(v.shape),
                   'values': flat(v), 'float32_drift': num(float((final32[k] - v).abs().max()))} for k, v in final.items()],
    }


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--check', action='store_true')
    ap.add_argument('--out', default=OUT)
    args = ap.parse_args(argv)
    return write_or_check(build(), args.out, args.check)


if __name__ == '__main__':
    sys.exit(main())
