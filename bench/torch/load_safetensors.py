#!/usr/bin/python3
"""Load `mixture export --format safetensors` files into the PyTorch reference models and run them.

The file's metadata names the class (in models.py, or torchvision's) and its arguments; the tensors
are read by the published safetensors layout (8-byte little-endian header length, JSON header,
little-endian data, offsets covering the data without gaps), checked, and given to
`load_state_dict(strict=True)`, so that a missing, extra or misshapen tensor fails.

    /usr/bin/python3 bench/torch/load_safetensors.py model.safetensors          # load, say what loaded
    /usr/bin/python3 bench/torch/load_safetensors.py --job job.json result.json  # the test suite's use

A job is {"models": [{"file", "input": {"shape": [N, H, W, C], "values": [...]}}]}; the result holds
each model's eval-mode logits on that (NHWC) input, given to the model as NCHW.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import struct
import sys
from typing import Dict, Tuple

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep bench/torch free of __pycache__
import models as M  # noqa: E402

DTYPES = {'F32': (torch.float32, 4), 'I64': (torch.int64, 8)}


def read_safetensors(path: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    data = raw[8 + n:]
    metadata = header.pop('__metadata__', {})
    tensors: Dict[str, torch.Tensor] = {}
    end = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets'][0]):
        dtype, size = DTYPES[info['dtype']]
        begin, stop = info['data_offsets']
        count = 1
        for d in info['shape']:
            count *= d
        assert begin == end, f'{name}: data starts at {begin}, the previous tensor ends at {end}'
        assert stop - begin == count * size, f'{name}: {stop - begin} bytes for shape {info["shape"]}'
        t = torch.frombuffer(bytearray(data[begin:stop]), dtype=dtype) if count > 0 else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(info['shape']).clone()
        end = stop
    assert end == len(data), f'{len(data) - end} bytes after the last tensor'
    return tensors, metadata


def build(metadata: Dict[str, str]) -> torch.nn.Module:
    assert metadata.get('names') == 'pytorch', f'the file keeps the project\'s own names: {metadata.get("reason")}'
    builder = metadata['torch_builder']
    kwargs = json.loads(metadata['torch_kwargs'])
    if builder.startswith('torchvision.'):
        module, _, name = builder.rpartition('.')
        return getattr(importlib.import_module(module), name)(**kwargs)
    return getattr(M, builder)(**kwargs)


def load(path: str) -> torch.nn.Module:
    tensors, metadata = read_safetensors(path)
    model = build(metadata)
    model.load_state_dict(tensors, strict=True)
    return model.eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('file', nargs='?', help='a model.safetensors to load')
    ap.add_argument('--job', nargs=2, metavar=('JOB', 'RESULT'), help='run the models of JOB, write their logits to RESULT')
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    if args.job:
        with open(args.job[0]) as f:
            job = json.load(f)
        results = []
        for item in job['models']:
            model = load(item['file'])
            x = torch.tensor(item['input']['values'], dtype=torch.float32).reshape(item['input']['shape']).permute(0, 3, 1, 2)
            with torch.no_grad():
                y = model(x.contiguous())
            results.append({'file': item['file'], 'shape': list(y.shape), 'logits': y.reshape(-1).tolist(), 'class': type(model).__name__})
        with open(args.job[1], 'w') as f:
            json.dump({'torch': torch.__version__, 'results': results}, f)
        return 0
    if not args.file:
        ap.print_help()
        return 2
    model = load(args.file)
    print(f'{args.file}: loaded into {type(model).__name__} with load_state_dict(strict=True), '
          f'{sum(p.numel() for p in model.parameters())} parameters')
    return 0


if __name__ == '__main__':
    sys.exit(main())
