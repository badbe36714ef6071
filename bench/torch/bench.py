#!/usr/bin/python3
"""CPU benchmark of the PyTorch reference models (bench/torch/models.py) at the paper's batch sizes.

For every row: forward pass (eval mode, no_grad) and one full training step (train mode, forward,
cross-entropy, backward, Adam(lr, eps=1e-8, weight_decay=1e-4) step, zero_grad), median of
--repeat timed iterations after --warmup untimed ones, on synthetic U(0,1) images. Each row runs in
its own child process so that peak RSS (getrusage ru_maxrss) is per row.

    /usr/bin/python3 bench/torch/bench.py --threads 2 --rows resnet18,vit --repeat 5 --warmup 2
    /usr/bin/python3 bench/torch/bench.py --threads 1 --batch-scale 8 --json > torch-1t.json

Rows (ViT tables, 32x32): alternating-1block alternating-2block joint-1block joint-2block resnet18 vit
Rows (Perceiver table, 96x96): perceiver-baseline perceiver p-joint-1block p-joint-2block
  p-alternating-1block p-alternating-2block cnn p-resnet18
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep bench/torch free of __pycache__
DEFAULT_ROWS = ['resnet18', 'vit', 'alternating-1block', 'alternating-2block', 'joint-1block', 'joint-2block',
                'perceiver-baseline', 'perceiver', 'p-joint-1block', 'p-joint-2block', 'p-alternating-1block',
                'p-alternating-2block', 'cnn']


def set_threads(threads: int) -> None:
    import torch
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set (only possible once per process)
        pass


def loaded_native_libs() -> List[str]:
    """BLAS/LAPACK/OpenMP/oneDNN/MKL libraries mapped into this process, resolved through symlinks
    (e.g. /etc/alternatives)."""
    libs = set()
    try:
        with open('/proc/self/maps') as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and re.search(r'(blas|lapack|gomp|omp|dnnl|mkl)', os.path.basename(parts[5])):
                    libs.add(f'{parts[5]} -> {os.path.realpath(parts[5])}')
    except OSError:
        pass
    return sorted(libs)


def openblas_info() -> Optional[Dict[str, object]]:
    """Ask the OpenBLAS that torch loaded for its build config, threading model and thread count."""
    for lib in loaded_native_libs():
        path = lib.split(' -> ')[1]
        if 'openblas' not in path or 'libopenblas' not in os.path.basename(path):
            continue
        try:
            h = ctypes.CDLL(path)
            h.openblas_get_config.restype = ctypes.c_char_p
            model = {0: 'sequential', 1: 'pthreads', 2: 'openmp'}.get(h.openblas_get_parallel(), 'unknown')
            return {'library': path, 'config': h.openblas_get_config().decode(), 'parallel': model,
                    'num_threads': h.openblas_get_num_threads()}
        except (OSError, AttributeError):
            continue
    return None


def blas_report() -> Dict[str, object]:
    import torch
    a = torch.rand(64, 64)
    _ = a @ a  # make sure the BLAS is loaded and initialised
    show = torch.__config__.show()
    build = {}
    m = re.search(r'Build settings: (.*)', show)
    if m:
        for kv in m.group(1).split(', '):
            if '=' in kv:
                k, v = kv.split('=', 1)
                if k in ('BLAS_INFO', 'LAPACK_INFO', 'USE_MKLDNN', 'USE_OPENMP', 'TORCH_VERSION'):
                    build[k] = v.strip()
    alt = '/etc/alternatives/libblas.so.3-x86_64-linux-gnu'
    return {
        'torch_build': build,
        'parallel_info': torch.__config__.parallel_info().strip().splitlines(),
        'mkldnn_available': torch.backends.mkldnn.is_available(),
        'libblas_alternative': os.path.realpath(alt) if os.path.exists(alt) else None,
        'loaded_libraries': loaded_native_libs(),
        'openblas': openblas_info(),
        'note': 'matmul/Linear (addmm, bmm) go through the BLAS above; Conv2d/ConvTranspose2d use oneDNN '
                '(mkldnn) when mkldnn_available.',
    }


def run_row(name: str, batch_scale: int, batch_override: Optional[int], repeat: int, warmup: int,
            threads: int, do_forward: bool, do_step: bool) -> Dict[str, object]:
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, HERE)
    import models as M

    set_threads(threads)
    torch.manual_seed(0)
    row = M.ROWS[name]
    model = M.build(name, 10)
    params = M.count_trainable(model)
    batch = batch_override if batch_override else max(1, row.batch // batch_scale)
    x = torch.rand(batch, 3, row.image, row.image)
    y = torch.randint(0, 10, (batch,))

    forward_times: List[float] = []
    forward_cpu: List[float] = []
    if do_forward:
        model.eval()
        with torch.no_grad():
            for i in range(warmup + repeat):
                c0, t0 = time.process_time(), time.perf_counter()
                out = model(x)
                t1, c1 = time.perf_counter(), time.process_time()
                if i >= warmup:
                    forward_times.append(t1 - t0)
                    forward_cpu.append(c1 - c0)
        del out

    step_times: List[float] = []
    step_cpu: List[float] = []
    loss_value = None
    if do_step:
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=row.lr, eps=1e-8, weight_decay=1e-4)
        for i in range(warmup + repeat):
            c0, t0 = time.process_time(), time.perf_counter()
            out = model(x)
            loss = F.cross_entropy(out, y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            t1, c1 = time.perf_counter(), time.process_time()
            if i >= warmup:
                step_times.append(t1 - t0)
                step_cpu.append(c1 - c0)
        loss_value = float(loss.detach())

    fwd = statistics.median(forward_times) * 1e3 if forward_times else None
    step = statistics.median(step_times) * 1e3 if step_times else None
    return {
        'row': name,
        'table': row.table,
        'batch': batch,
        'image': row.image,
        'params': params,
        'forward_ms': round(fwd, 2) if fwd is not None else None,
        'step_ms': round(step, 2) if step is not None else None,
        'images_per_s': round(batch / (step / 1e3), 2) if step else None,
        'forward_images_per_s': round(batch / (fwd / 1e3), 2) if fwd else None,
        'forward_cpu_ms': round(statistics.median(forward_cpu) * 1e3, 2) if forward_cpu else None,
        'step_cpu_ms': round(statistics.median(step_cpu) * 1e3, 2) if step_cpu else None,
        'forward_ms_all': [round(t * 1e3, 2) for t in forward_times],
        'step_ms_all': [round(t * 1e3, 2) for t in step_times],
        'last_loss': loss_value,
        'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
    }


def fmt(v, spec):
    return format(v, spec) if v is not None else '-'


def print_table(rows: List[Dict[str, object]], threads: int, out=sys.stdout) -> None:
    print(f'{"row":<22}{"batch":>6}{"image":>6}{"params":>12}{"fwd ms":>10}{"step ms":>10}{"img/s":>9}'
          f'{"RSS MB":>9}{"fwd cpu":>10}{"step cpu":>10}', file=out)
    for r in rows:
        print(f'{r["row"]:<22}{r["batch"]:>6}{r["image"]:>6}{r["params"]:>12,}{fmt(r["forward_ms"], ".1f"):>10}'
              f'{fmt(r["step_ms"], ".1f"):>10}{fmt(r["images_per_s"], ".1f"):>9}{fmt(r["peak_rss_mb"], ".0f"):>9}'
              f'{fmt(r.get("forward_cpu_ms"), ".0f"):>10}{fmt(r.get("step_cpu_ms"), ".0f"):>10}', file=out)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--threads', type=int, default=2, help='intra-op threads (torch.set_num_threads, '
                    'OMP_NUM_THREADS); inter-op threads are 1')
    ap.add_argument('--rows', default=','.join(DEFAULT_ROWS), help='comma-separated row names')
    ap.add_argument('--repeat', type=int, default=3, help='timed iterations (median reported)')
    ap.add_argument('--warmup', type=int, default=1, help='untimed iterations first')
    ap.add_argument('--batch-scale', type=int, default=1, help='divide the paper batch sizes by this')
    ap.add_argument('--batch', type=int, default=0, help='use this batch size for every row instead')
    ap.add_argument('--no-forward', action='store_true', help='skip the forward-only timing')
    ap.add_argument('--no-step', action='store_true', help='skip the training-step timing')
    ap.add_argument('--json', action='store_true', help='print the result as JSON on stdout')
    ap.add_argument('--out', help='also write the JSON result to this file')
    ap.add_argument('--child', help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        res = run_row(args.child, args.batch_scale, args.batch or None, args.repeat, args.warmup, args.threads,
                      not args.no_forward, not args.no_step)
        print('BENCH_ROW ' + json.dumps(res))
        return 0

    sys.path.insert(0, HERE)
    import models as M
    rows = [r.strip() for r in args.rows.split(',') if r.strip()]
    unknown = [r for r in rows if r not in M.ROWS]
    if unknown:
        print(f'Unknown row(s): {", ".join(unknown)}. Known rows: {", ".join(M.ROWS)}. '
              f'Pass --rows with names from that list.', file=sys.stderr)
        return 2

    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads),
               MKL_NUM_THREADS=str(args.threads))
    os.environ.update(OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
    import torch
    set_threads(args.threads)

    results = []
    log = sys.stderr
    print(f'torch {torch.__version__}, {args.threads} thread(s), repeat {args.repeat}, warmup {args.warmup}',
          file=log)
    for name in rows:
        cmd = [sys.executable, os.path.abspath(__file__), '--child', name, '--threads', str(args.threads),
               '--repeat', str(args.repeat), '--warmup', str(args.warmup), '--batch-scale', str(args.batch_scale),
               '--batch', str(args.batch)]
        if args.no_forward:
            cmd.append('--no-forward')
        if args.no_step:
            cmd.append('--no-step')
        t0 = time.time()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        line = next((l for l in proc.stdout.splitlines() if l.startswith('BENCH_ROW ')), None)
        if proc.returncode != 0 or line is None:
            print(f'row {name} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}', file=log)
            return 1
        r = json.loads(line[len('BENCH_ROW '):])
        results.append(r)
        print(f'  {name:<22} batch {r["batch"]:>3}  forward {fmt(r["forward_ms"], ".1f")} ms  '
              f'step {fmt(r["step_ms"], ".1f")} ms  {fmt(r["images_per_s"], ".1f")} img/s  '
              f'RSS {r["peak_rss_mb"]:.0f} MB  ({time.time() - t0:.0f} s)', file=log)

    report = {
        'rows': results,
        'torch': torch.__version__,
        'threads': args.threads,
        'interop_threads': 1,
        'repeat': args.repeat,
        'warmup': args.warmup,
        'batch_scale': args.batch_scale,
        'python': platform.python_version(),
        'machine': {'cpu_count': os.cpu_count(), 'processor': _cpu_model(), 'platform': platform.platform()},
        'blas': blas_report(),
        'method': 'median wall time (time.perf_counter) of `repeat` iterations after `warmup`; forward: eval '
                  'mode + no_grad; step: train mode, forward + cross_entropy + backward + Adam(eps 1e-8, '
                  'weight_decay 1e-4).step() + zero_grad(); images_per_s = batch / step time; *_cpu_ms = '
                  'median process CPU time (all threads) of the same iterations; synthetic '
                  'U(0,1) inputs; each row in a fresh process (peak_rss_mb = that process\'s ru_maxrss).',
    }
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=1)
    if args.json:
        json.dump(report, sys.stdout, indent=1)
        print()
    else:
        print_table(results, args.threads)
        ob = report['blas']['openblas']
        print(f'BLAS: {ob["config"] + " (" + ob["parallel"] + ") at " + ob["library"] if ob else "not OpenBLAS"}')
    return 0


def _cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == '__main__':
    sys.exit(main())
