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


# ---------------------------------------------------------------------------------------------
# train.mixup: timm's Mixup (timm/data/mixup.py, pytorch-image-models), transcribed. The mixing
# given its draws (`mix_batch`, `mix_each`) is what the fixture (recipe.py) pins ours to bit for bit;
# `Mixup` draws as timm does (numpy) for the twin. Each draw is (lam, box): box (top, bottom, left,
# right) for cutmix, None for mixup. Unlike timm, an odd batch is mixed too: its middle example pairs
# with itself and is left as it is (ours does the same).
# ---------------------------------------------------------------------------------------------

def one_hot(x: torch.Tensor, num_classes: int, on_value: float, off_value: float) -> torch.Tensor:
    return torch.full((x.size()[0], num_classes), off_value, dtype=torch.float32, device=x.device).scatter_(1, x.long().view(-1, 1), on_value)


def mixup_target(target: torch.Tensor, num_classes: int, lam, smoothing: float) -> torch.Tensor:
    """timm's `mixup_target`: lam · smoothed one-hot + (1 − lam) · that of the batch reversed."""
    off_value = smoothing / num_classes
    on_value = 1. - smoothing + off_value
    y1 = one_hot(target, num_classes, on_value, off_value)
    y2 = one_hot(target.flip(0), num_classes, on_value, off_value)
    return y1 * lam + y2 * (1. - lam)


def soft_target_cross_entropy(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """timm's SoftTargetCrossEntropy."""
    return torch.sum(-target * torch.nn.functional.log_softmax(x, dim=-1), dim=-1).mean()


def mix_batch(x: torch.Tensor, lam: float, box) -> float:
    """timm's `_mix_batch` with its draw given: one lam (a Python float) for the batch; NCHW."""
    if lam == 1.:
        return 1.
    if box is not None:
        yl, yh, xl, xh = box
        x[:, :, yl:yh, xl:xh] = x.flip(0)[:, :, yl:yh, xl:xh]
    else:
        x_flipped = x.flip(0).mul_(1. - lam)
        x.mul_(lam).add_(x_flipped)
    return lam


def mix_each(x: torch.Tensor, draws, pairs: bool) -> torch.Tensor:
    """timm's `_mix_pair` (pairs: one draw per pair i, B − 1 − i) or `_mix_elem` (one per example) with
    the draws given; lam held in float32, as timm's numpy arrays hold it. The per-example lam column."""
    import numpy as np
    batch_size = len(x)
    lam_batch = np.array([d[0] for d in draws], dtype=np.float32)
    x_orig = x.clone()
    for i in range(len(draws)):
        j = batch_size - i - 1
        lam = lam_batch[i]
        box = draws[i][1]
        if lam != 1.:
            if box is not None:
                yl, yh, xl, xh = box
                x[i][:, yl:yh, xl:xh] = x_orig[j][:, yl:yh, xl:xh]
                if pairs:
                    x[j][:, yl:yh, xl:xh] = x_orig[i][:, yl:yh, xl:xh]
            else:
                x[i] = x[i] * lam + x_orig[j] * (1 - lam)
                if pairs:
                    x[j] = x[j] * lam + x_orig[i] * (1 - lam)
    if pairs:
        middle = np.ones(batch_size % 2, dtype=np.float32)
        lam_batch = np.concatenate((lam_batch, middle, lam_batch[::-1]))
    return torch.tensor(lam_batch, dtype=torch.float32, device=x.device).unsqueeze(1)


class Mixup:
    """timm's `Mixup` for a spec's resolved `train.mixup` (its keys are timm's arguments), drawing with
    numpy's global generator as timm does; `enabled` False after `off_epoch` (timm's train loop sets
    `mixup_enabled`), when the targets are the smoothed labels."""

    def __init__(self, spec: dict, num_classes: int, smoothing: float):
        self.mixup_alpha = spec['mixup_alpha']
        self.cutmix_alpha = spec['cutmix_alpha']
        self.cutmix_minmax = spec.get('cutmix_minmax')
        if self.cutmix_minmax is not None:
            self.cutmix_alpha = 1.0  # as timm: the box comes from min/max, lam from its area
        self.prob = spec['prob']
        self.switch_prob = spec['switch_prob']
        self.mode = spec['mode']
        self.correct_lam = spec['correct_lam']
        self.num_classes = num_classes
        self.smoothing = smoothing
        self.enabled = True

    def _params_per_elem(self, n: int):
        import numpy as np
        lam = np.ones(n, dtype=np.float32)
        use_cutmix = np.zeros(n, dtype=bool)
        if self.enabled:
            if self.mixup_alpha > 0. and self.cutmix_alpha > 0.:
                use_cutmix = np.random.rand(n) < self.switch_prob
                lam_mix = np.where(use_cutmix, np.random.beta(self.cutmix_alpha, self.cutmix_alpha, size=n),
                                   np.random.beta(self.mixup_alpha, self.mixup_alpha, size=n))
            elif self.mixup_alpha > 0.:
                lam_mix = np.random.beta(self.mixup_alpha, self.mixup_alpha, size=n)
            else:
                use_cutmix = np.ones(n, dtype=bool)
                lam_mix = np.random.beta(self.cutmix_alpha, self.cutmix_alpha, size=n)
            lam = np.where(np.random.rand(n) < self.prob, lam_mix.astype(np.float32), lam)
        return lam, use_cutmix

    def _params_per_batch(self):
        import numpy as np
        lam, use_cutmix = 1., False
        if self.enabled and np.random.rand() < self.prob:
            if self.mixup_alpha > 0. and self.cutmix_alpha > 0.:
                use_cutmix = np.random.rand() < self.switch_prob
                lam_mix = np.random.beta(self.cutmix_alpha, self.cutmix_alpha) if use_cutmix else np.random.beta(self.mixup_alpha, self.mixup_alpha)
            elif self.mixup_alpha > 0.:
                lam_mix = np.random.beta(self.mixup_alpha, self.mixup_alpha)
            else:
                use_cutmix = True
                lam_mix = np.random.beta(self.cutmix_alpha, self.cutmix_alpha)
            lam = float(lam_mix)
        return lam, use_cutmix

    def _box(self, size: int, lam: float):
        """timm's `cutmix_bbox_and_lam` (`rand_bbox` or `rand_bbox_minmax`) on a square image."""
        import numpy as np
        if self.cutmix_minmax is not None:
            lo, hi = int(size * self.cutmix_minmax[0]), int(size * self.cutmix_minmax[1])
            cut_h, cut_w = np.random.randint(lo, hi), np.random.randint(lo, hi)
            yl, xl = np.random.randint(0, size - cut_h), np.random.randint(0, size - cut_w)
            yh, xh = yl + cut_h, xl + cut_w
        else:
            cut = int(size * np.sqrt(1 - lam))
            cy, cx = np.random.randint(0, size), np.random.randint(0, size)
            yl, yh = np.clip(cy - cut // 2, 0, size), np.clip(cy + cut // 2, 0, size)
            xl, xh = np.clip(cx - cut // 2, 0, size), np.clip(cx + cut // 2, 0, size)
        if self.correct_lam or self.cutmix_minmax is not None:
            lam = 1. - (yh - yl) * (xh - xl) / float(size * size)
        return (int(yl), int(yh), int(xl), int(xh)), lam

    def __call__(self, x: torch.Tensor, target: torch.Tensor):
        """Mixes the NCHW batch x in place; its soft targets."""
        size = x.shape[-1]
        if self.mode == 'batch':
            lam, cutmix = self._params_per_batch()
            box = None
            if lam != 1. and cutmix:
                box, lam = self._box(size, lam)
            lam = mix_batch(x, lam, box)
        else:
            count = len(x) if self.mode == 'elem' else len(x) // 2
            lams, cutmix = self._params_per_elem(count)
            draws = []
            for i in range(count):
                if i == len(x) - 1 - i:
                    draws.append((1., None))  # an odd batch's middle example, left as it is
                elif lams[i] != 1. and cutmix[i]:
                    box, lam = self._box(size, lams[i])
                    draws.append((lam, box))
                else:
                    draws.append((lams[i], None))
            lam = mix_each(x, draws, self.mode == 'pair')
        return x, mixup_target(target, self.num_classes, lam, self.smoothing)


class WeightAverage:
    """timm's ModelEmaV2 (--model-ema), and with `warmup` ModelEmaV3's warmup at gamma 1, power 2/3
    (--model-ema-warmup): a copy of the model taken before the first step, every floating-point
    entry of its state_dict (weights and BatchNorm statistics) set after each optimizer step to
    shadow · decay + (1 − decay) · weight, the decay of the run's n-th step min(decay, 1 − n^(−2/3))
    with the warmup (0 at the first); integer buffers (num_batches_tracked) copied. Our
    src/engine/weight-average.ts, whose evaluation runs on the copy, as timm's validate(model_ema)."""

    def __init__(self, model: nn.Module, decay: float, warmup: bool = False):
        import copy
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.decay = decay
        self.warmup = warmup

    def decay_at(self, step: int) -> float:
        return min(self.decay, 1 - step ** (-2 / 3)) if self.warmup else self.decay

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        decay = self.decay_at(step)
        for shadow, weight in zip(self.module.state_dict().values(), model.state_dict().values()):
            if shadow.is_floating_point():
                shadow.copy_(shadow * decay + (1. - decay) * weight)
            else:
                shadow.copy_(weight)
