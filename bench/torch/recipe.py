#!/usr/bin/python3
"""Generate test/fixtures/torch/recipe.json: what torch.optim, torch.optim.lr_scheduler,
CrossEntropyLoss(label_smoothing) and clip_grad_norm_ give, for the training recipe's tests.

  optimizers   Adam (coupled L2), AdamW, SGD (momentum, dampening, Nesterov) and RMSprop (the test
               plugin file's, configs/examples/plugins/rmsprop.mjs) over 25 steps of fixed
               gradients, two parameters ("weight" 4x3, "bias" 3) in PyTorch param groups (the bias
               without weight decay where a case excludes it), at a learning rate that changes every
               step; one case clips the gradients with clip_grad_norm_ first. The parameters after
               every step and the optimizer's state after the last.
  schedules    the learning rate of every step of StepLR, MultiStepLR (stepped per epoch),
               CosineAnnealingLR, OneCycleLR (cos and linear, with and without cycle_momentum: then
               also Adam's beta1 of every step) (stepped per step), and LinearLR warmup in front of
               CosineAnnealingLR, StepLR, MultiStepLR and a constant rate (SequentialLR, per step).
  label_smoothing  CrossEntropyLoss(label_smoothing=eps) of fixed logits: the loss and d loss / d logits.
  mixup        timm's Mixup (batch, pair and elem modes; mixup and cutmix) of a fixed NHWC batch of 6
               given its draws: the mixed images and the smoothed, mixed targets.
  soft_targets timm's SoftTargetCrossEntropy of fixed logits and target distributions: the loss and
               d loss / d logits.
  weight_roles every paper row's trainable parameters by role: norm (any parameter of a BatchNorm or
               LayerNorm module), bias (a parameter named bias elsewhere), weight (the rest): count and
               number of scalars.

Inputs (initial parameters, gradients, logits) are decimals with 5 significant digits, read as
float32 by the tests; the references are computed in float64 and stored with 9 significant digits.

    /usr/bin/python3 bench/torch/recipe.py            # (re)write the fixture
    /usr/bin/python3 bench/torch/recipe.py --check    # regenerate in memory, compare with the file
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from typing import Dict, List, Optional

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep bench/torch free of __pycache__
import models as M  # noqa: E402
import torch_recipe as R  # noqa: E402
from fixture_file import ROOT, write_or_check  # noqa: E402

OUT = os.path.join(ROOT, 'test', 'fixtures', 'torch', 'recipe.json')
FORMAT = 'mixture-models/torch-recipe@1'
STEPS = 25


def num(v: float, digits: int) -> float:
    return float('%.*g' % (digits, v))


def defined(shape, gen: torch.Generator, scale: float = 1.0) -> torch.Tensor:
    """A float64 tensor of N(0, scale²) values, each exactly float32(a 5-digit decimal)."""
    t = torch.randn(*shape, generator=gen, dtype=torch.float64) * scale
    return torch.tensor([float(torch.tensor(num(v, 5), dtype=torch.float32)) for v in t.reshape(-1).tolist()], dtype=torch.float64).reshape(shape)


def values(t: torch.Tensor, digits: int = 9) -> List[float]:
    return [num(v, digits) for v in t.detach().reshape(-1).tolist()]


def decimals(t: torch.Tensor) -> List[float]:
    return [num(v, 5) for v in t.reshape(-1).tolist()]


# ---------------------------------------------------------------------------------------------
# Optimizers
# ---------------------------------------------------------------------------------------------

OPTIMIZER_CASES = [
    # name, spec (as the project writes train.optimizer), grad_clip max_norm or None
    ('adam', {'type': 'adam', 'lr': 0.01, 'weight_decay': 0.01, 'weight_decay_exclude': [], 'betas': [0.9, 0.999], 'eps': 1e-8}, None),
    ('adam-exclude-bias', {'type': 'adam', 'lr': 0.01, 'weight_decay': 0.01, 'weight_decay_exclude': ['bias'], 'betas': [0.8, 0.99], 'eps': 1e-6}, None),
    ('adamw', {'type': 'adamw', 'lr': 0.01, 'weight_decay': 0.05, 'weight_decay_exclude': ['bias'], 'betas': [0.9, 0.999], 'eps': 1e-8}, None),
    ('sgd', {'type': 'sgd', 'lr': 0.1, 'weight_decay': 5e-4, 'weight_decay_exclude': [], 'momentum': 0.9, 'dampening': 0.1, 'nesterov': False}, None),
    ('sgd-nesterov', {'type': 'sgd', 'lr': 0.1, 'weight_decay': 5e-4, 'weight_decay_exclude': ['bias'], 'momentum': 0.9, 'dampening': 0, 'nesterov': True}, None),
    ('sgd-plain', {'type': 'sgd', 'lr': 0.1, 'weight_decay': 0, 'weight_decay_exclude': [], 'momentum': 0, 'dampening': 0, 'nesterov': False}, None),
    ('adam-clip', {'type': 'adam', 'lr': 0.01, 'weight_decay': 0.0001, 'weight_decay_exclude': [], 'betas': [0.9, 0.999], 'eps': 1e-8}, 0.5),
    # The momentum changing every step, as OneCycleLR's cycle_momentum writes it into the param groups
    # (Adam's and AdamW's beta1, SGD's momentum): 'momenta' in the case.
    ('adamw-cycled-beta1', {'type': 'adamw', 'lr': 0.01, 'weight_decay': 0.05, 'weight_decay_exclude': ['bias'], 'betas': [0.9, 0.999], 'eps': 1e-8}, None, True),
    ('sgd-nesterov-cycled-momentum', {'type': 'sgd', 'lr': 0.1, 'weight_decay': 5e-4, 'weight_decay_exclude': [], 'momentum': 0.9, 'dampening': 0, 'nesterov': True}, None, True),
    # A plugin file's optimizer (configs/examples/plugins/rmsprop.mjs): RMSprop without momentum.
    ('rmsprop-plugin', {'type': 'rmsprop', 'lr': 0.01, 'weight_decay': 0.01, 'weight_decay_exclude': ['bias'], 'alpha': 0.9, 'eps': 1e-6}, None),
]


def torch_optimizer(spec: Dict[str, object], weight: torch.Tensor, bias: torch.Tensor) -> torch.optim.Optimizer:
    groups = R.param_groups([(weight, 'weight'), (bias, 'bias')], spec)
    if spec['type'] == 'rmsprop':  # the example plugin file's optimizer, not the project's
        return torch.optim.RMSprop(groups, lr=spec['lr'], alpha=spec['alpha'], eps=spec['eps'])
    return R.optimizer(groups, spec)


def optimizer_case(index: int, name: str, spec: Dict[str, object], max_norm: Optional[float], cycled: bool = False) -> Dict[str, object]:
    gen = torch.Generator().manual_seed(100 + index)
    weight = nn.Parameter(defined((4, 3), gen))
    bias = nn.Parameter(defined((3,), gen))
    start = [decimals(weight.data), decimals(bias.data)]
    # Gradients large enough that clipping (max_norm 0.5) bites on most steps.
    grads = [[defined((4, 3), gen, 0.5), defined((3,), gen, 0.5)] for _ in range(STEPS)]
    opt = torch_optimizer(spec, weight, bias)
    # A learning rate that changes every step (as a schedule's does): base · (1 + 0.5·sin(step)).
    lrs = [num(spec['lr'] * (1 + 0.5 * math.sin(t)), 6) for t in range(STEPS)]
    # Where cycled: a momentum between 0.75 and 0.95 that changes every step.
    momenta = [num(0.85 + 0.1 * math.cos(0.7 * t), 6) for t in range(STEPS)] if cycled else []
    after = []
    norms = []
    for t in range(STEPS):
        for g in opt.param_groups:
            g['lr'] = lrs[t]
            if cycled and spec['type'] == 'sgd':
                g['momentum'] = momenta[t]
            elif cycled:
                g['betas'] = (momenta[t], g['betas'][1])
        weight.grad, bias.grad = grads[t][0].clone(), grads[t][1].clone()
        if max_norm is not None:
            norms.append(num(float(torch.nn.utils.clip_grad_norm_([weight, bias], max_norm)), 9))
        opt.step()
        after.append([values(weight.data), values(bias.data)])
    state = {}
    for key in ('exp_avg', 'exp_avg_sq', 'momentum_buffer', 'square_avg'):
        tensors = [opt.state[p].get(key) for p in (weight, bias)]
        if all(t is not None for t in tensors):
            state[key] = [values(t) for t in tensors]
    return {
        'name': name,
        'optimizer': spec,
        **({'grad_clip': {'max_norm': max_norm}, 'total_norms': norms} if max_norm is not None else {}),
        'params': [{'name': 'weight', 'role': 'weight', 'shape': [4, 3]}, {'name': 'bias', 'role': 'bias', 'shape': [3]}],
        'start': start,
        'grads': [[decimals(g) for g in step] for step in grads],
        'lrs': lrs,
        **({'momenta': momenta} if cycled else {}),
        'after': after,
        'state': state,
    }


# ---------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------

SCHEDULE_CASES = [
    # name, schedule (as train.schedule writes it), base lr, epochs, steps per epoch
    ('step', {'type': 'step', 'step_size': 3, 'gamma': 0.5}, 0.1, 10, 4),
    ('multistep', {'type': 'multistep', 'milestones': [2, 5, 8], 'gamma': 0.1}, 0.1, 10, 3),
    ('cosine-warmup', {'type': 'cosine', 'warmup_epochs': 2, 'warmup_start_factor': 0.01, 'min_lr': 1e-4}, 0.1, 10, 5),
    ('cosine', {'type': 'cosine', 'warmup_epochs': 0, 'warmup_start_factor': 0.01, 'min_lr': 0}, 0.05, 6, 7),
    ('onecycle', {'type': 'onecycle', 'pct_start': 0.3, 'div_factor': 25, 'final_div_factor': 10000, 'anneal_strategy': 'cos',
                  'cycle_momentum': True, 'base_momentum': 0.85, 'max_momentum': 0.95}, 0.1, 8, 6),
    ('onecycle-linear', {'type': 'onecycle', 'pct_start': 0.25, 'div_factor': 10, 'final_div_factor': 100, 'anneal_strategy': 'linear',
                         'cycle_momentum': True, 'base_momentum': 0.8, 'max_momentum': 0.9}, 0.02, 5, 9),
    ('onecycle-fixed-momentum', {'type': 'onecycle', 'pct_start': 0.3, 'div_factor': 25, 'final_div_factor': 10000, 'anneal_strategy': 'cos',
                                 'cycle_momentum': False, 'base_momentum': 0.85, 'max_momentum': 0.95}, 0.1, 4, 5),
    # The shared warmup in front of the per-epoch schedules: their epochs count from its end.
    ('step-warmup', {'type': 'step', 'step_size': 3, 'gamma': 0.5, 'warmup_epochs': 2, 'warmup_start_factor': 0.1}, 0.1, 10, 4),
    ('multistep-warmup', {'type': 'multistep', 'milestones': [2, 5], 'gamma': 0.1, 'warmup_epochs': 1, 'warmup_start_factor': 0.01}, 0.1, 9, 3),
    ('constant-warmup', {'type': 'constant', 'warmup_epochs': 3, 'warmup_start_factor': 0.25}, 0.01, 5, 4),
]


def schedule_case(name: str, spec: Dict[str, object], lr: float, epochs: int, per_epoch: int) -> Dict[str, object]:
    p = nn.Parameter(torch.zeros(1))
    # Adam where OneCycleLR cycles the momentum (its beta1 of every step is recorded); SGD elsewhere.
    cycles = spec['type'] == 'onecycle' and spec['cycle_momentum']
    opt = torch.optim.Adam([p], lr=lr) if cycles else torch.optim.SGD([p], lr=lr)
    total = epochs * per_epoch
    sched = R.schedule(opt, spec, lr, epochs, per_epoch)
    lrs, momenta = [], []
    for step in range(total):
        lrs.append(num(opt.param_groups[0]['lr'], 15))
        if cycles:
            momenta.append(num(opt.param_groups[0]['betas'][0], 15))
        opt.step()
        if sched:
            sched.step()
    case = {'name': name, 'schedule': spec, 'lr': lr, 'epochs': epochs, 'steps_per_epoch': per_epoch, 'lrs': lrs}
    return {**case, 'momenta': momenta} if cycles else case


# ---------------------------------------------------------------------------------------------
# Label smoothing
# ---------------------------------------------------------------------------------------------


def label_smoothing_cases() -> List[Dict[str, object]]:
    gen = torch.Generator().manual_seed(7)
    logits = defined((6, 5), gen, 2.0)
    labels = [0, 4, 2, 2, 1, 3]
    cases = []
    for eps in (0.0, 0.1, 0.3):
        x = logits.clone().requires_grad_(True)
        loss = nn.CrossEntropyLoss(label_smoothing=eps)(x, torch.tensor(labels))
        loss.backward()
        cases.append({'label_smoothing': eps, 'loss': num(float(loss), 12), 'grad': values(x.grad, 12)})
    return [{'logits': decimals(logits), 'shape': [6, 5], 'labels': labels, 'cases': cases}]


# ---------------------------------------------------------------------------------------------
# Mixup and cutmix (train.mixup): timm's Mixup given its draws, and SoftTargetCrossEntropy
# ---------------------------------------------------------------------------------------------

# timm's mixing given its draws (torch_recipe.py `mix_batch`, `mix_each`, `mixup_target`): each
# draw is (lam, box) with box (top, bottom, left, right) for cutmix or None for mixup; a cutmix
# draw's lam is the box's (correct_lam).
MIX_SIZE, MIX_CLASSES, MIX_SMOOTHING = 4, 5, 0.1
MIX_LABELS = [0, 3, 1, 4, 4, 2]


def box_lam(box) -> float:
    top, bottom, left, right = box
    return 1. - (bottom - top) * (right - left) / float(MIX_SIZE * MIX_SIZE)


MIX_CASES = [
    # name, mode, draws (one per batch, pair or example)
    ('batch-mixup', 'batch', [(0.63, None)]),
    ('batch-cutmix', 'batch', [(box_lam((1, 3, 0, 3)), (1, 3, 0, 3))]),
    ('batch-unmixed', 'batch', [(1., None)]),
    ('pair', 'pair', [(0.7, None), (box_lam((0, 2, 1, 4)), (0, 2, 1, 4)), (1., None)]),
    ('elem', 'elem', [(0.2, None), (box_lam((2, 4, 2, 4)), (2, 4, 2, 4)), (1., None), (0.9, None), (box_lam((0, 4, 0, 1)), (0, 4, 0, 1)), (0.5, None)]),
]


def mixup_cases() -> Dict[str, object]:
    gen = torch.Generator().manual_seed(11)
    batch = len(MIX_LABELS)
    images = defined((batch, MIX_SIZE, MIX_SIZE, 3), gen)  # NHWC, as the project's batches
    cases = []
    for name, mode, draws in MIX_CASES:
        x = images.to(torch.float32).permute(0, 3, 1, 2).contiguous()
        labels = torch.tensor(MIX_LABELS)
        lam = R.mix_batch(x, *draws[0]) if mode == 'batch' else R.mix_each(x, draws, mode == 'pair')
        target = R.mixup_target(labels, MIX_CLASSES, lam, MIX_SMOOTHING)
        cases.append({
            'name': name, 'mode': mode,
            'draws': [{'lam': d[0], 'box': list(d[1]) if d[1] is not None else None} for d in draws],
            # float32 results, exactly (9 significant digits hold every float32)
            'images': values(x.permute(0, 2, 3, 1)), 'targets': values(target),
        })
    return {'images': decimals(images), 'size': MIX_SIZE, 'labels': MIX_LABELS, 'classes': MIX_CLASSES, 'smoothing': MIX_SMOOTHING, 'cases': cases}


def soft_target_cases() -> List[Dict[str, object]]:
    """timm's SoftTargetCrossEntropy (sum(-target * log_softmax(x), -1).mean()) of fixed logits: the loss and d loss / d logits."""
    gen = torch.Generator().manual_seed(13)
    logits = defined((6, 5), gen, 2.0)
    raw = torch.rand(6, 5, generator=gen, dtype=torch.float64)
    targets = torch.tensor([num(v, 5) for v in (raw / raw.sum(1, keepdim=True)).reshape(-1).tolist()], dtype=torch.float64).reshape(6, 5)
    x = logits.clone().requires_grad_(True)
    loss = R.soft_target_cross_entropy(x, targets)
    loss.backward()
    return [{'logits': decimals(logits), 'targets': values(targets, 5), 'shape': [6, 5], 'loss': num(float(loss), 12), 'grad': values(x.grad, 12)}]


# ---------------------------------------------------------------------------------------------
# Weight roles of the paper rows
# ---------------------------------------------------------------------------------------------

# configs/paper/<folder>/<file>.yaml → (row in bench/torch/models.py, classes); stl10 rows are cifar10's.
PAPER_ROWS = {
    **{f'cifar10/{r}': (r, 10) for r in ('alternating-1block', 'alternating-2block', 'joint-1block', 'joint-2block', 'resnet18', 'vit')},
    **{f'cifar100/{r}': (r, 100) for r in ('alternating-1block', 'joint-1block', 'resnet18', 'vit')},
    'stl10-perceiver/perceiver-baseline': ('perceiver-baseline', 10),
    'stl10-perceiver/perceiver': ('perceiver', 10),
    'stl10-perceiver/joint-1block': ('p-joint-1block', 10),
    'stl10-perceiver/joint-2block': ('p-joint-2block', 10),
    'stl10-perceiver/alternating-1block': ('p-alternating-1block', 10),
    'stl10-perceiver/alternating-2block': ('p-alternating-2block', 10),
    'stl10-perceiver/cnn': ('cnn', 10),
    'stl10-perceiver/resnet18': ('p-resnet18', 10),
}


def roles(model: nn.Module) -> Dict[str, Dict[str, int]]:
    out = {r: {'tensors': 0, 'scalars': 0} for r in ('weight', 'bias', 'norm')}
    for p, role in R.model_roles(model):
        out[role]['tensors'] += 1
        out[role]['scalars'] += p.numel()
    return out


def weight_roles() -> Dict[str, Dict[str, Dict[str, int]]]:
    torch.manual_seed(0)
    return {row: roles(M.build(name, classes)) for row, (name, classes) in PAPER_ROWS.items()}


def fixture() -> Dict[str, object]:
    warnings.filterwarnings('ignore')  # SequentialLR's step(0) deprecation warning
    return {
        'format': FORMAT,
        'torch': torch.__version__,
        'generator': 'bench/torch/recipe.py',
        'optimizers': [optimizer_case(i, *c) for i, c in enumerate(OPTIMIZER_CASES)],
        'schedules': [schedule_case(*c) for c in SCHEDULE_CASES],
        'label_smoothing': label_smoothing_cases(),
        'mixup': mixup_cases(),
        'soft_targets': soft_target_cases(),
        'weight_roles': weight_roles(),
    }


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--check', action='store_true', help='regenerate in memory and compare with the file')
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    return write_or_check(fixture(), OUT, args.check)

if __name__ == '__main__':
    sys.exit(main())
