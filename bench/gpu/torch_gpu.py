#!/usr/bin/env python3
"""PyTorch CUDA reference for bench/gpu: the same paper rows (bench/torch/models.py) at the paper batch
sizes, fp32 with TF32 off, forward (eval, no_grad) and full training step (train mode, forward,
cross-entropy, backward, Adam(lr, eps=1e-8, weight_decay=1e-4) step, zero_grad), median ms after
warm-up, every timing closed by torch.cuda.synchronize().

    python3 bench/gpu/torch_gpu.py --rows resnet18,vit --repeat 10 --warmup 3 --out torch.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ROWS = ['resnet18', 'vit', 'alternating-1block', 'joint-1block', 'alternating-2block', 'joint-2block',
                'perceiver', 'perceiver-baseline', 'p-alternating-1block', 'p-joint-1block',
                'p-alternating-2block', 'p-joint-2block', 'cnn']


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def resnet18_without_torchvision():
    """torchvision.models.resnet18(num_classes=1000), for machines without torchvision."""
    from torch import nn

    class Basic(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            idt = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + idt)

    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
              nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for i, width in enumerate([64, 128, 256, 512]):
        for b in range(2):
            layers.append(Basic(cin, width, 2 if i > 0 and b == 0 else 1))
            cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000)]
    return nn.Sequential(*layers)


def run_row(M, torch, name: str, repeat: int, warmup: int, batch_override: int, device: str = 'cuda', precision: str = 'fp32') -> dict:
    """`precision`: fp32 (TF32 off, as run_rows sets it), tf32 (TF32 on for products and convolutions) or amp
    (autocast(float16) + GradScaler, the mixed precision researchers train in; engine.precision mixed16's twin)."""
    import contextlib
    import torch.nn.functional as F
    if precision == 'tf32':
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    # On a CPU test run (no float16 autocast there) the AMP code runs with autocast and the scaler disabled.
    amp = precision == 'amp' and device.startswith('cuda')
    autocast = (lambda: torch.autocast(device_type='cuda', dtype=torch.float16)) if amp else contextlib.nullcontext
    scaler = torch.cuda.amp.GradScaler(enabled=amp)
    row = M.ROWS[name]
    torch.manual_seed(0)
    model = M.build(name, 10).to(device)
    params = M.count_trainable(model)
    batch = batch_override or row.batch
    x = torch.rand(batch, 3, row.image, row.image, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)

    def timed(fn, n):
        out = []
        for _ in range(n):
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            out.append((time.perf_counter() - t0) * 1e3)
        return out

    model.eval()

    def forward():
        with torch.no_grad(), autocast():
            model(x)

    timed(forward, warmup)
    fwd = timed(forward, repeat)

    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=row.lr, eps=1e-8, weight_decay=1e-4)
    last = {}

    def step():
        with autocast():
            out = model(x)
            loss = F.cross_entropy(out, y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad()
        last['loss'] = loss

    timed(step, warmup)
    steps = timed(step, repeat)
    res = {
        'row': name, 'batch': batch, 'image': row.image, 'params': params,
        'forward_ms': round(statistics.median(fwd), 3), 'step_ms': round(statistics.median(steps), 3),
        'forward_ms_all': [round(t, 3) for t in fwd], 'step_ms_all': [round(t, 3) for t in steps],
        'last_loss': float(last['loss'].detach().cpu()),
    }
    del model, opt, x, y
    if device == 'cuda':
        torch.cuda.empty_cache()
    return res


PRECISION_NAMES = {'fp32': 'fp32, TF32 off', 'tf32': 'fp32, TF32 on', 'amp': 'AMP: autocast(float16) + GradScaler'}


def run_rows(args, measure, describe=lambda r: None, extra=None) -> int:
    """The rows of `args.rows` one by one (skipped once `args.budget` seconds have passed), with PyTorch set
    up as every script here uses it (fp32, TF32 off, the models of bench/torch/models.py): `measure(M, torch,
    name)` gives a row's result, `describe` logs it; the document (`device`, `extra`, `rows`: each result, or
    why a row failed or was skipped) goes to `args.out` after every row, else to stdout at the end."""
    start = time.perf_counter()
    doc = {'device': None, **(extra or {}), 'rows': []}

    def write():
        text = json.dumps(doc, indent=2)
        if args.out:
            with open(args.out, 'w') as f:
                f.write(text)
        return text

    cuda = args.device.startswith('cuda')
    try:
        import torch
        if cuda and not torch.cuda.is_available():
            raise RuntimeError('torch.cuda.is_available() is False')
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        sys.path.insert(0, os.path.join(HERE, '..', 'torch'))
        import models as M
        try:
            import torchvision  # noqa: F401
        except Exception:
            M.resnet18 = resnet18_without_torchvision
            log('torchvision not importable: using the built-in ResNet-18 (same structure)')
        gpu = torch.cuda.get_device_name(0) if cuda else 'CPU (test run)'
        doc['device'] = (f'{gpu}, torch {torch.__version__}, CUDA {torch.version.cuda}, '
                         f'cuDNN {torch.backends.cudnn.version()}, ' + PRECISION_NAMES[getattr(args, 'precision', 'fp32')])
        log(f'torch: {doc["device"]}')
    except Exception as e:  # noqa: BLE001
        doc['device'] = f'unavailable: {e}'
        log(f'torch: {doc["device"]}')
        print(write()) if not args.out else write()
        return 0

    for name in [r for r in args.rows.split(',') if r]:
        elapsed = time.perf_counter() - start
        if elapsed > args.budget:
            doc['rows'].append({'row': name, 'skipped': f'time budget of {args.budget:.0f} s used up'})
            log(f'{name}: skipped (budget)')
            continue
        log(f'{name} ({elapsed:.0f} s elapsed)')
        try:
            if name not in M.ROWS:
                raise KeyError(f'unknown row {name}')
            r = measure(M, torch, name)
            doc['rows'].append(r)
            describe(r)
        except Exception as e:  # noqa: BLE001
            doc['rows'].append({'row': name, 'error': f'{type(e).__name__}: {e}'})
            log(f'  FAILED: {traceback.format_exc().strip().splitlines()[-1]}')
            try:
                if cuda:
                    torch.cuda.empty_cache()
            except Exception:  # noqa: BLE001
                pass
        write()
    text = write()
    if not args.out:
        print(text)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--rows', default=','.join(DEFAULT_ROWS))
    ap.add_argument('--repeat', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--batch', type=int, default=0, help='use this batch size for every row')
    ap.add_argument('--budget', type=float, default=150, help='seconds; later rows are skipped past it')
    ap.add_argument('--out', help='write the JSON result here (else stdout)')
    ap.add_argument('--device', default='cuda', help=argparse.SUPPRESS)  # 'cpu' to test this script without a GPU
    ap.add_argument('--precision', choices=['fp32', 'tf32', 'amp'], default='fp32',
                    help='fp32 (TF32 off), tf32 (TF32 on), amp (autocast float16 + GradScaler; disabled on a CPU test run)')
    args = ap.parse_args()
    return run_rows(args, lambda M, torch, name: run_row(M, torch, name, args.repeat, args.warmup, args.batch, args.device, args.precision),
                    lambda r: log(f'  batch {r["batch"]}: forward {r["forward_ms"]:.2f} ms, step {r["step_ms"]:.2f} ms'))


if __name__ == '__main__':
    sys.exit(main())
