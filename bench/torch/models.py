#!/usr/bin/python3
"""PyTorch reference models for every row of the paper's tables.

Used by the benchmarks (bench/torch/bench.py) and to generate the committed numeric fixtures
(bench/torch/fixtures.py); never at runtime. Plain torch only: the ViT follows vit-pytorch as of
late 2021 (0.2x) and the Perceiver follows perceiver-pytorch 0.7.x, module for module, so that
state_dict names and trainable-parameter counts are those of the original code (see docs/paper.md).

    /usr/bin/python3 bench/torch/models.py --check     # every paper row, asserts exact counts
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------------------------------------
# Residual CNN stack
# ---------------------------------------------------------------------------------------------

PAPER_CNN_CHANNELS = (3, 32, 32, 128, 128, 3)


class ResidualCNNBlock(nn.Module):
    """conv3x3 (bias) -> BatchNorm, shortcut identity or 1x1 conv (bias, no BN), ReLU after add."""

    def __init__(self, c_in: int, c_out: int, should_stride: bool = False):
        super().__init__()
        stride = 2 if should_stride else 1
        self.block = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1, stride=stride),
            nn.BatchNorm2d(c_out),
        )
        self.relu = nn.ReLU()
        # The original stores `lambda x: x` for the identity case: no module, no parameters.
        self.identity = nn.Conv2d(c_in, c_out, 1, stride=stride) if (c_in != c_out or should_stride) else None

    def forward(self, x):
        result = self.block(x)
        x = self.identity(x) if self.identity is not None else x
        return self.relu(x + result)


def cnn_stack(channels: Sequence[int] = PAPER_CNN_CHANNELS) -> nn.Sequential:
    """Units channels[0]->channels[1]->...; the paper's stack is 3->32->32->128->128->3."""
    return nn.Sequential(*[ResidualCNNBlock(a, b, False) for a, b in zip(channels[:-1], channels[1:])])


# ---------------------------------------------------------------------------------------------
# ViT (vit-pytorch, late 2021)
# ---------------------------------------------------------------------------------------------


class PatchRearrange(nn.Module):
    """einops Rearrange('b c (h p1) (w p2) -> b (h w) (p1 p2 c)'): inside a patch row, column,
    channel with channel fastest."""

    def __init__(self, p1: int, p2: int):
        super().__init__()
        self.p1, self.p2 = p1, p2

    def forward(self, x):
        b, c, hh, ww = x.shape
        h, w = hh // self.p1, ww // self.p2
        x = x.reshape(b, c, h, self.p1, w, self.p2)
        x = x.permute(0, 2, 4, 3, 5, 1)  # b h w p1 p2 c
        return x.reshape(b, h * w, self.p1 * self.p2 * c)

    def extra_repr(self):
        return f"'b c (h p1) (w p2) -> b (h w) (p1 p2 c)', p1={self.p1}, p2={self.p2}"


class PreNorm(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x, **kwargs):
        return self.fn(self.norm(x), **kwargs)


class FeedForward(nn.Module):
    def __init__(self, dim, hidden_dim, dropout=0.0):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, hidden_dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, dim),
            nn.Dropout(dropout),
        )

    def forward(self, x):
        return self.net(x)


class Attention(nn.Module):
    def __init__(self, dim, heads=8, dim_head=64, dropout=0.0):
        super().__init__()
        inner_dim = dim_head * heads
        project_out = not (heads == 1 and dim_head == dim)
        self.heads = heads
        self.scale = dim_head ** -0.5
        self.attend = nn.Softmax(dim=-1)
        self.to_qkv = nn.Linear(dim, inner_dim * 3, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner_dim, dim), nn.Dropout(dropout)) if project_out else nn.Identity()

    def forward(self, x):
        b, n, _ = x.shape
        h = self.heads
        q, k, v = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = (t.reshape(b, n, h, -1).transpose(1, 2) for t in (q, k, v))  # b h n d
        dots = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        attn = self.attend(dots)
        out = torch.matmul(attn, v)
        out = out.transpose(1, 2).reshape(b, n, -1)  # b n (h d)
        return self.to_out(out)


class Transformer(nn.Module):
    def __init__(self, dim, depth, heads, dim_head, mlp_dim, dropout=0.0):
        super().__init__()
        self.layers = nn.ModuleList([])
        for _ in range(depth):
            self.layers.append(nn.ModuleList([
                PreNorm(dim, Attention(dim, heads=heads, dim_head=dim_head, dropout=dropout)),
                PreNorm(dim, FeedForward(dim, mlp_dim, dropout=dropout)),
            ]))

    def forward(self, x):
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return x


class ViT(nn.Module):
    def __init__(self, *, image_size, patch_size, num_classes, dim, depth, heads, mlp_dim, pool='cls',
                 channels=3, dim_head=64, dropout=0.0, emb_dropout=0.0):
        super().__init__()
        assert image_size % patch_size == 0, 'Image dimensions must be divisible by the patch size.'
        num_patches = (image_size // patch_size) ** 2
        patch_dim = channels * patch_size * patch_size
        assert pool in {'cls', 'mean'}
        self.to_patch_embedding = nn.Sequential(
            PatchRearrange(patch_size, patch_size),
            nn.Linear(patch_dim, dim),
        )
        self.pos_embedding = nn.Parameter(torch.randn(1, num_patches + 1, dim))
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
        self.dropout = nn.Dropout(emb_dropout)
        self.transformer = Transformer(dim, depth, heads, dim_head, mlp_dim, dropout)
        self.pool = pool
        self.to_latent = nn.Identity()
        self.mlp_head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, num_classes))

    def forward(self, img):
        x = self.to_patch_embedding(img)
        b, n, _ = x.shape
        cls_tokens = self.cls_token.expand(b, -1, -1)
        x = torch.cat((cls_tokens, x), dim=1)
        x = x + self.pos_embedding[:, :(n + 1)]
        x = self.dropout(x)
        x = self.transformer(x)
        x = x.mean(dim=1) if self.pool == 'mean' else x[:, 0]
        x = self.to_latent(x)
        return self.mlp_head(x)


def vit_token_mixer(*, image_size=32, patch_size=2, dim=1024, depth=1, heads=1, dim_head=64, mlp_dim=2048,
                    dropout=0.1, emb_dropout=0.1, channels=3, num_classes=10) -> nn.Sequential:
    """What the mixture blocks keep of a ViT: `Sequential(*list(vit.children())[:-1])`, i.e.
    patch embedding, embedding dropout, transformer, identity. The positional embedding and the CLS
    token are parameters, not children, so they are dropped together with the head."""
    vit = ViT(image_size=image_size, patch_size=patch_size, num_classes=num_classes, dim=dim, depth=depth,
              heads=heads, mlp_dim=mlp_dim, channels=channels, dim_head=dim_head, dropout=dropout,
              emb_dropout=emb_dropout)
    return nn.Sequential(*(list(vit.children())[:-1]))


def tokens_as_image(tokens: torch.Tensor) -> torch.Tensor:
    """(B, N, D) -> (B, N, sqrt(D), sqrt(D)): tokens become channels, each D-vector a square map."""
    res = tokens[:, :, :, None]
    side = int(round(res.shape[2] ** 0.5))
    assert side * side == res.shape[2], f'token dim {res.shape[2]} is not a square'
    return res.view(res.shape[0], res.shape[1], side, side)


def token_adapter(num_tokens: int = 256, out_channels: int = 3) -> nn.Sequential:
    """ConvTranspose2d(num_tokens -> 3, k3, s1, p1) -> BatchNorm2d(3)."""
    return nn.Sequential(
        nn.ConvTranspose2d(num_tokens, out_channels, kernel_size=3, stride=1, padding=1),
        nn.BatchNorm2d(out_channels),
    )


class TokenAdapter(nn.Module):
    """Token-to-image adapter as a standalone module (fixtures): reshape then conv-transpose + BN."""

    def __init__(self, num_tokens: int = 256):
        super().__init__()
        self.upsample_vit = token_adapter(num_tokens)

    def forward(self, tokens):
        return self.upsample_vit(tokens_as_image(tokens))


# ---------------------------------------------------------------------------------------------
# Mixture models with ViT
# ---------------------------------------------------------------------------------------------


class ResMMBlock(nn.Module):
    """Alternating block: CNN stack -> ViT mixer -> tokens as image -> adapter."""

    def __init__(self, image_size=32, patch_size=2, depth=1, att_heads=1, dim_head=64, mlp_dim=2048,
                 output_dim=1024, dropout=0.1, emb_dropout=0.1, cnn_channels=PAPER_CNN_CHANNELS):
        super().__init__()
        self.conv_net = cnn_stack(cnn_channels)
        self.vision_transformer = vit_token_mixer(image_size=image_size, patch_size=patch_size, dim=output_dim,
                                                  depth=depth, heads=att_heads, dim_head=dim_head,
                                                  mlp_dim=mlp_dim, dropout=dropout, emb_dropout=emb_dropout)
        self.upsample_vit = token_adapter((image_size // patch_size) ** 2)

    def forward(self, x):
        res = self.conv_net(x)
        res = self.vision_transformer(res)
        return self.upsample_vit(tokens_as_image(res))


class ResAlternatingMixtureModel(nn.Module):
    """Blocks chain; the last one feeds Linear(3*H*W, classes) on the NCHW-flattened image.
    (As in the original, `ffn` is registered before `MM`, so it comes first in state_dict.)"""

    def __init__(self, num_blocks=1, image_size=32, num_labels=10, patch_size=2, depth=1, att_heads=1,
                 dim_head=64, mlp_dim=2048, output_dim=1024, dropout=0.1, emb_dropout=0.1,
                 cnn_channels=PAPER_CNN_CHANNELS):
        super().__init__()
        blocks = [ResMMBlock(image_size=image_size, patch_size=patch_size, depth=depth, att_heads=att_heads,
                             dim_head=dim_head, mlp_dim=mlp_dim, output_dim=output_dim, dropout=dropout,
                             emb_dropout=emb_dropout, cnn_channels=cnn_channels) for _ in range(num_blocks)]
        self.ffn = nn.Linear(3 * image_size * image_size, num_labels)
        self.MM = nn.Sequential(*blocks)

    def forward(self, x):
        return self.ffn(self.MM(x).flatten(start_dim=1))


class JointMixtureModel(nn.Module):
    """Joint blocks: CNN stack on the block input, in parallel ViT mixer -> adapter on the same
    input; outputs added. `norm='none'` is the original ViT joint model (plain add);
    `norm='shared_bn'` normalizes each branch with ONE BatchNorm2d(3) shared by both branches and
    all blocks before the add (as the Perceiver joint model does).
    Module names follow the original: conv_net/vit/upsample_vit for one block,
    conv_net1/vit1/upsample_vit1, conv_net2/... for two or more."""

    def __init__(self, num_blocks=1, image_size=32, num_labels=10, patch_size=2, depth=2, att_heads=2,
                 dim_head=64, mlp_dim=2048, output_dim=1024, dropout=0.1, emb_dropout=0.1,
                 cnn_channels=PAPER_CNN_CHANNELS, norm='none'):
        super().__init__()
        assert norm in ('none', 'shared_bn')
        self.num_blocks = num_blocks
        self.suffixes = [''] if num_blocks == 1 else [str(i + 1) for i in range(num_blocks)]
        for s in self.suffixes:
            setattr(self, 'conv_net' + s, cnn_stack(cnn_channels))
            setattr(self, 'vit' + s, vit_token_mixer(image_size=image_size, patch_size=patch_size, dim=output_dim,
                                                     depth=depth, heads=att_heads, dim_head=dim_head,
                                                     mlp_dim=mlp_dim, dropout=dropout, emb_dropout=emb_dropout))
            setattr(self, 'upsample_vit' + s, token_adapter((image_size // patch_size) ** 2))
        self.ffn = nn.Linear(3 * image_size * image_size, num_labels)
        self.norm = nn.BatchNorm2d(3) if norm == 'shared_bn' else None

    def forward(self, x):
        for s in self.suffixes:
            res1 = getattr(self, 'conv_net' + s)(x)
            res2 = getattr(self, 'upsample_vit' + s)(tokens_as_image(getattr(self, 'vit' + s)(x)))
            x = res1 + res2 if self.norm is None else self.norm(res1) + self.norm(res2)
        return self.ffn(x.flatten(start_dim=1))


# ---------------------------------------------------------------------------------------------
# Perceiver (perceiver-pytorch 0.7.x)
# ---------------------------------------------------------------------------------------------


def fourier_encode(x, max_freq, num_bands=4):
    x = x.unsqueeze(-1)
    orig_x = x
    scales = torch.linspace(1.0, max_freq / 2, num_bands, device=x.device, dtype=x.dtype)
    scales = scales[(*((None,) * (len(x.shape) - 1)), Ellipsis)]
    x = x * scales * math.pi
    x = torch.cat([x.sin(), x.cos()], dim=-1)
    return torch.cat((x, orig_x), dim=-1)


def fourier_position_features(axis_sizes: Sequence[int], max_freq: float, num_bands: int,
                              dtype=torch.float32, device=None) -> torch.Tensor:
    """(*axis_sizes, len(axis)*(2*num_bands+1)): per axis [sin x6, cos x6, x], axes in order."""
    axis_pos = [torch.linspace(-1.0, 1.0, steps=size, device=device, dtype=dtype) for size in axis_sizes]
    pos = torch.stack(torch.meshgrid(*axis_pos, indexing='ij'), dim=-1)
    enc = fourier_encode(pos, max_freq, num_bands)
    return enc.reshape(*enc.shape[:-2], enc.shape[-2] * enc.shape[-1])


class PPreNorm(nn.Module):
    def __init__(self, dim, fn, context_dim=None):
        super().__init__()
        self.fn = fn
        self.norm = nn.LayerNorm(dim)
        self.norm_context = nn.LayerNorm(context_dim) if context_dim is not None else None

    def forward(self, x, **kwargs):
        x = self.norm(x)
        if self.norm_context is not None:
            kwargs.update(context=self.norm_context(kwargs['context']))
        return self.fn(x, **kwargs)


class GEGLU(nn.Module):
    def forward(self, x):
        x, gates = x.chunk(2, dim=-1)
        return x * F.gelu(gates)


class PFeedForward(nn.Module):
    def __init__(self, dim, mult=4, dropout=0.0):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, dim * mult * 2),
            GEGLU(),
            nn.Dropout(dropout),
            nn.Linear(dim * mult, dim),
        )

    def forward(self, x):
        return self.net(x)


class PAttention(nn.Module):
    def __init__(self, query_dim, context_dim=None, heads=8, dim_head=64, dropout=0.0):
        super().__init__()
        inner_dim = dim_head * heads
        context_dim = query_dim if context_dim is None else context_dim
        self.scale = dim_head ** -0.5
        self.heads = heads
        self.to_q = nn.Linear(query_dim, inner_dim, bias=False)
        self.to_kv = nn.Linear(context_dim, inner_dim * 2, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner_dim, query_dim), nn.Dropout(dropout))

    def forward(self, x, context=None):
        h = self.heads
        q = self.to_q(x)
        context = x if context is None else context
        k, v = self.to_kv(context).chunk(2, dim=-1)

        def split(t):  # 'b n (h d) -> (b h) n d'
            b, n, _ = t.shape
            return t.reshape(b, n, h, -1).permute(0, 2, 1, 3).reshape(b * h, n, -1)

        q, k, v = split(q), split(k), split(v)
        sim = torch.bmm(q, k.transpose(1, 2)) * self.scale
        attn = sim.softmax(dim=-1)
        out = torch.bmm(attn, v)
        bh, n, d = out.shape
        out = out.reshape(bh // h, h, n, d).permute(0, 2, 1, 3).reshape(bh // h, n, h * d)
        return self.to_out(out)


class MeanOverLatents(nn.Module):
    """einops Reduce('b n d -> b d', 'mean')."""

    def forward(self, x):
        return x.mean(dim=1)


class Perceiver(nn.Module):
    """perceiver-pytorch 0.7.x `Perceiver`; input (B, *axis, C) channels-last."""

    def __init__(self, *, num_freq_bands, depth, max_freq, input_channels=3, input_axis=2, num_latents=512,
                 latent_dim=512, cross_heads=1, latent_heads=8, cross_dim_head=64, latent_dim_head=64,
                 num_classes=1000, attn_dropout=0.0, ff_dropout=0.0, weight_tie_layers=False,
                 fourier_encode_data=True, self_per_cross_attn=1, final_classifier_head=True):
        super().__init__()
        assert not weight_tie_layers, 'weight tying is not used by any paper row'
        self.input_axis = input_axis
        self.max_freq = max_freq
        self.num_freq_bands = num_freq_bands
        self.fourier_encode_data = fourier_encode_data
        fourier_channels = (input_axis * ((num_freq_bands * 2) + 1)) if fourier_encode_data else 0
        input_dim = fourier_channels + input_channels

        self.latents = nn.Parameter(torch.randn(num_latents, latent_dim))

        self.layers = nn.ModuleList([])
        for _ in range(depth):
            self_attns = nn.ModuleList([])
            for _ in range(self_per_cross_attn):
                self_attns.append(nn.ModuleList([
                    PPreNorm(latent_dim, PAttention(latent_dim, heads=latent_heads, dim_head=latent_dim_head,
                                                    dropout=attn_dropout)),
                    PPreNorm(latent_dim, PFeedForward(latent_dim, dropout=ff_dropout)),
                ]))
            self.layers.append(nn.ModuleList([
                PPreNorm(latent_dim, PAttention(latent_dim, input_dim, heads=cross_heads, dim_head=cross_dim_head,
                                                dropout=attn_dropout), context_dim=input_dim),
                PPreNorm(latent_dim, PFeedForward(latent_dim, dropout=ff_dropout)),
                self_attns,
            ]))

        self.to_logits = nn.Sequential(
            MeanOverLatents(),
            nn.LayerNorm(latent_dim),
            nn.Linear(latent_dim, num_classes),
        ) if final_classifier_head else nn.Identity()

    def forward(self, data):
        b, *axis, _ = data.shape
        assert len(axis) == self.input_axis, 'input data must have the right number of axis'
        if self.fourier_encode_data:
            enc_pos = fourier_position_features(axis, self.max_freq, self.num_freq_bands, dtype=data.dtype,
                                                device=data.device)
            enc_pos = enc_pos.unsqueeze(0).expand(b, *enc_pos.shape)
            data = torch.cat((data, enc_pos), dim=-1)
        data = data.reshape(b, -1, data.shape[-1])
        x = self.latents.unsqueeze(0).expand(b, *self.latents.shape)
        for cross_attn, cross_ff, self_attns in self.layers:
            x = cross_attn(x, context=data) + x
            x = cross_ff(x) + x
            for self_attn, self_ff in self_attns:
                x = self_attn(x) + x
                x = self_ff(x) + x
        return self.to_logits(x)


class ImagePerceiver(Perceiver):
    """Standalone Perceiver classifier on NCHW images: permutes to channels-last first
    (same parameters and names as `Perceiver`)."""

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1))


def paper_perceiver(*, image_size=96, depth, cross_heads, num_classes, num_latents=32, latent_dim=32,
                    latent_heads=8, dim_head=16, self_per_cross_attn=2, num_freq_bands=6, max_freq=10.0,
                    dropout=0.2, cls=Perceiver):
    return cls(input_channels=3, input_axis=2, num_freq_bands=num_freq_bands, max_freq=max_freq, depth=depth,
               num_latents=num_latents, latent_dim=latent_dim, cross_heads=cross_heads, latent_heads=latent_heads,
               cross_dim_head=dim_head, latent_dim_head=dim_head, num_classes=num_classes, attn_dropout=dropout,
               ff_dropout=dropout, weight_tie_layers=False, fourier_encode_data=True,
               self_per_cross_attn=self_per_cross_attn)


# ---------------------------------------------------------------------------------------------
# Mixture models with Perceiver
# ---------------------------------------------------------------------------------------------


def perceiver_to_image(out: torch.Tensor, image_size: int) -> torch.Tensor:
    """(B, 3*H*W) head output -> (B, 3, H, W) (C-order reshape, i.e. channel-major)."""
    res = out[:, :, None, None]
    return res.view(res.shape[0], 3, image_size, image_size)


class PerceiverMMBlock(nn.Module):
    """Alternating block: CNN stack -> permute to channels-last -> Perceiver (head 3*H*W) -> image."""

    def __init__(self, image_size=96, cnn_channels=PAPER_CNN_CHANNELS, **perceiver_kw):
        super().__init__()
        self.image_size = image_size
        self.conv_net = cnn_stack(cnn_channels)
        self.perceiver = paper_perceiver(num_classes=3 * image_size * image_size, **perceiver_kw)

    def forward(self, x):
        res = self.conv_net(x)
        res = self.perceiver(res.permute(0, 2, 3, 1))
        return perceiver_to_image(res, self.image_size)


class PerceiverAltMM(nn.Module):
    def __init__(self, num_blocks=1, image_size=96, num_labels=10, depth=4, att_heads=2,
                 cnn_channels=PAPER_CNN_CHANNELS, **perceiver_kw):
        super().__init__()
        blocks = [PerceiverMMBlock(image_size=image_size, cnn_channels=cnn_channels, depth=depth,
                                   cross_heads=att_heads, **perceiver_kw) for _ in range(num_blocks)]
        self.ffn = nn.Linear(3 * image_size * image_size, num_labels)
        self.MM = nn.Sequential(*blocks)

    def forward(self, x):
        return self.ffn(self.MM(x).flatten(start_dim=1))


class JointPerceiverMM(nn.Module):
    """Joint blocks: CNN stack || Perceiver on the block input; ONE BatchNorm2d(3) (`norm`) shared by
    both branches and all blocks normalizes each branch before the add. Names as in the original:
    conv_net/perceiver, conv_net2/perceiver2, ..., ffn, norm."""

    def __init__(self, num_blocks=1, image_size=96, num_labels=10, depth=1, att_heads=1,
                 cnn_channels=PAPER_CNN_CHANNELS, **perceiver_kw):
        super().__init__()
        self.image_size = image_size
        self.suffixes = [''] + [str(i + 1) for i in range(1, num_blocks)]
        for s in self.suffixes:
            setattr(self, 'conv_net' + s, cnn_stack(cnn_channels))
            setattr(self, 'perceiver' + s, paper_perceiver(num_classes=3 * image_size * image_size, depth=depth,
                                                           cross_heads=att_heads, **perceiver_kw))
        self.ffn = nn.Linear(3 * image_size * image_size, num_labels)
        self.norm = nn.BatchNorm2d(3)

    def forward(self, x):
        for s in self.suffixes:
            res1 = getattr(self, 'conv_net' + s)(x)
            res2 = perceiver_to_image(getattr(self, 'perceiver' + s)(x.permute(0, 2, 3, 1)), self.image_size)
            x = self.norm(res1) + self.norm(res2)
        return self.ffn(x.flatten(start_dim=1))


class ConvNet(nn.Module):
    """CNN component alone: CNN stack + Linear(3*H*W, classes)."""

    def __init__(self, image_size=96, num_labels=10, cnn_channels=PAPER_CNN_CHANNELS):
        super().__init__()
        self.conv_net = cnn_stack(cnn_channels)
        self.ffn = nn.Linear(3 * image_size * image_size, num_labels)

    def forward(self, x):
        return self.ffn(self.conv_net(x).flatten(start_dim=1))


def resnet18() -> nn.Module:
    import torchvision
    return torchvision.models.resnet18(num_classes=1000)


def resnet18_cifar(num_classes: int = 10) -> nn.Module:
    """ResNet-18 with the stem of most CIFAR results (kuangliu/pytorch-cifar): conv1 3x3 stride 1, no
    max-pool; the new conv1 initialised as torchvision's init loop does every conv (the project's
    `resnet18` with `stem: cifar`)."""
    import torchvision
    model = torchvision.models.resnet18(num_classes=num_classes)
    model.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode='fan_out', nonlinearity='relu')
    model.maxpool = nn.Identity()
    return model


# ---------------------------------------------------------------------------------------------
# Registry of paper rows
# ---------------------------------------------------------------------------------------------


class Row(NamedTuple):
    name: str                      # benchmark row name
    table: str                     # 'vit' (32x32 tables) or 'perceiver' (STL-10 96x96)
    image: int
    batch: int                     # paper batch size
    lr: float
    build: Callable[[int], nn.Module]  # classes -> model
    label: str                     # paper row label


def _vit_baseline(classes):
    return ViT(image_size=32, patch_size=2, num_classes=classes, dim=1024, depth=2, heads=4, mlp_dim=2048,
               dim_head=64, dropout=0.1, emb_dropout=0.1)


ROWS: Dict[str, Row] = {r.name: r for r in [
    Row('alternating-1block', 'vit', 32, 64, 1e-3, lambda c: ResAlternatingMixtureModel(1, num_labels=c),
        '1 Block Alternating MM (Conv + ViT)'),
    Row('alternating-2block', 'vit', 32, 32, 1e-3, lambda c: ResAlternatingMixtureModel(2, num_labels=c),
        '2 Block Alternating MM (Conv + ViT)'),
    Row('joint-1block', 'vit', 32, 64, 1e-3, lambda c: JointMixtureModel(1, num_labels=c),
        '1 Block Joint MM (Conv + ViT)'),
    Row('joint-2block', 'vit', 32, 32, 1e-3, lambda c: JointMixtureModel(2, num_labels=c),
        '2 Block Joint MM (Conv + ViT)'),
    Row('resnet18', 'vit', 32, 64, 1e-3, lambda c: resnet18(), 'ResNet 18 (Baseline)'),
    Row('vit', 'vit', 32, 64, 1e-3, _vit_baseline, 'VIT (2 depth, 4 attention head)'),
    Row('perceiver-baseline', 'perceiver', 96, 16, 3e-4,
        lambda c: paper_perceiver(depth=4, cross_heads=8, latent_heads=8, num_latents=64, latent_dim=64,
                                  self_per_cross_attn=4, num_classes=c, cls=ImagePerceiver),
        'Perceiver Baseline'),
    Row('perceiver', 'perceiver', 96, 16, 3e-4,
        lambda c: paper_perceiver(depth=4, cross_heads=2, num_classes=c, cls=ImagePerceiver), 'Perceiver'),
    Row('p-joint-1block', 'perceiver', 96, 16, 3e-4, lambda c: JointPerceiverMM(1, num_labels=c), 'Joint (1 Block)'),
    Row('p-joint-2block', 'perceiver', 96, 16, 3e-4, lambda c: JointPerceiverMM(2, num_labels=c), 'Joint (2 Block)'),
    Row('p-alternating-1block', 'perceiver', 96, 16, 3e-4, lambda c: PerceiverAltMM(1, num_labels=c),
        'Alternating (1 Block)'),
    Row('p-alternating-2block', 'perceiver', 96, 16, 3e-4, lambda c: PerceiverAltMM(2, num_labels=c),
        'Alternating (2 Block)'),
    Row('cnn', 'perceiver', 96, 16, 3e-4, lambda c: ConvNet(96, num_labels=c), 'CNN'),
    Row('p-resnet18', 'perceiver', 96, 16, 3e-4, lambda c: resnet18(), 'ResNet-18'),
]}

# (figure, dataset, classes, row name, exact trainable params from docs/paper.md / the paper)
PAPER_TABLES = [
    ('Fig. 8', 'CIFAR-10', 10, 'alternating-1block', 4_719_167),
    ('Fig. 8', 'CIFAR-10', 10, 'alternating-2block', 9_407_604),
    ('Fig. 8', 'CIFAR-10', 10, 'joint-1block', 9_708_095),
    ('Fig. 8', 'CIFAR-10', 10, 'joint-2block', 19_385_460),
    ('Fig. 8', 'CIFAR-10', 10, 'resnet18', 11_689_512),
    ('Fig. 8', 'CIFAR-10', 10, 'vit', 10_791_946),
    ('Fig. 9', 'CIFAR-100', 100, 'alternating-1block', 4_995_737),
    ('Fig. 9', 'CIFAR-100', 100, 'joint-1block', 9_984_665),
    ('Fig. 9', 'CIFAR-100', 100, 'resnet18', 11_689_512),
    ('Fig. 9', 'CIFAR-100', 100, 'vit', 10_884_196),
    ('Fig. 2', 'STL-10@32', 10, 'alternating-1block', 4_719_167),
    ('Fig. 2', 'STL-10@32', 10, 'alternating-2block', 9_407_604),
    ('Fig. 2', 'STL-10@32', 10, 'joint-1block', 9_708_095),
    ('Fig. 2', 'STL-10@32', 10, 'joint-2block', 19_385_460),
    ('Fig. 2', 'STL-10@32', 10, 'resnet18', 11_689_512),
    ('Fig. 2', 'STL-10@32', 10, 'vit', 10_791_946),
    ('Fig. 3', 'STL-10@96', 10, 'perceiver-baseline', 1_625_586),
    ('Fig. 3', 'STL-10@96', 10, 'perceiver', 301_170),
    ('Fig. 3', 'STL-10@96', 10, 'p-joint-1block', 1_466_518),
    ('Fig. 3', 'STL-10@96', 10, 'p-joint-2block', 2_656_540),
    ('Fig. 3', 'STL-10@96', 10, 'p-alternating-1block', 1_693_278),
    ('Fig. 3', 'STL-10@96', 10, 'p-alternating-2block', 3_110_066),
    ('Fig. 3', 'STL-10@96', 10, 'cnn', 480_054),
    ('Fig. 3', 'STL-10@96', 10, 'p-resnet18', 11_689_512),
]

# Component counts stated in docs/paper.md (building blocks).
COMPONENT_COUNTS = [
    ('CNN stack', lambda: cnn_stack(), 203_564),
    ('ViT mixer patch embedding Linear(12, 1024)', lambda: nn.Linear(12, 1024), 13_312),
    ('ViT layer, heads 1', lambda: Transformer(1024, 1, 1, 64, 2048), 4_464_640),
    ('ViT layer, heads 2', lambda: Transformer(1024, 1, 2, 64, 2048), 4_726_784),
    ('ViT layer, heads 4', lambda: Transformer(1024, 1, 4, 64, 2048), 5_251_072),
    ('token-to-image adapter', lambda: token_adapter(256), 6_921),
    ('alternating block (ViT)', lambda: ResMMBlock(), 4_688_437),
    ('joint block (ViT) = CNN + mixer(d2,h2) + adapter',
     lambda: nn.ModuleList([cnn_stack(), vit_token_mixer(depth=2, heads=2), token_adapter(256)]), 9_677_365),
]


def count_trainable(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def build(name: str, classes: int = 10) -> nn.Module:
    if name not in ROWS:
        raise SystemExit(f'Unknown row "{name}". Known rows: {", ".join(ROWS)}.')
    return ROWS[name].build(classes)


def check(forward: bool = False) -> int:
    torch.manual_seed(0)
    failures = 0
    print('Building blocks')
    for label, make, expected in COMPONENT_COUNTS:
        n = count_trainable(make())
        ok = n == expected
        failures += not ok
        print(f'  {"ok " if ok else "BAD"} {label:<52} {n:>12,} (paper {expected:,})')
    print('Paper rows')
    cache: Dict[tuple, int] = {}
    for fig, dataset, classes, name, expected in PAPER_TABLES:
        key = (name, classes)
        if key not in cache:
            model = build(name, classes)
            cache[key] = count_trainable(model)
            if forward:
                row = ROWS[name]
                model.eval()
                with torch.no_grad():
                    out = model(torch.rand(2, 3, row.image, row.image))
                want = 1000 if 'resnet18' in name else classes
                assert tuple(out.shape) == (2, want), (name, tuple(out.shape))
            del model
        n = cache[key]
        ok = n == expected
        failures += not ok
        print(f'  {"ok " if ok else "BAD"} {fig:<7}{dataset:<10} {ROWS[name].label:<38} {name:<21} '
              f'{n:>11,} (paper {expected:,})')
    assert failures == 0, f'{failures} parameter count(s) differ from docs/paper.md'
    print(f'All {len(COMPONENT_COUNTS) + len(PAPER_TABLES)} counts match docs/paper.md exactly.')
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--check', action='store_true', help='print every paper row with its trainable-parameter '
                    'count and assert each equals docs/paper.md')
    ap.add_argument('--forward', action='store_true', help='with --check, also run a batch-2 forward pass of '
                    'every row and check the output shape')
    ap.add_argument('--print', metavar='ROW', help='print the module tree of one row')
    args = ap.parse_args(argv)
    if args.print:
        print(build(args.print))
        return 0
    if args.check:
        return check(args.forward)
    ap.print_help()
    return 0


if __name__ == '__main__':
    sys.exit(main())
