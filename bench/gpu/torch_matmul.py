#!/usr/bin/env python3
"""The shapes of bench/gpu/matmul.ts timed in PyTorch on the same card: products with torch.matmul,
the convolutions' kernels with conv2d, torch.nn.grad.conv2d_input and conv2d_weight (NCHW;
stride 1 padded by 1, stride 2 unpadded on an input padded beforehand), fp32 with TF32 off unless --tf32; median of --repeat calls after 3, each closed by
torch.cuda.synchronize(). Writes a result file of matmul.ts's format, for `matmul.js report`.

    node dist/bench/gpu/matmul.js shapes > shapes.json
    python3 bench/gpu/torch_matmul.py --shapes shapes.json --out matmul-torch.json [--device cuda] [--tf32]
"""

from __future__ import annotations

import argparse
import json
import sys

import torch
import torch.nn.functional as F
import torch.nn.grad

from torch_ops import time_call


def operation(shape: dict, device: str):
    rand = lambda *s: torch.rand(*s, device=device)
    if shape['kind'] == 'product':
        a, b = rand(*shape['a']), rand(*shape['b'])
        ta, tb = shape['transposeA'], shape['transposeB']
        return lambda: (a.t() if ta else a) @ (b.t() if tb else b)
    n, h, w, cin = shape['x']
    kh, kw, _, cout = shape['filter']
    # stride 1: padded to the same size (tfjs 'same'); stride 2: an input padded beforehand, no padding (tfjs 'valid')
    stride = shape.get('stride', 1)
    pad = (kh // 2, kw // 2) if stride == 1 else (0, 0)
    oh, ow = (h + 2 * pad[0] - kh) // stride + 1, (w + 2 * pad[1] - kw) // stride + 1
    x, weight, dy = rand(n, cin, h, w), rand(cout, cin, kh, kw), rand(n, cout, oh, ow)
    return {
        'Conv2D': lambda: F.conv2d(x, weight, stride=stride, padding=pad),
        'Conv2DBackpropInput': lambda: torch.nn.grad.conv2d_input(x.shape, weight, dy, stride=stride, padding=pad),
        'Conv2DBackpropFilter': lambda: torch.nn.grad.conv2d_weight(x, weight.shape, dy, stride=stride, padding=pad),
    }[shape['kind']]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--shapes', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--device', default='cuda')
    p.add_argument('--tf32', action='store_true')
    p.add_argument('--repeat', type=int, default=20)
    args = p.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    with open(args.shapes) as f:
        shapes = json.load(f)
    label = f"PyTorch fp32 (TF32 {'on' if args.tf32 else 'off'})"
    rows = []
    for shape in shapes:
        ms = time_call(torch, operation(shape, args.device), args.repeat, 3, args.device == 'cuda')
        tflops = shape['flops'] / (ms * 1e-3) / 1e12
        rows.append({'name': shape['name'], 'ms': round(ms, 3), 'tflops': float(f'{tflops:.3g}')})
        print(f"{label}: {shape['name']}: {ms:.2f} ms, {tflops:.3g} TFLOP/s", file=sys.stderr, flush=True)
    device = torch.cuda.get_device_name() if args.device == 'cuda' else 'cpu'
    with open(args.out, 'w') as f:
        json.dump({'backend': f'PyTorch {torch.__version__} on {device}', 'label': label, 'rows': rows}, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
