#!/usr/bin/python3
"""Write test/fixtures/torch/init.json: the distribution PyTorch draws for every parameter tensor of
every paper model at initialisation (each module's default plus the model's own init loop, e.g.
torchvision ResNet-18's kaiming_normal_(mode='fan_out') convs and BatchNorm 1/0).

Every paper row of bench/torch/models.py is built with SEEDS torch seeds. Tensors of one model are
grouped by (module kind, parameter, shape, shape of the module's weight): PyTorch's init law depends
on nothing else (the module type, its weight's fans, and the model's init loop, which in ResNet-18
treats every conv alike), so each group pools its members over the seeds. Per group the fixture holds the number of members, the tensor
size, and the pooled sample: mean, std, kurtosis, min, max and the quantiles at QUANTILE_PROBS, or
`const` when every draw is the same value (norm weights and biases, BatchNorm running statistics).
test/model/torch-init.test.ts builds the same rows from configs/paper/ and compares each of our
tensors with its group.

    /usr/bin/python3 bench/torch/init_fixture.py            # (re)write the fixture
    /usr/bin/python3 bench/torch/init_fixture.py --check    # regenerate in memory, compare
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List, Optional

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import models as M  # noqa: E402
from fixture_file import ROOT, write_or_check  # noqa: E402
from fixtures import param_kind  # noqa: E402

OUT = os.path.join(ROOT, 'test', 'fixtures', 'torch', 'init.json')
FORMAT = 'mixture-models/torch-init@1'
SEEDS = (0, 1, 2)
QUANTILE_PROBS = (0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)
MAX_BYTES = 200 * 1024

# configs/paper/<folder>/<file>.yaml for each (dataset of PAPER_TABLES, row name).
FOLDERS = {'CIFAR-10': 'cifar10', 'CIFAR-100': 'cifar100', 'STL-10@32': 'stl10', 'STL-10@96': 'stl10-perceiver'}


def config_name(dataset: str, row: str) -> str:
    return f'{FOLDERS[dataset]}/{row[2:] if row.startswith("p-") else row}'


def g(v: float) -> float:
    return float('%.6g' % v)


def named_tensors(model: nn.Module):
    """(name, kind, trainable, tensor, shape of the owning module's weight or None) for every parameter
    and floating buffer, in state_dict order."""
    owners = {}
    for mname, mod in model.named_modules():
        for pname, _ in list(mod.named_parameters(recurse=False)) + list(mod.named_buffers(recurse=False)):
            owners[(mname + '.' if mname else '') + pname] = (mod, pname)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    for name, t in model.state_dict().items():
        if not t.is_floating_point():
            continue  # num_batches_tracked
        mod, pname = owners[name]
        weight = getattr(mod, 'weight', None) if pname != 'weight' else None
        yield name, param_kind(mod, pname), name in trainable, t, list(weight.shape) if weight is not None else None


def group_stats(samples: np.ndarray) -> Dict[str, object]:
    x = samples.astype(np.float64)
    lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        return {'const': g(lo)}
    mean = float(x.mean())
    c = x - mean
    var = float((c * c).mean())
    kurt = float((c ** 4).mean() / (var * var))
    return {'mean': g(mean), 'std': g(var ** 0.5), 'kurtosis': g(kurt), 'min': g(lo), 'max': g(hi),
            'quantiles': [g(q) for q in np.quantile(x, QUANTILE_PROBS)]}


def model_entry(row: str, classes: int, configs: List[str]) -> Dict[str, object]:
    groups: Dict[tuple, Dict[str, object]] = {}
    for seed in SEEDS:
        torch.manual_seed(seed)
        model = M.build(row, classes)
        for name, kind, trainable, t, weight_shape in named_tensors(model):
            key = (kind, tuple(t.shape), tuple(weight_shape or ()))
            grp = groups.setdefault(key, {'kind': kind, 'shape': list(t.shape), 'weight_shape': weight_shape,
                                          'trainable': trainable, 'example': name, 'members': set(), 'draws': []})
            assert grp['trainable'] == trainable, f'{row}: {name} mixes trainable and buffer tensors'
            grp['members'].add(name)
            grp['draws'].append(t.detach().reshape(-1).numpy().copy())
        del model
    out = []
    for grp in groups.values():
        draws = np.concatenate(grp['draws'])
        out.append({'kind': grp['kind'], 'shape': grp['shape'],
                    **({'weight_shape': grp['weight_shape']} if grp['weight_shape'] else {}),
                    'trainable': grp['trainable'], 'example': grp['example'], 'members': len(grp['members']),
                    **group_stats(draws)})
    return {'row': row, 'classes': classes, 'configs': configs, 'groups': out}


def build_fixture() -> Dict[str, object]:
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    rows: Dict[tuple, List[str]] = {}
    for _fig, dataset, classes, row, _params in M.PAPER_TABLES:
        rows.setdefault((row, classes), []).append(config_name(dataset, row))
    # ResNet-18 is one module in every table: its 1000-way head ignores the classes, and the input size
    # does not change its parameters.
    merged: Dict[tuple, List[str]] = {}
    for (row, classes), configs in rows.items():
        key = ('resnet18', 1000) if row.endswith('resnet18') else (row, classes)
        merged.setdefault(key, []).extend(configs)
    return {
        'format': FORMAT,
        'generator': 'bench/torch/init_fixture.py (models from bench/torch/models.py)',
        'torch_version': torch.__version__,
        'seeds': list(SEEDS),
        'quantile_probs': list(QUANTILE_PROBS),
        'notes': [
            'One entry per distinct paper model; `configs` are the configs/paper/ files that build it.',
            'A group is every tensor of one module kind and one PyTorch shape in that model whose module weight has '
            'one shape (`weight_shape`, given for biases and BatchNorm buffers: a bias law depends on its weight\'s '
            'fan-in), pooled over `seeds`; `members` counts its tensors, so a group holds members x size x '
            'len(seeds) draws.',
            'Shapes are PyTorch layouts: Linear (out, in), Conv2d (out, in, kh, kw), ConvTranspose2d (in, out, kh, kw).',
            '`const`: every draw had that value. Otherwise mean, std (population), kurtosis (4th standardised '
            'moment), min, max and the quantiles at quantile_probs of the pooled draws, 6 significant digits.',
        ],
        'models': [model_entry(row, classes, configs) for (row, classes), configs in merged.items()],
    }


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--check', action='store_true', help='regenerate in memory and compare with the file')
    ap.add_argument('--out', default=OUT)
    args = ap.parse_args(argv)
    return write_or_check(build_fixture(), args.out, args.check, MAX_BYTES)


if __name__ == '__main__':
    sys.exit(main())
