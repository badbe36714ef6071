#!/usr/bin/python3
"""The PyTorch twin of `mixture run`: trains the experiment a spec describes with PyTorch and writes a
run folder in the project's format (config.yaml, env.json, metrics.csv, summary.json), so that
`mixture table` and `npm run parity` put both side by side.

The spec is resolved by the project itself (`node bin/run.js run --dry-run --json`, so extends,
--set and defaults are exactly ours; build the project first). Then, from the resolved spec:
  - the model: the original module classes of bench/torch/models.py (a paper row gets the classes
    its table used) with the spec's parameters, initialised by PyTorch (module defaults and the
    model's own init loop); its trainable-parameter count must equal ours;
  - the data: the same official files, decoded here, resized with Pillow (`pil_bilinear`), the
    4-tap bilinear (`bilinear`) or padded (`pad`), grey replicated to RGB, pixels in [0, 1];
  - training augmentation with torchvision on tensors: the paper's form RandomHorizontalFlip(0.5)
    then ColorJitter(brightness, hue), or the list form's transforms in order (RandomHorizontalFlip,
    RandomCrop, ColorJitter, Normalize — on evaluation batches too —, RandomErasing, RandomResizedCrop,
    RandomVerticalFlip, RandomRotation, RandomGrayscale, and TrivialAugmentWide, RandAugment and
    AutoAugment on the image as uint8; timm's RandAugment, from its config string, on a PIL image,
    with test/fixtures/transforms/timm_rand_augment.py's transcription of timm's code);
  - the recipe: torch.optim's Adam (coupled L2), AdamW or SGD with the spec's keys, the roles
    weight_decay_exclude names in a param group without decay; the schedule as lr_scheduler's
    StepLR, MultiStepLR (epoch counts in steps), CosineAnnealingLR or OneCycleLR stepped after every
    optimizer step, behind LinearLR for the warmup (SequentialLR); CrossEntropyLoss with the spec's
    label smoothing for training (plain for the test loss); with train.mixup, timm's Mixup and
    SoftTargetCrossEntropy (torch_recipe.py); with train.ema, timm's model EMA (ModelEmaV2, and
    ModelEmaV3's warmup), on which the test split is evaluated; clip_grad_norm_ where train.grad_clip says; a fresh shuffle every epoch, evaluation on the test split after every epoch, accuracy per
    example or the mean of per-batch accuracies (`train.accuracy`), best test accuracy = Top-1.
    What the twin cannot train as the spec says (a plugin's optimizer, schedule, loss or transform,
    early stopping, gradient accumulation, init_from, freeze, data.val_split) is refused
    (exit 2), not trained otherwise.

    /usr/bin/python3 bench/torch/train.py configs/quickstart.yaml --seed 43 [--epochs N] [--set k=v ...]
    /usr/bin/python3 bench/torch/train.py results/quickstart/<run>        # the twin of that run

Exit codes: 0 done, 1 runtime failure, 2 bad input (spec, data, a model the twin cannot build).
Needs Debian's python3-torch, python3-torchvision, python3-pil, python3-yaml.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import importlib.util
import json
import math
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple

import numpy as np
import PIL
import torch
import torch.nn.functional as F
import torchvision
import yaml
from PIL import Image
from torch import nn
from torchvision import transforms as T

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import models as M  # noqa: E402
import torch_recipe as R  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
METRICS_HEADER = ('epoch,train_loss,train_accuracy,test_loss,test_accuracy,train_seconds,eval_seconds,data_seconds,'
                  'images_per_second')


class BadInput(Exception):
    """A usage problem: exit code 2 with the message."""


# ---------------------------------------------------------------------------------------------
# The resolved spec
# ---------------------------------------------------------------------------------------------


def resolve(target: str, seed: Optional[int], epochs: Optional[int], sets: List[str]) -> Tuple[dict, int, str]:
    """(resolved spec, our trainable-parameter count, spec file) through the project's own resolver."""
    spec_file = os.path.join(target, 'config.yaml') if os.path.isdir(target) else target
    if not os.path.isfile(spec_file):
        raise BadInput(f'{target} is neither a spec file nor a run folder holding config.yaml')
    cli = os.path.join(ROOT, 'bin', 'run.js')
    args = ['node', cli, 'run', '--dry-run', '--json', spec_file]
    for s in sets + ([f'train.epochs={epochs}'] if epochs is not None else []):
        args += ['--set', s]
    if seed is not None:
        args += ['--seed', str(seed)]
    try:
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    except FileNotFoundError:
        raise BadInput('node is not on PATH: the twin resolves specs with the project (node bin/run.js)')
    if done.returncode != 0:
        try:
            message = json.loads(done.stdout)['error']['message']
        except Exception:  # noqa: BLE001
            message = (done.stderr or done.stdout).strip()
        raise BadInput(f'{spec_file}: {message} (if dist/ is missing, run npm run build)')
    doc = json.loads(done.stdout)
    return doc['config'], int(doc['params']), spec_file


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


def _only(part: dict, allowed: Dict[str, object], what: str) -> None:
    """Parameters the twin does not model must keep the value its module classes assume."""
    for key, want in allowed.items():
        if part.get(key, want) != want:
            raise BadInput(f'the PyTorch twin builds {what} with {key} = {want!r} only (the spec has {part[key]!r})')


def _cnn_channels(cnn: dict) -> List[int]:
    _only(cnn, {'kernel_size': 3, 'residual': True}, 'the CNN stack')
    return [cnn.get('in_channels', 3)] + list(cnn['channels'])


def _vit_kwargs(vit: dict) -> dict:
    return dict(patch_size=vit['patch_size'], depth=vit['depth'], att_heads=vit['heads'], dim_head=vit['dim_head'],
                mlp_dim=vit['mlp_dim'], output_dim=vit['dim'], dropout=vit['dropout'], emb_dropout=vit['emb_dropout'])


def _perceiver_kwargs(p: dict) -> dict:
    if p['cross_dim_head'] != p['latent_dim_head'] or p['attn_dropout'] != p['ff_dropout']:
        raise BadInput('the PyTorch twin builds Perceiver mixtures with cross_dim_head = latent_dim_head and '
                       'attn_dropout = ff_dropout only')
    _only(p, {'ff_mult': 4}, 'the Perceiver')
    return dict(num_latents=p['num_latents'], latent_dim=p['latent_dim'], latent_heads=p['latent_heads'],
                dim_head=p['cross_dim_head'], self_per_cross_attn=p['self_per_cross_attn'],
                num_freq_bands=p['num_freq_bands'], max_freq=float(p['max_freq']), dropout=p['attn_dropout'])


def build_model(spec: dict, classes: int) -> nn.Module:
    """The spec's model from the original module classes (bench/torch/models.py)."""
    m = spec['model']
    size = spec['data']['image_size']
    kind = m['type']
    if m.get('init', 'torch') != 'torch':
        raise BadInput('the PyTorch twin initialises as PyTorch does (model.init: torch)')
    if kind == 'resnet18':
        _only(m, {'layers': [2, 2, 2, 2], 'widths': [64, 128, 256, 512]}, 'ResNet-18')
        return torchvision.models.resnet18(num_classes=m.get('num_outputs') or classes)
    if kind == 'vit_classifier':
        return M.ViT(image_size=size, patch_size=m['patch_size'], num_classes=classes, dim=m['dim'], depth=m['depth'],
                     heads=m['heads'], mlp_dim=m['mlp_dim'], dim_head=m['dim_head'], dropout=m['dropout'],
                     emb_dropout=m['emb_dropout'])
    if kind == 'perceiver_classifier':
        _only(m, {'ff_mult': 4}, 'the Perceiver')
        return M.ImagePerceiver(num_freq_bands=m['num_freq_bands'], depth=m['depth'], max_freq=float(m['max_freq']),
                                num_latents=m['num_latents'], latent_dim=m['latent_dim'], cross_heads=m['cross_heads'],
                                latent_heads=m['latent_heads'], cross_dim_head=m['cross_dim_head'],
                                latent_dim_head=m['latent_dim_head'], num_classes=classes,
                                attn_dropout=m['attn_dropout'], ff_dropout=m['ff_dropout'],
                                self_per_cross_attn=m['self_per_cross_attn'])
    if kind == 'cnn_classifier':
        return M.ConvNet(image_size=size, num_labels=classes, cnn_channels=_cnn_channels(m))
    if kind != 'mixture':
        raise BadInput(f'the PyTorch twin cannot build model type {kind!r}')
    comps = m['components']
    if len(comps) != 2 or comps[0]['type'] != 'cnn' or comps[1]['type'] not in ('vit', 'perceiver'):
        raise BadInput('the PyTorch twin builds mixtures of [cnn, vit] or [cnn, perceiver] only')
    if m.get('head', {}).get('type', 'linear') != 'linear':
        raise BadInput('the PyTorch twin builds the linear head only')
    cnn, other = comps
    channels = _cnn_channels(cnn)
    norm = m.get('norm', {'type': 'none'})
    block, blocks = m['block'], m['num_blocks']
    if other['type'] == 'vit':
        adapter = m.get('adapter', {'type': 'token_image'})
        _only(adapter, {'type': 'token_image', 'kernel_size': 3, 'out_channels': 3, 'batch_norm': True}, 'the adapter')
        kw = dict(image_size=size, num_labels=classes, cnn_channels=channels, **_vit_kwargs(other))
        if block == 'alternating':
            return M.ResAlternatingMixtureModel(blocks, **kw)
        if norm['type'] == 'none':
            return M.JointMixtureModel(blocks, **kw)
        if norm['type'] == 'batchnorm' and norm.get('share', 'model') == 'model':
            return M.JointMixtureModel(blocks, norm='shared_bn', **kw)
        raise BadInput('the PyTorch twin builds ViT joint blocks with norm none or one shared batchnorm only')
    kw = dict(image_size=size, num_labels=classes, cnn_channels=channels, depth=other['depth'],
              att_heads=other['cross_heads'], **_perceiver_kwargs(other))
    if block == 'alternating':
        return M.PerceiverAltMM(blocks, **kw)
    if norm['type'] == 'batchnorm' and norm.get('share', 'model') == 'model':
        return M.JointPerceiverMM(blocks, **kw)
    raise BadInput('the PyTorch twin builds Perceiver joint blocks with one shared batchnorm (the original) only')


# ---------------------------------------------------------------------------------------------
# The data
# ---------------------------------------------------------------------------------------------

IDX = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']
LAYOUT = {  # dataset -> (folder names under a data directory, system folders, files)
    'cifar10': (['cifar10/cifar-10-batches-bin', 'cifar10', 'cifar-10-batches-bin', 'cifar-10'], [],
                [f'data_batch_{i}.bin' for i in range(1, 6)] + ['test_batch.bin']),
    'cifar100': (['cifar100/cifar-100-binary', 'cifar100', 'cifar-100-binary', 'cifar-100'], [], ['train.bin', 'test.bin']),
    'stl10': (['stl10/stl10_binary', 'stl10', 'stl10_binary', 'stl-10'], [],
              ['train_X.bin', 'train_y.bin', 'test_X.bin', 'test_y.bin']),
    'fashion_mnist': (['fashion_mnist', 'fashion-mnist', 'FashionMNIST/raw'], ['/usr/share/datasets/fashion-mnist'], IDX),
    'mnist': (['mnist', 'MNIST/raw'], [], IDX),
}
CLASSES = {'cifar10': 10, 'cifar100': 100, 'stl10': 10, 'fashion_mnist': 10, 'mnist': 10}


def _find(folder: str, name: str) -> Optional[str]:
    for candidate in (name, name + '.gz'):
        if os.path.isfile(os.path.join(folder, candidate)):
            return os.path.join(folder, candidate)
    return None


def locate(dataset: str, explicit: List[Optional[str]]) -> Tuple[str, Dict[str, str]]:
    """The folder holding every file of the dataset, searched as the project searches (locate.ts)."""
    names, system, files = LAYOUT[dataset]
    cache = os.path.join(os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'mixture-models', 'datasets')
    bases = [e for e in explicit if e] + [d for d in os.environ.get('MIXTURE_DATA', '').split(':') if d.strip()] + [cache]
    folders = [os.path.join(b, n) for b in bases for n in names] + list(system) + [e for e in explicit if e]
    for folder in folders:
        found = {f: _find(folder, f) for f in files}
        if all(found.values()):
            return folder, found  # type: ignore[return-value]
    raise BadInput(f'{dataset}: no folder holds {", ".join(files)}; searched {", ".join(folders)}. '
                   'Give the folder with --data-dir DIR (or MIXTURE_DATA=DIR).')


def _read(path: str) -> bytes:
    with open(path, 'rb') as f:
        data = f.read()
    return gzip.decompress(data) if data[:2] == b'\x1f\x8b' else data


def _idx(images: str, labels: str) -> Tuple[np.ndarray, np.ndarray]:
    x, y = _read(images), _read(labels)
    n, h, w = (int.from_bytes(x[i:i + 4], 'big') for i in (4, 8, 12))
    return np.frombuffer(x, np.uint8, offset=16).reshape(n, h, w, 1), np.frombuffer(y, np.uint8, offset=8).astype(np.int64)


def _cifar(paths: List[str], label_bytes: int, label_index: int) -> Tuple[np.ndarray, np.ndarray]:
    rec = np.concatenate([np.frombuffer(_read(p), np.uint8).reshape(-1, label_bytes + 3072) for p in paths])
    return rec[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), rec[:, label_index].astype(np.int64)


def _stl(x_path: str, y_path: str) -> Tuple[np.ndarray, np.ndarray]:
    # channel planes stored column-major: (N, 3, W, H) -> NHWC
    x = np.frombuffer(_read(x_path), np.uint8).reshape(-1, 3, 96, 96).transpose(0, 3, 2, 1)
    return x, np.frombuffer(_read(y_path), np.uint8).astype(np.int64) - 1


def load_split(dataset: str, files: Dict[str, str], split: str, label_mode: str) -> Tuple[np.ndarray, np.ndarray]:
    if dataset in ('fashion_mnist', 'mnist'):
        prefix = 'train' if split == 'train' else 't10k'
        return _idx(files[f'{prefix}-images-idx3-ubyte'], files[f'{prefix}-labels-idx1-ubyte'])
    if dataset == 'cifar10':
        names = [f'data_batch_{i}.bin' for i in range(1, 6)] if split == 'train' else ['test_batch.bin']
        return _cifar([files[n] for n in names], 1, 0)
    if dataset == 'cifar100':
        return _cifar([files['train.bin' if split == 'train' else 'test.bin']], 2, 0 if label_mode == 'coarse' else 1)
    return _stl(files[f'{split}_X.bin'], files[f'{split}_y.bin'])


def fit(images: np.ndarray, size: int, mode: str) -> np.ndarray:
    """uint8 NHWC at its native size -> uint8 NHWC RGB at `size`, as load.ts does."""
    n, native, _, channels = images.shape
    if native != size:
        if mode == 'pad':
            if size < native:
                raise BadInput(f'data.resize is pad but image_size {size} is smaller than the images ({native})')
            out = np.zeros((n, size, size, channels), np.uint8)
            off = (size - native) // 2
            out[:, off:off + native, off:off + native] = images
            images = out
        elif mode == 'pil_bilinear':
            pil_mode = 'L' if channels == 1 else 'RGB'
            images = np.stack([np.asarray(Image.fromarray(im[:, :, 0] if channels == 1 else im, pil_mode)
                                          .resize((size, size), Image.BILINEAR)).reshape(size, size, channels)
                               for im in images])
        else:  # bilinear: 4 taps, half-pixel centres, no antialiasing, rounded to uint8
            t = torch.from_numpy(images.copy()).permute(0, 3, 1, 2).double()
            t = F.interpolate(t, size=(size, size), mode='bilinear', align_corners=False)
            images = (t + 0.5).floor().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return np.repeat(images, 3, axis=3) if images.shape[3] == 1 else images


def load_data(spec: dict, data_dir: Optional[str]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, str]:
    data = spec['data']
    dataset = data['dataset']
    if dataset not in LAYOUT:
        raise BadInput(f'the PyTorch twin reads {", ".join(LAYOUT)} (not {dataset!r})')
    folder, files = locate(dataset, [data_dir, data.get('data_dir')])
    grey = dataset in ('fashion_mnist', 'mnist')
    size = data['image_size']
    out = []
    for split, limit in (('train', data.get('train_limit')), ('test', data.get('test_limit'))):
        x, y = load_split(dataset, files, split, data.get('label_mode', 'fine'))
        if limit:
            x, y = x[:limit], y[:limit]
        mode = data.get('resize') or ('pad' if grey and size >= x.shape[1] else 'pil_bilinear')
        x = fit(x, size, mode)
        # uint8 NHWC -> float NCHW in [0, 1] (x / 255, as U8_TO_UNIT)
        out += [torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).float().div(255), torch.from_numpy(y.copy())]
    return out[0], out[1], out[2], out[3], folder


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


def paper_augment(a: dict) -> list:
    """The paper's {hflip, brightness, hue}: RandomHorizontalFlip(0.5), then ColorJitter(brightness, hue)."""
    steps = [T.RandomHorizontalFlip(0.5)] if a['hflip'] else []
    if a['brightness'] > 0 or a['hue'] > 0:
        steps.append(T.ColorJitter(brightness=a['brightness'] or 0, hue=a['hue'] or 0))
    return steps


INTERPOLATION = {'bilinear': T.InterpolationMode.BILINEAR, 'nearest': T.InterpolationMode.NEAREST}


class OnBytes(nn.Module):
    """A torchvision transform of uint8 tensors on a [0, 1] float image: round(x·255) to uint8, the transform, back / 255."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner((x * 255).round().clamp(0, 255).to(torch.uint8)).float() / 255


def transform(t: dict):
    """One item of data.augment's list form as torchvision's transform on [0, 1] CHW tensors (the
    project's transforms are written after them: src/data/transforms.ts)."""
    kind = t['type']
    if kind == 'paper_augment':
        return T.Compose(paper_augment(t))
    if kind == 'hflip':
        return T.RandomHorizontalFlip(t['p'])
    if kind == 'random_crop':
        if isinstance(t['fill'], list):
            raise BadInput('the PyTorch twin pads random_crop with one fill value (torchvision pads tensors with a number)')
        # RandomCrop at the image's own side; size is set where the side is known (the first call).
        return ('random_crop', t)
    if kind == 'color_jitter':
        return T.ColorJitter(brightness=t['brightness'], contrast=t['contrast'], saturation=t['saturation'], hue=t['hue'])
    if kind == 'normalize':
        as_list = lambda v: v if isinstance(v, list) else [v]  # noqa: E731
        return T.Normalize(as_list(t['mean']), as_list(t['std']))
    if kind == 'random_erasing':
        return T.RandomErasing(p=t['p'], scale=tuple(t['scale']), ratio=tuple(t['ratio']), value=t['value'] if not isinstance(t['value'], list) else tuple(t['value']))
    if kind == 'vflip':
        return T.RandomVerticalFlip(t['p'])
    if kind == 'random_grayscale':
        return T.RandomGrayscale(t['p'])
    if kind == 'random_resized_crop':
        # Its size is the image's own (set where the side is known, the first call); bilinear without antialias, as ours.
        return ('random_resized_crop', t)
    if kind == 'random_rotation':
        fill = [v / 255 for v in t['fill']] if isinstance(t['fill'], list) else t['fill'] / 255
        return T.RandomRotation(t['degrees'], interpolation=INTERPOLATION[t['interpolation']], fill=fill)
    # The automatic policies work on uint8 pixels (ours round x·255, as here); their fill is in pixel values.
    if kind == 'trivial_augment_wide':
        return OnBytes(T.TrivialAugmentWide(num_magnitude_bins=t['num_magnitude_bins'], interpolation=INTERPOLATION[t.get('interpolation', 'nearest')], fill=t['fill']))
    if kind == 'rand_augment':
        return OnBytes(T.RandAugment(num_ops=t['num_ops'], magnitude=t['magnitude'], num_magnitude_bins=t['num_magnitude_bins'], interpolation=INTERPOLATION[t.get('interpolation', 'nearest')], fill=t['fill']))
    if kind == 'auto_augment':
        return OnBytes(T.AutoAugment(T.AutoAugmentPolicy(t['policy']), interpolation=INTERPOLATION[t.get('interpolation', 'nearest')], fill=t['fill']))
    if kind == 'timm_rand_augment':
        # timm is not installed (nor installable here): its RandAugment is the transcription of timm's code
        # that is the reference of ours (src/data/timm-rand-augment.ts), test/fixtures/transforms/timm_rand_augment.py.
        # It is no package: loaded by its path in the repository (ROOT), so that the twin runs from any working
        # directory without touching sys.path.
        path = os.path.join(ROOT, 'test', 'fixtures', 'transforms', 'timm_rand_augment.py')
        found = importlib.util.spec_from_file_location('timm_rand_augment', path)
        timm_ra = importlib.util.module_from_spec(found)
        found.loader.exec_module(timm_ra)
        # The hparams as timm's create_transform gives them: img_mean in whole pixel values (rounded half up,
        # as ours), a fixed resample where interpolation names one (none: timm's random bilinear or bicubic).
        mean = t.get('img_mean', [124, 116, 104])
        mean = mean if isinstance(mean, list) else [mean]
        mean = mean * 3 if len(mean) == 1 else mean
        hparams = {'img_mean': tuple(int(math.floor(v + 0.5)) for v in mean), 'translate_pct': t.get('translate_pct', 0.45)}
        interpolation = t.get('interpolation', 'random')
        if interpolation != 'random':
            hparams['interpolation'] = {'bilinear': Image.Resampling.BILINEAR, 'bicubic': Image.Resampling.BICUBIC}[interpolation]
        ra = timm_ra.rand_augment_transform(t.get('config', 'rand-m9-mstd0.5-inc1'), hparams)
        # Its draws are Python's `random` and numpy's global ones, as timm's; seeded here with the run's seed, as
        # timm's train.py seeds both (random_seed). transform() is built by augmenter() inside train(), after
        # torch.manual_seed(seed): torch.initial_seed() is the run's seed. (With train.mixup, whose draws are numpy's
        # too, np.random was seeded the same just before, nothing drawn since: both share numpy's stream, as in timm.)
        seed = torch.initial_seed()
        random.seed(seed)
        np.random.seed(seed % 2 ** 32)

        def on_pil(x: torch.Tensor) -> torch.Tensor:
            # uint8 CHW (RGB) -> a PIL image, timm's RandAugment, -> uint8 CHW.
            img = ra(Image.fromarray(x.permute(1, 2, 0).contiguous().numpy(), 'RGB'))
            return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)

        return OnBytes(on_pil)
    raise BadInput(f'the PyTorch twin has no transform {kind!r} (a plugin file\'s?)')


def augmenter(spec: dict, size: int, evaluation: bool = False):
    """data.augment as torchvision transforms for training batches, or (evaluation) the ones that
    apply to evaluation batches too (normalize); None where there are none."""
    a = spec['data'].get('augment', {'hflip': True, 'brightness': 0.5, 'hue': 0.25})
    if a is False:
        return None
    if isinstance(a, dict):
        steps = [] if evaluation else paper_augment({'hflip': True, 'brightness': 0.5, 'hue': 0.25, **a})
    else:
        steps = []
        for t in a:
            if evaluation and t['type'] != 'normalize':
                continue
            made = transform(t)
            if isinstance(made, tuple) and made[0] == 'random_crop':
                made = T.RandomCrop(size, padding=made[1]['padding'], fill=made[1]['fill'] / 255, padding_mode=made[1]['padding_mode'])
            elif isinstance(made, tuple):
                made = T.RandomResizedCrop(size, scale=tuple(made[1]['scale']), ratio=tuple(made[1]['ratio']), interpolation=INTERPOLATION[made[1]['interpolation']], antialias=False)
            steps.append(made)
    return T.Compose(steps) if steps else None


def write_atomic(path: str, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.' + os.path.basename(path))
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def git_commit() -> Optional[str]:
    try:
        return subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip() or None
    except FileNotFoundError:
        return None


def check_recipe(spec: dict) -> None:
    """Refuse what the twin would train otherwise than the spec says (a plugin's optimizer, schedule or
    loss, early stopping, gradient accumulation, fine-tuning, a validation
    hold-out): BadInput, exit 2. (A transform it lacks is refused where
    data.augment is read.)"""
    tr = spec['train']
    sched = tr.get('schedule') or {'type': 'constant'}
    loss = tr.get('loss') or 'cross_entropy'
    loss = loss if isinstance(loss, str) else loss['type']
    asked = [f'train.optimizer.type {tr["optimizer"]["type"]} (the twin has adam, adamw, sgd)' if tr['optimizer']['type'] not in ('adam', 'adamw', 'sgd') else None,
             f'train.schedule {sched["type"]} (the twin has constant, step, multistep, cosine, onecycle)' if sched['type'] not in ('constant', 'step', 'multistep', 'cosine', 'onecycle') else None,
             'train.early_stopping' if tr.get('early_stopping') else None,
             f'train.loss {loss} (the twin has cross_entropy)' if loss != 'cross_entropy' else None,
             'train.accumulate_grad_batches' if (tr.get('accumulate_grad_batches') or 1) > 1 else None,
             'train.init_from' if tr.get('init_from') else None,
             'train.freeze' if tr.get('freeze') else None,
             'data.val_split (the twin trains on the whole training split)' if spec['data'].get('val_split') else None]
    asked = [a for a in asked if a]
    if asked:
        raise BadInput(f'the PyTorch twin cannot train {", ".join(asked)}')


def train(spec: dict, spec_file: str, our_params: int, run_dir: str, data_dir: Optional[str], threads: Optional[int],
          device: str, log) -> dict:
    seed = spec['seed']
    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(threads)
    t0 = time.perf_counter()
    x_train, y_train, x_test, y_test, source = load_data(spec, data_dir)
    classes = spec['model'].get('num_classes') or (20 if spec['data'].get('label_mode') == 'coarse' else
                                                   CLASSES[spec['data']['dataset']])
    model = build_model(spec, classes).to(device)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if params != our_params:
        raise BadInput(f'the PyTorch model has {params:,} trainable parameters but ours has {our_params:,}: '
                       'the twin cannot build this spec faithfully')
    log(f'{spec["name"]}: PyTorch twin, {params:,} trainable parameters, {len(y_train)} train / {len(y_test)} test '
        f'images from {source} ({time.perf_counter() - t0:.1f} s), {device}, {torch.get_num_threads()} threads')
    tr = spec['train']
    optimizer = R.optimizer(R.param_groups(R.model_roles(model), tr['optimizer']), tr['optimizer'])
    # The training loss as the spec says (label smoothing); the test loss plain cross-entropy, as ours.
    train_loss_fn = nn.CrossEntropyLoss(label_smoothing=tr.get('label_smoothing', 0))
    # train.mixup: timm's Mixup (numpy's draws, seeded by the run's seed) and SoftTargetCrossEntropy, as timm's train.py.
    mix = tr.get('mixup')
    mixup_active = bool(mix) and (mix['mixup_alpha'] > 0 or mix['cutmix_alpha'] > 0 or mix.get('cutmix_minmax') is not None)
    mixup = R.Mixup(mix, classes, tr.get('label_smoothing', 0)) if mixup_active else None
    if mixup is not None:
        np.random.seed(seed)
        train_loss_fn = R.soft_target_cross_entropy
    # train.ema: timm's model EMA, taken before the first step; the test columns score it, as timm's validate(model_ema).
    ema = tr.get('ema')
    average = R.WeightAverage(model, ema['decay'], bool(ema.get('warmup'))) if ema else None
    updates = 0
    loss_fn = nn.CrossEntropyLoss()
    max_norm = (tr.get('grad_clip') or {}).get('max_norm')
    augment = augmenter(spec, spec['data']['image_size'])
    # What applies to evaluation batches too (normalize): on whole batches.
    eval_transform = augmenter(spec, spec['data']['image_size'], evaluation=True)
    batch, eval_batch = tr['batch_size'], tr.get('eval_batch_size') or tr['batch_size']
    per_epoch = min(math.ceil(len(y_train) / batch), tr.get('steps_per_epoch') or 10 ** 12)
    schedule = R.schedule(optimizer, tr.get('schedule') or {'type': 'constant'}, tr['optimizer']['lr'], tr['epochs'], per_epoch)
    batch_mean = tr.get('accuracy', 'per_example') == 'batch_mean'
    shuffle = torch.Generator().manual_seed(seed)

    os.makedirs(run_dir, exist_ok=True)
    write_atomic(os.path.join(run_dir, 'config.yaml'),
                 f'# Resolved spec of this run, trained by the PyTorch twin (bench/torch/train.py {spec_file}).\n'
                 + yaml.safe_dump(spec, sort_keys=False))
    env = {'twin': 'bench/torch/train.py', 'spec': spec_file, 'python': platform.python_version(),
           'torch': torch.__version__, 'torchvision': torchvision.__version__, 'pillow': PIL.__version__,
           'numpy': np.__version__, 'threads': torch.get_num_threads(), 'machine': platform.machine(),
           'platform': platform.platform(), 'cpu_count': os.cpu_count(), 'device': device,
           'gpu': torch.cuda.get_device_name(0) if device.startswith('cuda') else None, 'git_commit': git_commit(),
           'data_source': source}
    write_atomic(os.path.join(run_dir, 'env.json'), json.dumps(env, indent=2) + '\n')
    write_atomic(os.path.join(run_dir, 'metrics.csv'), METRICS_HEADER + '\n')
    history: List[dict] = []
    started = dt.datetime.now(dt.timezone.utc).isoformat()

    def summary(status: str) -> dict:
        best = max(history, key=lambda h: h['test_accuracy'], default=None)
        return {
            'name': spec['name'], 'label': f'{spec.get("label") or spec["name"]} (PyTorch twin)',
            'dataset': spec['data']['dataset'], 'status': status, 'epochs': tr['epochs'],
            'epochs_completed': len(history),
            'best_test_accuracy': best['test_accuracy'] if best else None,
            'best_test_epoch': best['epoch'] if best else None,
            'best_train_accuracy': max((h['train_accuracy'] for h in history), default=None),
            'final_test_accuracy': history[-1]['test_accuracy'] if history else None,
            'accuracy': tr.get('accuracy', 'per_example'),
            'train_minutes': sum(h['train_seconds'] for h in history) / 60,
            'eval_minutes': sum(h['eval_seconds'] for h in history) / 60,
            'data_minutes': sum(h['data_seconds'] for h in history) / 60,
            'params': params, 'backend': f'pytorch-{device.split(":")[0]}', 'seed': seed, 'run_dir': os.path.abspath(run_dir),
            'started': started, 'finished': None if status == 'running' else dt.datetime.now(dt.timezone.utc).isoformat(),
            # Who trains it, as our runs say, so that the tables tell a live run from one whose process is gone (crashed).
            'pid': os.getpid(), 'host': socket.gethostname(), 'updated': dt.datetime.now(dt.timezone.utc).isoformat(),
        }

    def evaluate(net: nn.Module) -> Tuple[float, float]:
        net.eval()
        loss_sum = correct = batch_acc = 0.0
        batches = 0
        with torch.no_grad():
            for i in range(0, len(y_test), eval_batch):
                xb, yb = x_test[i:i + eval_batch].to(device), y_test[i:i + eval_batch].to(device)
                if eval_transform is not None:
                    xb = eval_transform(xb)
                out = net(xb)
                loss_sum += float(loss_fn(out, yb)) * len(yb)
                c = float((out.argmax(1) == yb).sum())
                correct += c
                batch_acc += c / len(yb)
                batches += 1
        return loss_sum / len(y_test), (batch_acc / batches if batch_mean else correct / len(y_test))

    write_atomic(os.path.join(run_dir, 'summary.json'), json.dumps(summary('running'), indent=2) + '\n')
    for epoch in range(1, tr['epochs'] + 1):
        model.train()
        order = torch.randperm(len(y_train), generator=shuffle)
        loss_sum = correct = batch_acc = 0.0
        seen = steps = 0
        data_s = 0.0
        t_train = time.perf_counter()
        for step in range(per_epoch):
            d0 = time.perf_counter()
            idx = order[step * batch:(step + 1) * batch]
            xb, yb = x_train[idx], y_train[idx]
            if augment is not None:
                xb = torch.stack([augment(im) for im in xb])
            xb, yb = xb.to(device), yb.to(device)
            if mixup is not None:
                # timm's train.py turns mixing off from epoch off_epoch (0-based; 0: never), after ours (1-based).
                mixup.enabled = not mix.get('off_epoch') or epoch <= mix['off_epoch']
                xb, targets = mixup(xb, yb)
                yb = targets.argmax(1)  # the train accuracy counts the top-1 at each example's larger share, as ours
            data_s += time.perf_counter() - d0
            out = model(xb)
            loss = train_loss_fn(out, targets if mixup is not None else yb)
            optimizer.zero_grad()
            loss.backward()
            if max_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
            if schedule is not None:
                schedule.step()
            if average is not None:
                updates += 1
                average.update(model, updates)
            c = float((out.detach().argmax(1) == yb).sum())
            loss_sum += float(loss) * len(yb)
            correct += c
            batch_acc += c / len(yb)
            seen += len(yb)
            steps += 1
            if not math.isfinite(float(loss)):
                raise RuntimeError(f'training loss became {float(loss)} in epoch {epoch}')
        train_s = time.perf_counter() - t_train
        e0 = time.perf_counter()
        test_loss, test_acc = evaluate(average.module if average is not None else model)
        eval_s = time.perf_counter() - e0
        line = {'epoch': epoch, 'train_loss': loss_sum / seen, 'train_accuracy': batch_acc / steps if batch_mean else correct / seen,
                'test_loss': test_loss, 'test_accuracy': test_acc, 'train_seconds': train_s, 'eval_seconds': eval_s,
                'data_seconds': data_s, 'images_per_second': seen / train_s}
        history.append(line)
        with open(os.path.join(run_dir, 'metrics.csv'), 'a') as f:
            f.write(f'{epoch},{line["train_loss"]!r},{line["train_accuracy"]!r},{test_loss!r},{test_acc!r},{train_s:.3f},'
                    f'{eval_s:.3f},{data_s:.3f},{line["images_per_second"]:.1f}\n')
        write_atomic(os.path.join(run_dir, 'summary.json'), json.dumps(summary('running'), indent=2) + '\n')
        log(f'epoch {epoch}/{tr["epochs"]}: train loss {line["train_loss"]:.4f} acc {line["train_accuracy"]:.4f}, '
            f'test loss {test_loss:.4f} acc {test_acc:.4f} ({train_s:.1f} s train, {data_s:.1f} s data, {eval_s:.1f} s eval)')
    final = summary('completed')
    write_atomic(os.path.join(run_dir, 'summary.json'), json.dumps(final, indent=2) + '\n')
    return final


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('target', help='a spec file, or a run folder (its config.yaml)')
    ap.add_argument('--seed', type=int, help='random seed (default: the spec\'s)')
    ap.add_argument('--epochs', type=int, help='train.epochs')
    ap.add_argument('--set', action='append', default=[], metavar='KEY=VALUE', help='override, as mixture run --set')
    ap.add_argument('--data-dir', help='folder holding the dataset files')
    ap.add_argument('--out', default=None, help='root of run folders (default: the spec\'s output.dir)')
    ap.add_argument('--run-dir', help='exact run folder (created)')
    ap.add_argument('--threads', type=int, help='torch threads (default: torch\'s own choice)')
    ap.add_argument('--device', default='cpu', help='cpu (default) or cuda[:N]')
    args = ap.parse_args(argv)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    try:
        if args.device.startswith('cuda') and not torch.cuda.is_available():
            raise BadInput(f'--device {args.device}: this PyTorch sees no CUDA device')
        spec, our_params, spec_file = resolve(args.target, args.seed, args.epochs, args.set)
        check_recipe(spec)
        run_dir = args.run_dir or os.path.join(args.out or spec.get('output', {}).get('dir', 'results'), spec['name'],
                                               dt.datetime.now().strftime('%Y%m%d-%H%M%S') + f'-torch-s{spec["seed"]}')
        log(f'run folder: {run_dir}')
        result = train(spec, spec_file, our_params, run_dir, args.data_dir, args.threads, args.device, log)
    except BadInput as e:
        print(f'Error: {e}', file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
