"""Fu, Liang, Liang, Li, Zhang, Han: Asymmetric Learned Image Compression with Multi-Scale Residual Block,
Importance Map, and Post-Quantization Filtering (arXiv 2206.10618).

A heavy encoder and a light decoder:

    g_a: RBS MSRB RBS A MSRB RBS MSRB ─┬─ conv/2 A ──────── x ── y        (three MSRB stages)
                                        └─ importance map ──┘              (values in (0, 1))
    g_s: [PQF] MSRB RBU RBU RBU(N/2) subpel/2                              (one MSRB stage)

Entropy model: Cheng 2020's hyperprior, context and K-Gaussian mixture (serial or checkerboard context).
``importance_map`` and ``pqf`` switch the two parts off for the ablation.
"""

import torch
from torch import nn

from licodec.entropy import DiscretizedMixture
from licodec.layers import (
    AttentionBlock,
    ImportanceMap,
    MultiScaleResidualBlock,
    PostQuantizationFilter,
    ResidualBlockUpsample,
    ResidualBlockWithStride,
    SubpelConv,
    conv3x3,
)
from licodec.models.cheng2020 import with_entropy_model
from licodec.models.hyperprior import ContextHyperprior
from licodec.models.registry import register


class AsymmetricAnalysis(nn.Module):
    def __init__(self, n: int, importance_map: bool):
        super().__init__()
        self.body = nn.Sequential(
            ResidualBlockWithStride(3, n), MultiScaleResidualBlock(n),
            ResidualBlockWithStride(n, n), AttentionBlock(n), MultiScaleResidualBlock(n),
            ResidualBlockWithStride(n, n), MultiScaleResidualBlock(n),
        )  # fmt: skip
        self.head = nn.Sequential(conv3x3(n, n, stride=2), AttentionBlock(n))
        self.importance = ImportanceMap(n) if importance_map else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.body(x)  # (B, N, H/8, W/8)
        y = self.head(features)  # (B, N, H/16, W/16)
        return y if self.importance is None else y * self.importance(features)


def asymmetric_synthesis(n: int, pqf: bool) -> nn.Sequential:
    """The light decoder: its extra capacity sits at the latent's resolution (PQF, one MSRB), where it is
    cheap; the upsampling stages carry no residual or attention blocks, use 1x1 sub-pixel shortcuts, and the
    last one runs at half width."""
    return nn.Sequential(
        *([PostQuantizationFilter(n)] if pqf else []), MultiScaleResidualBlock(n),
        ResidualBlockUpsample(n, n, shortcut_kernel=1), ResidualBlockUpsample(n, n, shortcut_kernel=1),
        ResidualBlockUpsample(n, n // 2, shortcut_kernel=1),
        SubpelConv(n // 2, 3, 2),
    )  # fmt: skip


def fu2022(N: int, K: int, rates: int, importance_map: bool, pqf: bool, checkerboard: bool) -> ContextHyperprior:
    g_a, g_s = AsymmetricAnalysis(N, importance_map), asymmetric_synthesis(N, pqf)
    return with_entropy_model(N, g_a, g_s, DiscretizedMixture.gaussian(K), rates, checkerboard)


@register("fu2022-asym", N=128, K=3, rates=1, importance_map=True, pqf=True)
def fu2022_asym(N: int, K: int, rates: int, importance_map: bool, pqf: bool) -> ContextHyperprior:
    return fu2022(N, K, rates, importance_map, pqf, checkerboard=False)


@register("fu2022-asym-ckbd", N=128, K=3, rates=1, importance_map=True, pqf=True)
def fu2022_asym_ckbd(N: int, K: int, rates: int, importance_map: bool, pqf: bool) -> ContextHyperprior:
    return fu2022(N, K, rates, importance_map, pqf, checkerboard=True)
