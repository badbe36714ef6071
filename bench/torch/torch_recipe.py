"""A resolved spec's training recipe as torch objects — weight-decay param groups by role, the
optimizer, the learning-rate schedule — shared by the fixture generator (recipe.py) and the PyTorch
twin (train.py), so that the fixtures' check of our optimizers and schedules against torch pins the
twin's recipe too. A parameter's role is ours (src/engine/optimizer.ts `weightRoles`): every
parameter of a normalisation module is `norm`, one named bias elsewhere is `bias`, the rest `weight`.
"""

from __future__ import annotations

import warnings
from typing import Iterable, List, Optional, Tuple

import torch
from torch import nn

# The normalisation modules whose every parameter has the role `norm` (ours: a layer class ending in Norm).
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)


def role(module: nn.Module, name: str) -> str:
    """The role of `module`'s own parameter `name`: norm, bias or weight."""
    return 'norm' if isinstance(module, NORMS) else 'bias' if name == 'bias' else 'weight'


def model_roles(model: nn.Module) -> List[Tuple[nn.Parameter, str]]:
    """Every trainable parameter of `model` once, with its role."""
    seen, out = set(), []
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                out.append((p, role(module, name)))
    return out


def param_groups(params: Iterable[Tuple[nn.Parameter, str]], opt: dict) -> List[dict]:
    """train.optimizer's weight decay as param groups: the roles weight_decay_exclude names without decay."""
    decayed, excluded = [], []
    for p, r in params:
        (excluded if r in opt['weight_decay_exclude'] else decayed).append(p)
    return [g for g in ({'params': decayed, 'weight_decay': opt['weight_decay']}, {'params': excluded, 'weight_decay': 0.0}) if g['params']]


def optimizer(groups: List[dict], opt: dict) -> torch.optim.Optimizer:
    """train.optimizer (adam, adamw, sgd) as torch.optim builds it over `groups`."""
    if opt['type'] == 'sgd':
        return torch.optim.SGD(groups, lr=opt['lr'], momentum=opt['momentum'], dampening=opt['dampening'], nesterov=opt['nesterov'])
    cls = torch.optim.AdamW if opt['type'] == 'adamw' else torch.optim.Adam
    return cls(groups, lr=opt['lr'], betas=tuple(opt['betas']), eps=opt['eps'])


def schedule(opt: torch.optim.Optimizer, sched: dict, lr: float, epochs: int, per_epoch: int) -> Optional[object]:
    """train.schedule as torch.optim.lr_scheduler, stepped after every optimizer step (StepLR's and
    MultiStepLR's epoch counts in steps), behind LinearLR for the warmup (SequentialLR). None for a
    constant rate without warmup."""
    S = torch.optim.lr_scheduler
    total = epochs * per_epoch
    warmup = sched.get('warmup_epochs', 0) * per_epoch
    kind = sched['type']
    if kind == 'step':
        main = S.StepLR(opt, step_size=sched['step_size'] * per_epoch, gamma=sched['gamma'])
    elif kind == 'multistep':
        main = S.MultiStepLR(opt, milestones=[m * per_epoch for m in sched['milestones']], gamma=sched['gamma'])
    elif kind == 'cosine':
        main = S.CosineAnnealingLR(opt, T_max=total - warmup, eta_min=sched['min_lr'])
    elif kind == 'onecycle':
        main = S.OneCycleLR(opt, max_lr=lr, total_steps=total, pct_start=sched['pct_start'], anneal_strategy=sched['anneal_strategy'],
                            div_factor=sched['div_factor'], final_div_factor=sched['final_div_factor'], cycle_momentum=sched['cycle_momentum'],
                            base_momentum=sched['base_momentum'], max_momentum=sched['max_momentum'])
    else:
        main = None
    if not warmup:
        return main
    warnings.filterwarnings('ignore', message='The epoch parameter')  # SequentialLR's own step(0) of the next scheduler
    linear = S.LinearLR(opt, start_factor=sched['warmup_start_factor'], end_factor=1.0, total_iters=warmup)
    return S.SequentialLR(opt, [linear, main], milestones=[warmup]) if main else linear
