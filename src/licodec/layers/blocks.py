"""Building blocks of the Cheng 2020 transforms (and the later papers that reuse them)."""

import torch
import torch.nn.functional as F
from torch import nn

from licodec.layers.bounds import lower_bound


def conv3x3(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1)


def conv1x1(in_ch: int, out_ch: int) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 1)


def pointwise(net: nn.Sequential, rows: torch.Tensor) -> torch.Tensor:
    """A stack of 1x1 convolutions and activations applied to feature rows (..., C) as matrix products, in
    the rows' dtype. The same maths as the convolutions; but PyTorch's CPU convolution takes its slow native
    path for these in float32 (about 3x slower in training, measured) and in float64."""
    for layer in net:
        if isinstance(layer, nn.Conv2d):
            assert layer.kernel_size == (1, 1)
            bias = None if layer.bias is None else layer.bias.to(rows.dtype)
            rows = F.linear(rows, layer.weight.to(rows.dtype).flatten(1), bias)
        else:
            rows = layer(rows)
    return rows


class SubpelConv(nn.Sequential):
    """k x k convolution to r^2 times the channels, then pixel shuffle: sub-pixel upsampling by r."""

    def __init__(self, in_ch: int, out_ch: int, r: int = 2, k: int = 3):
        super().__init__(nn.Conv2d(in_ch, out_ch * r * r, k, padding=k // 2), nn.PixelShuffle(r))


class GDN(nn.Module):
    """Generalized divisive normalization (Ballé et al. 2016); ``inverse=True`` gives IGDN.

    y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2), with beta and gamma kept positive by a lower bound on
    their square roots.
    """

    _pedestal = 2.0**-18

    def __init__(self, channels: int, inverse: bool = False, gamma_init: float = 0.1):
        super().__init__()
        self.inverse = inverse
        self.beta = nn.Parameter(torch.sqrt(torch.ones(channels) + self._pedestal))
        self.gamma = nn.Parameter(torch.sqrt(gamma_init * torch.eye(channels) + self._pedestal))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = lower_bound(self.beta, (1e-6 + self._pedestal) ** 0.5) ** 2 - self._pedestal
        gamma = lower_bound(self.gamma, self._pedestal**0.5) ** 2 - self._pedestal
        c = gamma.shape[0]
        norm = F.conv2d(x * x, gamma.to(x.dtype).reshape(c, c, 1, 1), beta.to(x.dtype))
        norm = torch.sqrt(norm)
        return x * norm if self.inverse else x / norm


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with leaky ReLUs around an identity (or 1x1) shortcut."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv1 = conv3x3(in_ch, out_ch)
        self.conv2 = conv3x3(out_ch, out_ch)
        self.skip = conv1x1(in_ch, out_ch) if in_ch != out_ch else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.leaky_relu(self.conv1(x))
        out = F.leaky_relu(self.conv2(out))
        return out + (x if self.skip is None else self.skip(x))


class ConcatenatedResidualBlock(nn.Module):
    """Fu et al. 2023's concatenated residual block: two residual blocks in series, plus a shortcut around
    both, x + RB(RB(x)), which eases the flow of low-level information through deep transforms."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.blocks = nn.Sequential(ResidualBlock(in_ch, out_ch), ResidualBlock(out_ch, out_ch))
        self.skip = conv1x1(in_ch, out_ch) if in_ch != out_ch else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x) + (x if self.skip is None else self.skip(x))


class ResidualBlockWithStride(nn.Module):
    """Downsampling by 2: strided 3x3 conv, leaky ReLU, 3x3 conv, GDN; strided 1x1 shortcut.

    The shortcut subsamples first and then applies a stride-1 1x1 conv: the same maths as a strided 1x1
    conv, but it avoids a PyTorch 2.13 CPU crash in that layer's channels_last backward (a 1x1 stride-2 convolution with
    at most 8 input channels corrupts memory on inputs of 128x128 or larger).
    """

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv1 = conv3x3(in_ch, out_ch, stride=2)
        self.conv2 = conv3x3(out_ch, out_ch)
        self.gdn = GDN(out_ch)
        self.skip = conv1x1(in_ch, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.gdn(self.conv2(F.leaky_relu(self.conv1(x))))
        return out + self.skip(x[:, :, ::2, ::2])


class ResidualBlockUpsample(nn.Module):
    """Upsampling by 2: sub-pixel conv, leaky ReLU, 3x3 conv, IGDN; sub-pixel shortcut (3x3 as in Cheng 2020,
    or 1x1 as in Fu et al.'s light decoders)."""

    def __init__(self, in_ch: int, out_ch: int, shortcut_kernel: int = 3):
        super().__init__()
        self.subpel = SubpelConv(in_ch, out_ch)
        self.conv = conv3x3(out_ch, out_ch)
        self.igdn = GDN(out_ch, inverse=True)
        self.upsample = SubpelConv(in_ch, out_ch, k=shortcut_kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.igdn(self.conv(F.leaky_relu(self.subpel(x))))
        return out + self.upsample(x)


class ResidualUnit(nn.Module):
    """1x1 (halve) -> 3x3 -> 1x1 (restore) bottleneck with an identity path, as in Cheng 2020 Fig. 4."""

    def __init__(self, channels: int):
        super().__init__()
        half = channels // 2
        self.body = nn.Sequential(
            conv1x1(channels, half), nn.ReLU(), conv3x3(half, half), nn.ReLU(), conv1x1(half, channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class AttentionBlock(nn.Module):
    """Cheng 2020's simplified attention module (no non-local block).

    x --> trunk: 3 residual units ---------------> a
    x --> mask:  3 residual units -> 1x1 -> sigmoid -> m
    out = x + a * m
    """

    def __init__(self, channels: int):
        super().__init__()
        self.trunk = nn.Sequential(*(ResidualUnit(channels) for _ in range(3)))
        self.mask = nn.Sequential(*(ResidualUnit(channels) for _ in range(3)), conv1x1(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.trunk(x) * torch.sigmoid(self.mask(x))


class MaskedConv2d(nn.Conv2d):
    """A convolution that only sees the positions where ``mask`` is true.

    The mask is a buffer multiplied onto the weight in every call (weights are never edited in place), so
    the same module serves the serial type-A mask and the checkerboard mask.
    """

    def __init__(self, in_ch: int, out_ch: int, mask: torch.Tensor):
        k = mask.shape[-1]
        super().__init__(in_ch, out_ch, k, padding=k // 2)
        self.register_buffer("mask", mask.to(torch.float32).reshape(1, 1, k, k), persistent=False)

    def masked_weight(self) -> torch.Tensor:
        return self.weight * self.mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.masked_weight().to(x.dtype), self.bias.to(x.dtype), padding=self.padding)


class BottleneckResidual(nn.Module):
    """1x1 (halve) -> k x k -> 1x1 (restore) with an identity path: a branch of the multi-scale block."""

    def __init__(self, channels: int, k: int):
        super().__init__()
        half = channels // 2
        self.body = nn.Sequential(
            conv1x1(channels, half), nn.ReLU(), nn.Conv2d(half, half, k, padding=k // 2), nn.ReLU(),
            conv1x1(half, channels),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class MultiScaleResidualBlock(nn.Module):
    """Fu et al. 2022's MSRB: parallel 3x3 and 5x5 residual branches, crossed twice.

    x -> B3 -> a        [a, b] -> 1x1 + GDN -> B3 -> c
    x -> B5 -> b        [b, a] -> 1x1 + GDN -> B5 -> d        out = x + 1x1([c, d])
    """

    def __init__(self, channels: int):
        super().__init__()
        n = channels
        self.first3, self.first5 = BottleneckResidual(n, 3), BottleneckResidual(n, 5)
        self.fuse_a = nn.Sequential(conv1x1(2 * n, n), GDN(n))
        self.fuse_b = nn.Sequential(conv1x1(2 * n, n), GDN(n))
        self.second3, self.second5 = BottleneckResidual(n, 3), BottleneckResidual(n, 5)
        self.out = conv1x1(2 * n, n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.first3(x), self.first5(x)
        c = self.second3(self.fuse_a(torch.cat([a, b], dim=1)))
        d = self.second5(self.fuse_b(torch.cat([b, a], dim=1)))
        return x + self.out(torch.cat([c, d], dim=1))


class ImportanceMap(nn.Module):
    """A map in (0, 1), one value per latent element, computed from the analysis features one scale above
    the latent: strided conv + GDN, three residual units around a shortcut, sigmoid (Fu et al. 2022)."""

    def __init__(self, channels: int):
        super().__init__()
        self.down = nn.Sequential(conv3x3(channels, channels, stride=2), GDN(channels))
        self.body = nn.Sequential(*(ResidualUnit(channels) for _ in range(3)))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        h = self.down(features)
        return torch.sigmoid(h + self.body(h))


class PostQuantizationFilter(nn.Module):
    """y_hat + f(y_hat): a small 2-D filter that learns to undo part of the quantization error before the
    synthesis transform, in the spirit of HEVC's sample-adaptive offset (Fu et al. 2022)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            conv3x3(channels, channels), nn.LeakyReLU(), conv3x3(channels, channels), nn.LeakyReLU(),
            conv3x3(channels, channels),
        )  # fmt: skip

    def forward(self, y_hat: torch.Tensor) -> torch.Tensor:
        return y_hat + self.body(y_hat)
