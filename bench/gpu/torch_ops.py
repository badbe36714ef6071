#!/usr/bin/env python3
"""Every product and convolution of each paper row's training step, timed in PyTorch and set beside
the project's WebGPU times for the same call: where the step's GPU time goes against cuBLAS/cuDNN.

bench/gpu/bench.ts records, per row, every call of the six kernels that have routes (`tuned_calls`:
kernel, input shapes, attributes, calls per step, the route kernel tuning chose and its ms per
route; src/engine/webgpu/tune.ts). This script runs each distinct call in PyTorch on the same card,
fp32 with TF32 off, NCHW as the model-level reference (bench/gpu/torch_gpu.py) runs:

    BatchMatMul / _FusedMatMul          torch.matmul (+ bias, + ReLU)
    Conv2D / FusedConv2D                torch.nn.functional.conv2d (+ bias, + ReLU)
    Conv2DBackpropInput                 torch.nn.grad.conv2d_input
    Conv2DBackpropFilter                torch.nn.grad.conv2d_weight

median of --repeat after --warmup, each closed by torch.cuda.synchronize(). tfjs's asymmetric 'same'
padding (stride 2, even input) is timed with its top/left amount on both sides (same work within a
row or column). Writes one table per row (calls sorted by the time they cost the step beyond
PyTorch's) and totals: Σ calls × ms for ours and for PyTorch.

    python3 bench/gpu/torch_ops.py --webgpu webgpu.json --out ops.json --md ops.md [--device cuda]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def same_pad(size: int, k: int, s: int) -> int:
    out = math.ceil(size / s)
    return max((out - 1) * s + k - size, 0) // 2


def padding(pad, h: int, w: int, kh: int, kw: int, sh: int, sw: int) -> tuple[int, int]:
    """tfjs's pad attribute as PyTorch's symmetric (top, left) padding."""
    if pad == 'valid':
        return 0, 0
    if pad == 'same':
        return same_pad(h, kh, sh), same_pad(w, kw, sw)
    if isinstance(pad, (int, float)):
        return int(pad), int(pad)
    # explicit [[0, 0], [top, bottom], [left, right], [0, 0]]
    return int(pad[1][0]), int(pad[2][0])


def pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, (int, float)) else (int(v[0]), int(v[1]))


def make_call(torch, call: dict, device: str):
    """A no-argument function running the call in PyTorch, or None for one it does not map."""
    F = torch.nn.functional
    kernel, shapes, attrs = call['kernel'], call['inputs'], call.get('attrs') or {}
    rand = lambda *shape: torch.rand(*shape, device=device)  # noqa: E731
    act = attrs.get('activation') or 'linear'
    if act not in ('linear', 'relu'):
        return None
    post = (lambda t: torch.relu_(t)) if act == 'relu' else (lambda t: t)
    if kernel in ('BatchMatMul', '_FusedMatMul'):
        a, b = rand(*shapes['a']), rand(*shapes['b'])
        ta, tb = attrs.get('transposeA'), attrs.get('transposeB')
        bias = rand(*shapes['bias']) if 'bias' in shapes else None

        def run():
            out = torch.matmul(a.transpose(-1, -2) if ta else a, b.transpose(-1, -2) if tb else b)
            if bias is not None:
                out += bias
            return post(out)
        return run
    if kernel in ('Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'):
        if attrs.get('dataFormat', 'NHWC') != 'NHWC':
            return None
        sh, sw = pair(attrs.get('strides', 1))
        dil = pair(attrs.get('dilations', 1) or 1)
        if kernel == 'Conv2DBackpropInput':
            bsz, h, w, cin = attrs['inputShape']
            kh, kw, _, cout = shapes['filter']
        elif kernel == 'Conv2DBackpropFilter':
            bsz, h, w, cin = shapes['x']
            kh, kw, _, cout = attrs['filterShape']
        else:
            bsz, h, w, cin = shapes['x']
            kh, kw, _, cout = shapes['filter']
        ph, pw = padding(attrs.get('pad', 'valid'), h, w, kh, kw, sh, sw)
        kw_args = dict(stride=(sh, sw), padding=(ph, pw), dilation=dil)
        weight = rand(cout, cin, kh, kw)
        if kernel == 'Conv2DBackpropInput':
            _, oh, ow, _ = shapes['dy']
            dy = rand(bsz, cout, oh, ow)
            return lambda: torch.nn.grad.conv2d_input((bsz, cin, h, w), weight, dy, **kw_args)
        x = rand(bsz, cin, h, w)
        if kernel == 'Conv2DBackpropFilter':
            _, oh, ow, _ = shapes['dy']
            dy = rand(bsz, cout, oh, ow)
            return lambda: torch.nn.grad.conv2d_weight(x, weight.shape, dy, **kw_args)
        bias = rand(cout) if 'bias' in shapes else None
        return lambda: post(F.conv2d(x, weight, bias, **kw_args))
    return None


def time_call(torch, fn, repeat: int, warmup: int, cuda: bool) -> float:
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def describe(call: dict) -> str:
    shapes = ' '.join(f"{k}{list(v)}" for k, v in call['inputs'].items())
    attrs = call.get('attrs') or {}
    extra = []
    for key in ('transposeA', 'transposeB'):
        if attrs.get(key):
            extra.append(key[-1] + 'ᵀ')
    if 'strides' in attrs:
        extra.append(f"s{attrs['strides']}")
    if 'pad' in attrs:
        extra.append(f"pad {attrs['pad'] if isinstance(attrs['pad'], str) else json.dumps(attrs['pad'])}")
    if attrs.get('activation') and attrs['activation'] != 'linear':
        extra.append(attrs['activation'])
    return f"{call['kernel']} {shapes}{' ' + ', '.join(extra) if extra else ''}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('--webgpu', required=True, help="bench/gpu/bench.ts's JSON (rows with tuned_calls)")
    ap.add_argument('--out')
    ap.add_argument('--md')
    ap.add_argument('--device', default='cuda')
    ap.add_argument('--repeat', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--budget', type=float, default=60, help='seconds; calls left over are not timed')
    args = ap.parse_args()
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    cuda = args.device.startswith('cuda')
    if cuda and not torch.cuda.is_available():
        log('no CUDA device: use --device cpu for a test run')
        return 1
    with open(args.webgpu) as f:
        doc = json.load(f)
    start = time.perf_counter()
    cache: dict[str, float | None] = {}
    rows_out = []
    lines = [f"Per-call times: the project's WebGPU route (as kernel tuning chose) vs PyTorch {torch.__version__} "
             f"on {torch.cuda.get_device_name() if cuda else 'CPU (test run)'}, fp32, TF32 off; ms per call, "
             'Σ = calls per step × ms.', '']
    with torch.no_grad():
        for row in doc.get('rows', []):
            calls = row.get('tuned_calls') or []
            if not calls:
                continue
            out_calls = []
            for call in calls:
                key = json.dumps([call['kernel'], call['inputs'], call.get('attrs')], sort_keys=True)
                if key not in cache:
                    if time.perf_counter() - start > args.budget:
                        cache[key] = None
                    else:
                        try:
                            fn = make_call(torch, call, args.device)
                            cache[key] = time_call(torch, fn, args.repeat, args.warmup, cuda) if fn else None
                        except Exception as error:  # one call that PyTorch cannot run does not stop the rest
                            log(f"{row['row']}: {describe(call)}: {error}")
                            cache[key] = None
                ours = call['ms'].get(call['route'])
                out_calls.append({**call, 'ours_ms': ours, 'torch_ms': cache[key]})
            timed = [c for c in out_calls if c['ours_ms'] is not None and c['torch_ms'] is not None]
            ours_sum = sum(c['count'] * c['ours_ms'] for c in timed)
            torch_sum = sum(c['count'] * c['torch_ms'] for c in timed)
            rows_out.append({'row': row['row'], 'calls': out_calls, 'ours_ms_per_step': ours_sum, 'torch_ms_per_step': torch_sum})
            lines += [f"### {row['row']} (batch {row.get('batch', '?')}): products and convolutions Σ {ours_sum:.2f} ms ours vs "
                      f"{torch_sum:.2f} ms PyTorch over {len(timed)} of {len(out_calls)} distinct calls", '',
                      '| call | per step | route | ours ms | PyTorch ms | ratio | Σ ours − PyTorch ms |', '|---|---:|---|---:|---:|---:|---:|']
            gap = lambda c: c['count'] * ((c['ours_ms'] or 0) - (c['torch_ms'] or 0))  # noqa: E731
            for c in sorted(out_calls, key=gap, reverse=True):
                o, t = c['ours_ms'], c['torch_ms']
                ratio = f"{o / t:.1f}×" if o is not None and t else '-'
                fmt = lambda v: '-' if v is None else f"{v:.3f}"  # noqa: E731
                lines.append(f"| {describe(c)} | {c['count']} | {c['route']} | {fmt(o)} | {fmt(t)} | {ratio} | {fmt(gap(c) if o is not None and t is not None else None)} |")
            lines.append('')
    text = '\n'.join(lines) + '\n'
    print(text)
    if args.md:
        with open(args.md, 'w') as f:
            f.write(text)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump({'device': args.device, 'torch': torch.__version__, 'rows': rows_out}, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
