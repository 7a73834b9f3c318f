"""Cheng, Sun, Takeuchi, Katto: Learned Image Compression with Discretized Gaussian Mixture Likelihoods and
Attention Modules, CVPR 2020. Anchor (residual blocks) and attention variants, with the serial 5x5 context,
plus the checkerboard-context variants (He et al., CVPR 2021) that decode in two parallel steps.

    g_a: RBS RB RBS [A] RB RBS RB conv/2 [A]            (x -> y, 16x down)
    g_s: [A] RB RBU RB RBU [A] RB RBU RB subpel/2       (y_hat -> x_hat)
    RBS/RBU = residual block with stride / upsampling, RB = residual block, A = attention module
"""

from torch import nn

from licodec.context import CheckerboardContext, SerialContext
from licodec.entropy import DiscretizedMixture
from licodec.layers import (
    AttentionBlock,
    ResidualBlock,
    ResidualBlockUpsample,
    ResidualBlockWithStride,
    SubpelConv,
    conv1x1,
    conv3x3,
)
from licodec.models.hyperprior import ContextHyperprior
from licodec.models.registry import register

Block = type[nn.Module]  # a residual block class taking (in_ch, out_ch): ResidualBlock, or Fu et al.'s CRB


def analysis(n: int, attention: bool, block: Block = ResidualBlock) -> nn.Sequential:
    def attn() -> list[nn.Module]:  # a new module at each place: the two attention blocks do not share weights
        return [AttentionBlock(n)] if attention else []

    return nn.Sequential(
        ResidualBlockWithStride(3, n), block(n, n),
        ResidualBlockWithStride(n, n), *attn(), block(n, n),
        ResidualBlockWithStride(n, n), block(n, n),
        conv3x3(n, n, stride=2), *attn(),
    )  # fmt: skip


def synthesis(n: int, attention: bool, block: Block = ResidualBlock) -> nn.Sequential:
    return nn.Sequential(
        *([AttentionBlock(n)] if attention else []), block(n, n),
        ResidualBlockUpsample(n, n), block(n, n),
        ResidualBlockUpsample(n, n), *([AttentionBlock(n)] if attention else []), block(n, n),
        ResidualBlockUpsample(n, n), block(n, n),
        SubpelConv(n, 3, 2),
    )  # fmt: skip


def hyper_analysis(n: int) -> nn.Sequential:
    return nn.Sequential(
        conv3x3(n, n), nn.LeakyReLU(), conv3x3(n, n), nn.LeakyReLU(),
        conv3x3(n, n, stride=2), nn.LeakyReLU(), conv3x3(n, n), nn.LeakyReLU(),
        conv3x3(n, n, stride=2),
    )  # fmt: skip


def hyper_synthesis(n: int) -> nn.Sequential:
    """z_hat -> 2N hyper features at the resolution of y."""
    m = n * 3 // 2
    return nn.Sequential(
        conv3x3(n, n), nn.LeakyReLU(), SubpelConv(n, n, 2), nn.LeakyReLU(),
        conv3x3(n, m), nn.LeakyReLU(), SubpelConv(m, m, 2), nn.LeakyReLU(),
        conv3x3(m, 2 * n),
    )  # fmt: skip


def entropy_parameters(n: int, mixture: DiscretizedMixture) -> nn.Sequential:
    """1x1 convs from [hyper features, context features] (4N) to the mixture's parameters for each of N."""
    return nn.Sequential(
        conv1x1(4 * n, n * 10 // 3), nn.LeakyReLU(),
        conv1x1(n * 10 // 3, n * 8 // 3), nn.LeakyReLU(),
        conv1x1(n * 8 // 3, n * mixture.params_per_element),
    )  # fmt: skip


def with_entropy_model(N: int, g_a: nn.Module, g_s: nn.Module, mixture: DiscretizedMixture, rates: int,
                       checkerboard: bool) -> ContextHyperprior:  # fmt: skip
    """Cheng 2020's hyperprior, context model and entropy parameters around the given transforms."""
    context = (CheckerboardContext if checkerboard else SerialContext)(N, 2 * N)
    return ContextHyperprior(
        g_a=g_a,
        g_s=g_s,
        h_a=hyper_analysis(N),
        h_s=hyper_synthesis(N),
        context=context,
        entropy_parameters=entropy_parameters(N, mixture),
        mixture=mixture,
        latent_channels=N,
        hyper_channels=N,
        rates=rates,
    )


def cheng2020(N: int, K: int, rates: int, attention: bool, checkerboard: bool, block: Block = ResidualBlock,
              mixture: DiscretizedMixture | None = None) -> ContextHyperprior:  # fmt: skip
    """The Cheng 2020 composition; later papers swap the residual block and the mixture."""
    mixture = mixture or DiscretizedMixture.gaussian(K)
    return with_entropy_model(N, analysis(N, attention, block), synthesis(N, attention, block), mixture, rates,
                              checkerboard)  # fmt: skip


@register("cheng2020-anchor", N=128, K=3, rates=1)
def cheng2020_anchor(N: int, K: int, rates: int) -> ContextHyperprior:
    return cheng2020(N, K, rates, attention=False, checkerboard=False)


@register("cheng2020-attn", N=128, K=3, rates=1)
def cheng2020_attn(N: int, K: int, rates: int) -> ContextHyperprior:
    return cheng2020(N, K, rates, attention=True, checkerboard=False)


@register("cheng2020-anchor-ckbd", N=128, K=3, rates=1)
def cheng2020_anchor_ckbd(N: int, K: int, rates: int) -> ContextHyperprior:
    return cheng2020(N, K, rates, attention=False, checkerboard=True)


@register("cheng2020-attn-ckbd", N=128, K=3, rates=1)
def cheng2020_attn_ckbd(N: int, K: int, rates: int) -> ContextHyperprior:
    return cheng2020(N, K, rates, attention=True, checkerboard=True)
