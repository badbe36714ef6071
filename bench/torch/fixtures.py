#!/usr/bin/python3
"""Generate the numeric cross-framework fixtures in test/fixtures/torch/*.json.

Tiny configurations of every component and mixture model in bench/torch/models.py are evaluated in
float64 with float32-representable parameters and inputs; each fixture holds the config, every
state_dict tensor (PyTorch names, order and layouts), a fixed input (NCHW and NHWC), eval-mode and
train-mode outputs, and the gradients of sum(output * grad_weights) with respect to the input and
every trainable parameter. See test/fixtures/torch/README.md for the field-by-field description.

    /usr/bin/python3 bench/torch/fixtures.py            # (re)write all fixtures
    /usr/bin/python3 bench/torch/fixtures.py --check    # regenerate in memory, compare with the files
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep bench/torch free of __pycache__
import models as M  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
OUT_DIR = os.path.join(ROOT, 'test', 'fixtures', 'torch')
FORMAT = 'mixture-models/torch-fixture@1'
TINY_CNN = (3, 4, 4, 8, 8, 3)  # same unit pattern as the paper's 3-32-32-128-128-3 stack
MIX_CNN = (3, 2, 2, 4, 4, 3)   # smaller still, inside the mixture-model fixtures
MAX_BYTES = 300 * 1024


# ---------------------------------------------------------------------------------------------
# Serialisation helpers
# ---------------------------------------------------------------------------------------------


DEFINED_DIGITS = 5   # parameters, buffers, inputs, grad_weights: exactly these decimals, read as float32
RESULT_DIGITS = 7    # float64 results rounded for storage


def num(v: float, digits: int = RESULT_DIGITS) -> float:
    return float('%.*g' % (digits, v))


def flat(t: torch.Tensor, digits: int = RESULT_DIGITS) -> List[float]:
    return [num(v, digits) for v in t.detach().reshape(-1).tolist()]


def quantize_(t: torch.Tensor) -> None:
    """In place: t <- float32(decimal with DEFINED_DIGITS significant digits), so that the stored short
    decimal, parsed to float32 by any reader, is exactly the value the reference used."""
    q = torch.tensor([num(v, DEFINED_DIGITS) for v in t.reshape(-1).tolist()], dtype=torch.float32)
    t.copy_(q.reshape(t.shape).to(t.dtype))


def tensor(t: torch.Tensor, layout: str, digits: int = RESULT_DIGITS) -> Dict[str, object]:
    """A tensor in its PyTorch layout; images (NCHW) also in NHWC."""
    d: Dict[str, object] = {'layout': layout, 'shape': list(t.shape), 'values': flat(t, digits)}
    if layout == 'NCHW':
        nhwc = t.permute(0, 2, 3, 1)
        d['nhwc'] = {'shape': list(nhwc.shape), 'values': flat(nhwc, digits)}
    return d


def param_kind(module: nn.Module, pname: str) -> str:
    if isinstance(module, nn.Linear):
        return 'linear.' + pname
    if isinstance(module, nn.ConvTranspose2d):
        return 'conv_transpose2d.' + pname
    if isinstance(module, nn.Conv2d):
        return 'conv2d.' + pname
    if isinstance(module, nn.BatchNorm2d):
        return 'batchnorm2d.' + pname
    if isinstance(module, nn.LayerNorm):
        return 'layernorm.' + pname
    return 'parameter'


def state_entries(model: nn.Module) -> List[Dict[str, object]]:
    """Every state_dict tensor except BatchNorm's integer num_batches_tracked, in state_dict order."""
    owners = {}
    for mname, mod in model.named_modules():
        for pname, _ in list(mod.named_parameters(recurse=False)) + list(mod.named_buffers(recurse=False)):
            owners[(mname + '.' if mname else '') + pname] = (mod, pname)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    out = []
    for name, t in model.state_dict().items():
        if name.endswith('num_batches_tracked'):
            continue
        mod, pname = owners[name]
        out.append({'name': name, 'kind': param_kind(mod, pname), 'trainable': name in trainable,
                    'shape': list(t.shape), 'values': flat(t, DEFINED_DIGITS)})
    return out


# ---------------------------------------------------------------------------------------------
# Fixture construction
# ---------------------------------------------------------------------------------------------


def perturb_norms(model: nn.Module, x: torch.Tensor, gen: torch.Generator) -> None:
    """Give LayerNorm/BatchNorm affine parameters non-default values and BatchNorm running statistics
    values near the statistics the input actually produces (so that eval mode neither saturates nor
    kills ReLUs) but not equal to them, so that a port that ignores or misplaces any of them fails."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.LayerNorm, nn.BatchNorm2d)):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=gen))
        bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        for m in bns:
            m.momentum = 1.0  # running stats := this batch's statistics
        model.train()
        model(x)
        for m in bns:
            m.momentum = 0.1
            std = m.running_var.sqrt()
            m.running_mean.add_(0.2 * std * torch.randn(m.running_mean.shape, generator=gen))
            m.running_var.mul_(torch.exp(0.3 * torch.randn(m.running_var.shape, generator=gen)))
            m.num_batches_tracked.zero_()
        model.eval()


def run_mode(model: nn.Module, x: torch.Tensor, w: torch.Tensor, train: bool, out_layout: str,
             input_layout: str, hook: Optional[Callable] = None) -> Dict[str, object]:
    model = copy.deepcopy(model)
    model.train(train)
    x = x.clone().requires_grad_(True)
    captured: Dict[str, torch.Tensor] = {}
    handle = hook(model, captured) if hook else None
    out = model(x)
    if handle is not None:
        handle.remove()
    obj = (out * w).sum()
    obj.backward()
    res: Dict[str, object] = {
        'output': tensor(out, out_layout),
        'objective': num(float(obj)),
        'grad_input': tensor(x.grad, input_layout),
        'grad_params': [{'name': n, 'shape': list(p.shape), 'values': flat(p.grad)}
                        for n, p in model.named_parameters() if p.requires_grad],
    }
    for k, v in captured.items():
        res.setdefault('intermediates', {})[k] = tensor(v, 'NCHW' if v.dim() == 4 else 'tokens')
    if train:
        res['batchnorm_state_after'] = [
            {'name': n, 'shape': list(t.shape), 'values': flat(t)}
            for n, t in model.state_dict().items()
            if n.endswith('running_mean') or n.endswith('running_var')]
    return res


def head_input_hook(attr: str = 'ffn'):
    """Capture the (B, 3*H*W) input of the final Linear as the (B, 3, H, W) image it flattens."""
    def install(model, captured):
        def pre(mod, inputs):
            flat_in = inputs[0].detach()
            side = int(round((flat_in.shape[1] / 3) ** 0.5))
            captured['head_input_image'] = flat_in.reshape(flat_in.shape[0], 3, side, side)
        return getattr(model, attr).register_forward_pre_hook(pre)
    return install


def snap_roundoff(res: Dict[str, object]) -> None:
    """Parameter gradients that are zero in exact arithmetic (a conv bias followed by train-mode
    BatchNorm) come out of float64 as ~1e-16 round-off; store them as exact zeros."""
    grads = res['grad_params']
    scale = max((max(abs(v) for v in g['values']) for g in grads), default=0.0)
    for g in grads:
        if max(abs(v) for v in g['values']) <= 1e-11 * scale:
            g['values'] = [0.0] * len(g['values'])


def is_lively(fx: Dict[str, object]) -> bool:
    """Reject draws where dead ReLUs hide part of the model: every trainable tensor, and every entry of
    every 1-D one (biases, norm scales: whole channels), must get an eval-mode gradient, and most
    input entries must get gradients in both modes."""
    for mode in ('eval', 'train'):
        gi = fx[mode]['grad_input']['values']
        if sum(1 for v in gi if v != 0.0) < 0.5 * len(gi):
            return False
    for g in fx['eval']['grad_params']:
        if not any(v != 0.0 for v in g['values']):
            return False
        if len(g['shape']) == 1 and not all(v != 0.0 for v in g['values']):
            return False  # a whole channel (or feature) is dead
    return True


def build_fixture(name: str, description: str, make: Callable[[], nn.Module], model_cfg: Dict[str, object],
                  input_shape, input_layout: str, out_layout: str, seed: int, notes: List[str],
                  input_kind: str = 'uniform', hook=None, extra: Optional[Callable] = None) -> Dict[str, object]:
    """Draw weights, input and grad_weights from `seed`; if the draw is not lively, try seed + 100,
    seed + 200, ... (deterministic)."""
    for attempt in range(20):
        fx = _build_once(name, description, make, model_cfg, input_shape, input_layout, out_layout,
                         seed + 100 * attempt, notes, input_kind, hook, extra)
        if is_lively(fx):
            return fx
    raise RuntimeError(f'{name}: no lively draw found')


def _build_once(name, description, make, model_cfg, input_shape, input_layout, out_layout, seed, notes,
                input_kind, hook, extra) -> Dict[str, object]:
    torch.manual_seed(seed)
    model = make()
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.rand(input_shape, generator=gen) if input_kind == 'uniform' else torch.randn(input_shape, generator=gen)
    quantize_(x)
    perturb_norms(model, x, gen)
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                quantize_(t)
    model = model.double()
    x = x.double()
    model.eval()
    with torch.no_grad():
        out_shape = model(x).shape
    w = torch.randn(out_shape, generator=gen)
    quantize_(w)
    w = w.double()

    fx: Dict[str, object] = {
        'format': FORMAT,
        'name': name,
        'description': description,
        'generator': 'bench/torch/fixtures.py (models from bench/torch/models.py)',
        'torch_version': torch.__version__,
        'seed': seed,
        'precision': f'state_dict tensors, input and grad_weights are decimals with {DEFINED_DIGITS} significant '
                     'digits; the reference used exactly float32(decimal) for each, computed in float64. Outputs, '
                     f'objectives, gradients and intermediates are the float64 results rounded to {RESULT_DIGITS} '
                     'significant digits; parameter gradients that are zero in exact arithmetic are stored as 0.',
        'model': model_cfg,
        'trainable_params': M.count_trainable(model),
        'notes': notes,
        'state_dict': state_entries(model),
        'input': tensor(x, input_layout, DEFINED_DIGITS),
        'grad_weights': tensor(w, out_layout, DEFINED_DIGITS),
        'eval': run_mode(model, x, w, False, out_layout, input_layout, hook),
        'train': run_mode(model, x, w, True, out_layout, input_layout, hook),
    }
    snap_roundoff(fx['eval'])
    snap_roundoff(fx['train'])
    if extra:
        fx.update(extra(model, x))
    return fx


COMMON_NOTES = [
    'objective = sum(output * grad_weights); grad_input and grad_params are its gradients.',
    'eval: model.eval() (BatchNorm uses running statistics). train: model.train() from the same weights '
    '(BatchNorm uses batch statistics, biased variance, eps 1e-5); every dropout probability is 0 so both '
    'modes are deterministic.',
]


def fixture_defs():
    """name -> (builder of the fixture dict)."""
    defs = {}

    def add(fn):
        defs[fn.__name__.replace('fx_', '')] = fn
        return fn

    @add
    def fx_cnn_stack():
        kw = {'channels': list(TINY_CNN)}
        return build_fixture(
            'cnn_stack', 'Residual CNN stack (units 3->4->4->8->8->3: projection, identity, projection, identity, '
            'projection shortcuts) on 2x3x8x8.',
            lambda: M.cnn_stack(TINY_CNN), {'builder': 'cnn_stack', 'kwargs': kw}, (2, 3, 8, 8), 'NCHW', 'NCHW', 1,
            COMMON_NOTES + ['Unit i: block.0 = Conv2d 3x3 pad 1 (bias), block.1 = BatchNorm2d, identity = 1x1 Conv2d '
                            '(bias) when c_in != c_out (absent otherwise); out = relu(shortcut(x) + bn(conv(x))).'])

    @add
    def fx_vit_mixer():
        kw = dict(image_size=8, patch_size=2, dim=16, depth=1, heads=2, dim_head=8, mlp_dim=32, dropout=0.0,
                  emb_dropout=0.0)
        return build_fixture(
            'vit_mixer', 'ViT token mixer as kept inside mixture blocks: Sequential(patch embedding, dropout, '
            'transformer, identity); no positional embedding, no CLS token, no final LayerNorm.',
            lambda: M.vit_token_mixer(**kw), {'builder': 'vit_token_mixer', 'kwargs': kw}, (2, 3, 8, 8), 'NCHW',
            'tokens', 2,
            COMMON_NOTES + ['Output (B, 16 tokens, 16): tokens in row-major patch order; patch vector = '
                            '(p1 p2 c), channel fastest.',
                            'to_qkv rows: [q | k | v], each (heads, dim_head) head-major; scale dim_head^-0.5.'])

    @add
    def fx_token_adapter():
        return build_fixture(
            'token_adapter', 'Token-to-image adapter: tokens (2, 16, 16) read as a (2, 16, 4, 4) image (tokens '
            'become channels) -> ConvTranspose2d(16->3, k3, s1, p1) -> BatchNorm2d(3).',
            lambda: M.TokenAdapter(16), {'builder': 'TokenAdapter', 'kwargs': {'num_tokens': 16}}, (2, 16, 16),
            'tokens', 'NCHW', 3,
            COMMON_NOTES + ['intermediate tokens_as_image gives the reshaped input in NCHW and NHWC: '
                            'nhwc[b, i, j, n] = tokens[b, n, i*4 + j].'],
            input_kind='normal',
            extra=lambda model, x: {'tokens_as_image': tensor(M.tokens_as_image(x), 'NCHW', DEFINED_DIGITS)})

    @add
    def fx_vit_classifier():
        kw = dict(image_size=8, patch_size=2, num_classes=5, dim=16, depth=1, heads=2, dim_head=8, mlp_dim=32,
                  dropout=0.0, emb_dropout=0.0)
        return build_fixture(
            'vit_classifier', 'Full ViT baseline (late-2021 vit-pytorch): patch embedding, CLS token, learned '
            'positional embedding, pre-norm transformer, CLS pooling, LayerNorm + Linear head.',
            lambda: M.ViT(**kw), {'builder': 'ViT', 'kwargs': kw}, (2, 3, 8, 8), 'NCHW', 'logits', 4,
            COMMON_NOTES + ['pos_embedding (1, 17, 16): index 0 is the CLS position; cls_token (1, 1, 16).'])

    @add
    def fx_perceiver():
        kw = dict(num_freq_bands=2, depth=2, max_freq=4.0, input_channels=3, input_axis=2, num_latents=4,
                  latent_dim=8, cross_heads=2, latent_heads=2, cross_dim_head=4, latent_dim_head=4, num_classes=5,
                  attn_dropout=0.0, ff_dropout=0.0, self_per_cross_attn=1)

        def extra(model, x):
            ff = M.fourier_position_features([8, 8], kw['max_freq'], kw['num_freq_bands'], dtype=torch.float64)
            return {'fourier_features': {'layout': 'HWF', 'shape': list(ff.shape), 'values': flat(ff)}}

        return build_fixture(
            'perceiver', 'Perceiver (perceiver-pytorch 0.7.x) classifier on an NCHW image that it permutes to '
            'channels-last; 2 Fourier bands, depth 2, 1 self-attention block per cross-attention.',
            lambda: M.ImagePerceiver(**kw), {'builder': 'ImagePerceiver', 'kwargs': kw}, (2, 3, 8, 8), 'NCHW',
            'logits', 5,
            COMMON_NOTES + [
                'Data tokens: the 8x8 image channels-last, row-major (h, w), each token = [3 data channels, '
                'Fourier features of axis 0 (rows): sin(pi*x*s) for s in linspace(1, max_freq/2, bands), cos(...), '
                'x; then the same for axis 1 (columns)], x = linspace(-1, 1, size). fourier_features holds the '
                '(H, W, 2*(2*bands+1)) array.',
                'to_kv rows: [k | v], each (heads, dim_head) head-major. FeedForward: net.0 Linear(d, 8d) whose '
                'first 4d outputs are the values and last 4d the GELU gates (GEGLU), net.3 Linear(4d, d).',
                'Head: mean over latents -> to_logits.1 LayerNorm -> to_logits.2 Linear.'],
            extra=extra)

    @add
    def fx_alternating_vit():
        kw = dict(num_blocks=2, image_size=6, num_labels=3, patch_size=2, depth=1, att_heads=2, dim_head=2, mlp_dim=8,
                  output_dim=36, dropout=0.0, emb_dropout=0.0, cnn_channels=list(MIX_CNN))
        return build_fixture(
            'alternating_vit', '2-block alternating mixture model (CNN stack -> ViT mixer -> tokens as image -> '
            'ConvTranspose2d(9->3) + BN) -> Linear on the NCHW-flattened 3x6x6 image. Patch 2 gives 9 tokens of '
            'dim 36, read as 9 channels of 6x6 maps. CNN stack units 3->2->2->4->4->3.',
            lambda: M.ResAlternatingMixtureModel(**{**kw, 'cnn_channels': MIX_CNN}),
            {'builder': 'ResAlternatingMixtureModel', 'kwargs': kw}, (2, 3, 6, 6), 'NCHW', 'logits', 6,
            COMMON_NOTES + ['ffn comes first in state_dict (registered before MM, as in the original).',
                            'intermediates.head_input_image: the (B, 3, 6, 6) image the head flattens in NCHW order.'],
            hook=head_input_hook())

    @add
    def fx_joint_vit():
        kw = dict(num_blocks=2, image_size=6, num_labels=3, patch_size=2, depth=1, att_heads=2, dim_head=2, mlp_dim=8,
                  output_dim=36, dropout=0.0, emb_dropout=0.0, cnn_channels=list(MIX_CNN), norm='none')
        return build_fixture(
            'joint_vit', '2-block joint mixture model with ViT (norm none, as the original ViT joint model): each '
            'block = CNN stack(x) + adapter(ViT mixer(x)), then Linear on the NCHW-flattened image.',
            lambda: M.JointMixtureModel(**{**kw, 'cnn_channels': MIX_CNN}),
            {'builder': 'JointMixtureModel', 'kwargs': kw}, (2, 3, 6, 6), 'NCHW', 'logits', 7,
            COMMON_NOTES + ['Two blocks: modules conv_net1/vit1/upsample_vit1 then conv_net2/vit2/upsample_vit2.'],
            hook=head_input_hook())

    @add
    def fx_alternating_perceiver():
        kw = dict(num_blocks=1, image_size=6, num_labels=3, depth=1, att_heads=2, cnn_channels=list(MIX_CNN),
                  num_latents=4, latent_dim=4, latent_heads=2, dim_head=4, self_per_cross_attn=1, num_freq_bands=2,
                  max_freq=4.0, dropout=0.0)
        return build_fixture(
            'alternating_perceiver', '1-block alternating mixture model with Perceiver: CNN stack -> permute to '
            'channels-last -> Perceiver whose head outputs 3*6*6 values reshaped (channel-major) to a 3x6x6 '
            'image -> Linear on the NCHW-flattened image.',
            lambda: M.PerceiverAltMM(**{**kw, 'cnn_channels': MIX_CNN}),
            {'builder': 'PerceiverAltMM', 'kwargs': kw}, (2, 3, 6, 6), 'NCHW', 'logits', 8,
            COMMON_NOTES + ['Perceiver head output o (B, 108) -> image[b, c, i, j] = o[b, c*36 + i*6 + j].'],
            hook=head_input_hook())

    @add
    def fx_joint_perceiver():
        kw = dict(num_blocks=2, image_size=6, num_labels=3, depth=1, att_heads=1, cnn_channels=list(MIX_CNN),
                  num_latents=4, latent_dim=4, latent_heads=2, dim_head=4, self_per_cross_attn=1, num_freq_bands=2,
                  max_freq=4.0, dropout=0.0)
        return build_fixture(
            'joint_perceiver', '2-block joint mixture model with Perceiver: each block = norm(CNN stack(x)) + '
            'norm(Perceiver image(x)) with ONE BatchNorm2d(3) `norm` shared by both branches and both blocks.',
            lambda: M.JointPerceiverMM(**{**kw, 'cnn_channels': MIX_CNN}),
            {'builder': 'JointPerceiverMM', 'kwargs': kw}, (2, 3, 6, 6), 'NCHW', 'logits', 9,
            COMMON_NOTES + ['In train mode the shared BatchNorm is applied 4 times (branch 1 and 2 of block 1, then '
                            'of block 2), each with its own batch statistics, and its running statistics are updated '
                            '4 times in that order (momentum 0.1, unbiased batch variance in the update); '
                            'batchnorm_state_after is the result.'],
            hook=head_input_hook())

    @add
    def fx_cnn_classifier():
        kw = dict(image_size=8, num_labels=3, cnn_channels=list(TINY_CNN))
        return build_fixture(
            'cnn_classifier', 'CNN component alone (Perceiver-table row "CNN"): CNN stack -> Linear on the '
            'NCHW-flattened 3x8x8 image.',
            lambda: M.ConvNet(8, 3, TINY_CNN), {'builder': 'ConvNet', 'kwargs': kw}, (2, 3, 8, 8), 'NCHW', 'logits',
            10, COMMON_NOTES, hook=head_input_hook())

    return defs


def self_checks() -> None:
    """Layout facts the README states, verified numerically."""
    torch.manual_seed(0)
    # ConvTranspose2d(k3, s1, p1) == Conv2d(pad 1) with the kernel flipped and in/out swapped.
    ct = nn.ConvTranspose2d(5, 3, 3, 1, 1).double()
    x = torch.randn(2, 5, 4, 4, dtype=torch.float64)
    ref = ct(x)
    alt = F.conv2d(x, ct.weight.flip(2, 3).transpose(0, 1), ct.bias, padding=1)
    assert torch.allclose(ref, alt, atol=1e-12), 'conv-transpose equivalence'
    # NHWC head: permuting the Linear's input columns equals flattening NCHW.
    lin = nn.Linear(3 * 4 * 4, 2).double()
    img = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    w_nhwc = lin.weight.reshape(2, 3, 4, 4).permute(0, 2, 3, 1).reshape(2, -1)
    assert torch.allclose(lin(img.flatten(1)), img.permute(0, 2, 3, 1).flatten(1) @ w_nhwc.T + lin.bias)
    # Patch vectors from NHWC: reshape (B, h, p, w, p, C) -> transpose (0, 1, 3, 2, 4, 5) -> (B, h*w, p*p*C).
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    nhwc = x.permute(0, 2, 3, 1).reshape(2, 4, 2, 4, 2, 3).permute(0, 1, 3, 2, 4, 5).reshape(2, 16, 12)
    assert torch.equal(M.PatchRearrange(2, 2)(x), nhwc), 'patch order'
    # Tokens as image in NHWC: (B, N, D) -> transpose (0, 2, 1) -> reshape (B, s, s, N).
    tok = torch.randn(2, 16, 9, dtype=torch.float64)
    assert torch.equal(M.tokens_as_image(tok).permute(0, 2, 3, 1), tok.transpose(1, 2).reshape(2, 3, 3, 16))
    # Perceiver head output (B, 3*H*W) as NHWC image: reshape (B, 3, H, W) -> transpose (0, 2, 3, 1).
    o = torch.randn(2, 3 * 16, dtype=torch.float64)
    assert torch.equal(M.perceiver_to_image(o, 4).permute(0, 2, 3, 1), o.reshape(2, 3, 4, 4).permute(0, 2, 3, 1))


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--check', action='store_true', help='regenerate in memory and compare with the files')
    ap.add_argument('--only', help='comma-separated fixture names')
    ap.add_argument('--out-dir', default=OUT_DIR)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    self_checks()
    defs = fixture_defs()
    names = args.only.split(',') if args.only else list(defs)
    os.makedirs(args.out_dir, exist_ok=True)
    bad = 0
    for name in names:
        text = json.dumps(defs[name](), separators=(',', ':')) + '\n'
        path = os.path.join(args.out_dir, name + '.json')
        if len(text) > MAX_BYTES:
            print(f'{name}: {len(text)} bytes exceeds the {MAX_BYTES} byte budget', file=sys.stderr)
            bad += 1
        if args.check:
            same = os.path.exists(path) and open(path).read() == text
            bad += not same
            print(f'{"same" if same else "DIFFERS"} {path}')
        else:
            with open(path, 'w') as f:
                f.write(text)
            print(f'wrote {os.path.relpath(path, ROOT)} ({len(text) / 1024:.0f} KB)')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
