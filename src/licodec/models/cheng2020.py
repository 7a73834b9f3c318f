"""Cheng, Sun, Takeuchi, Katto: Learned Image Compression with Discretized Gaussian Mixture Likelihoods and
Attention Modules, CVPR 2020. Anchor (residual blocks) and attention variants, with the serial 5x5 context,
plus the checkerboard-context variants (He et al., CVPR 2021) that decode in two parallel steps.

    g_a: RBS RB RBS [A] RB RBS RB conv/2 [A]            (x -> y, 16x down)
    g_s: [A] RB RBU RB RBU [A] RB RBU RB subpel/2       (y_hat -> x_hat)
    RBS/RBU = residual block with stride / upsampling, RB = residual block, A = attention module

N is the width of the transforms and of the hyperprior; M, the number of latent channels, is N in the paper
(N=128 at low rates, 192 at high). M > N widens only what runs at the latent's resolution: the last conv
[and attention] of g_a, the first [attention and] residual block of g_s, and the entropy model. That buys
latent capacity cheaply: a 64-channel latent holds 64 numbers per 16x16x3 block (768), and a linear basis
of 64 such numbers already caps Kodak at 29.7 dB (PCA on Kodak itself), which is where an N=M=64 model
stalls whatever its rate; 192 raise that bound to 37.9 dB.

N_hyper, the width of the hyperprior (h_a, h_s and z), is N in the paper. Setting it apart lets the
transforms grow wider than a trained model's hyperprior (licodec/widen.py widens g_a and g_s of a trained
model): the transforms hold the capacity that limits the top rate points, the hyperprior runs at 1/16 and
1/64 of the image's resolution and costs little.
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


def _attention(attention: bool, channels: int) -> list[nn.Module]:
    # a new module at each place: the two attention blocks of a transform do not share weights
    return [AttentionBlock(channels)] if attention else []


def analysis(n: int, attention: bool, block: Block = ResidualBlock, m: int | None = None) -> nn.Sequential:
    m = m or n
    return nn.Sequential(
        ResidualBlockWithStride(3, n), block(n, n),
        ResidualBlockWithStride(n, n), *_attention(attention, n), block(n, n),
        ResidualBlockWithStride(n, n), block(n, n),
        conv3x3(n, m, stride=2), *_attention(attention, m),
    )  # fmt: skip


def synthesis(n: int, attention: bool, block: Block = ResidualBlock, m: int | None = None) -> nn.Sequential:
    m = m or n
    return nn.Sequential(
        *_attention(attention, m), block(m, m),
        ResidualBlockUpsample(m, n), block(n, n),
        ResidualBlockUpsample(n, n), *_attention(attention, n), block(n, n),
        ResidualBlockUpsample(n, n), block(n, n),
        SubpelConv(n, 3, 2),
    )  # fmt: skip


def hyper_analysis(n: int, m: int | None = None) -> nn.Sequential:
    return nn.Sequential(
        conv3x3(m or n, n), nn.LeakyReLU(), conv3x3(n, n), nn.LeakyReLU(),
        conv3x3(n, n, stride=2), nn.LeakyReLU(), conv3x3(n, n), nn.LeakyReLU(),
        conv3x3(n, n, stride=2),
    )  # fmt: skip


def hyper_synthesis(n: int, m: int | None = None) -> nn.Sequential:
    """z_hat -> 2M hyper features at the resolution of y."""
    mid = n * 3 // 2
    return nn.Sequential(
        conv3x3(n, n), nn.LeakyReLU(), SubpelConv(n, n, 2), nn.LeakyReLU(),
        conv3x3(n, mid), nn.LeakyReLU(), SubpelConv(mid, mid, 2), nn.LeakyReLU(),
        conv3x3(mid, 2 * (m or n)),
    )  # fmt: skip


def entropy_parameters(m: int, mixture: DiscretizedMixture) -> nn.Sequential:
    """1x1 convs from [hyper features, context features] (4M) to the mixture's parameters for each of M."""
    return nn.Sequential(
        conv1x1(4 * m, m * 10 // 3), nn.LeakyReLU(),
        conv1x1(m * 10 // 3, m * 8 // 3), nn.LeakyReLU(),
        conv1x1(m * 8 // 3, m * mixture.params_per_element),
    )  # fmt: skip


def with_entropy_model(N: int, g_a: nn.Module, g_s: nn.Module, mixture: DiscretizedMixture, rates: int,
                       checkerboard: bool, M: int | None = None) -> ContextHyperprior:  # fmt: skip
    """Cheng 2020's hyperprior (width N), context model and entropy parameters around the given transforms."""
    M = M or N
    context = (CheckerboardContext if checkerboard else SerialContext)(M, 2 * M)
    return ContextHyperprior(
        g_a=g_a,
        g_s=g_s,
        h_a=hyper_analysis(N, M),
        h_s=hyper_synthesis(N, M),
        context=context,
        entropy_parameters=entropy_parameters(M, mixture),
        mixture=mixture,
        latent_channels=M,
        hyper_channels=N,
        rates=rates,
    )


def cheng2020(N: int, K: int, rates: int, attention: bool, checkerboard: bool, block: Block = ResidualBlock,
              mixture: DiscretizedMixture | None = None, M: int | None = None,
              N_hyper: int | None = None) -> ContextHyperprior:  # fmt: skip
    """The Cheng 2020 composition; later papers swap the residual block and the mixture."""
    mixture = mixture or DiscretizedMixture.gaussian(K)
    return with_entropy_model(N_hyper or N, analysis(N, attention, block, M), synthesis(N, attention, block, M),
                              mixture, rates, checkerboard, M or N)  # fmt: skip


# The four variants: (attention modules, checkerboard context). M=None: as many latent channels as N;
# N_hyper=None: a hyperprior as wide as the transforms (the paper).
VARIANTS = {
    "cheng2020-anchor": (False, False),
    "cheng2020-attn": (True, False),
    "cheng2020-anchor-ckbd": (False, True),
    "cheng2020-attn-ckbd": (True, True),
}


def _builder(attention: bool, checkerboard: bool):
    def build(N: int, K: int, rates: int, M: int | None, N_hyper: int | None) -> ContextHyperprior:
        return cheng2020(N, K, rates, attention=attention, checkerboard=checkerboard, M=M, N_hyper=N_hyper)

    return build


for _name, _parts in VARIANTS.items():
    register(_name, N=128, K=3, rates=1, M=None, N_hyper=None)(_builder(*_parts))
