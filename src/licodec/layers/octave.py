"""Generalized octave convolutions (Akbari et al., ICASSP 2020; Fu et al., arXiv 2209.03353).

A feature map is a pair (high, low): the low-resolution part has half the height and width (rounded up) and
a share alpha of the channels. Each generalized octave layer has four paths, and an activation (GDN, IGDN
or leaky ReLU) inside each output branch:

    high ──hh──────────────(+)── act ── high'        hh: conv, stride s   (GoTConv: sub-pixel x2)
         ╲hl (strided)   ╱                          hl: conv, stride 2s  (GoTConv: conv, stride 1)
          ╳                                         lh: conv, stride 1   (GoTConv: sub-pixel x4)
         ╱lh (to high)   ╲                          ll: conv, stride s   (GoTConv: sub-pixel x2)
    low  ──ll──────────────(+)── act ── low'

"Generalized" (Akbari et al.): strided convolutions replace average pooling on the high-to-low path and
sub-pixel convolutions replace nearest up-sampling on the low-to-high path, so no fixed filter throws
spatial structure away. Sizes need not be multiples of anything: a stride-2 path gives ceil(n / 2) and an
up-sampling path is cropped to the size of the branch it is added to, which keeps low = ceil(high / 2).
A layer with no low input (the first of the analysis) or no low output (the last of the synthesis) simply
lacks those paths.
"""

import torch
from torch import nn

from licodec.layers import GDN, SubpelConv, conv3x3

Octave = tuple[torch.Tensor, torch.Tensor | None]  # (high, low)


def octave_channels(n: int, alpha: float) -> tuple[int, int]:
    """Split n channels into (high, low) with a share alpha at low resolution."""
    low = round(alpha * n)
    return n - low, low


def crop_to(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """The top-left part of x with the spatial size of ``like`` (undoes an up-sampling's rounding up)."""
    return x[..., : like.shape[-2], : like.shape[-1]]


def _activation(kind: str | None, channels: int) -> nn.Module:
    if kind is None or channels == 0:
        return nn.Identity()
    if kind == "leaky":
        return nn.LeakyReLU()
    if kind in ("gdn", "igdn"):
        return GDN(channels, inverse=kind == "igdn")
    raise ValueError(f"unknown activation {kind!r}")


class _OctaveLayer(nn.Module):
    """The four paths and the per-branch activations; subclasses build the paths."""

    hh: nn.Module
    hl: nn.Module | None
    lh: nn.Module | None
    ll: nn.Module | None

    def __init__(self, in_ch: tuple[int, int], out_ch: tuple[int, int], activation: str | None):
        super().__init__()
        self.in_ch, self.out_ch = in_ch, out_ch
        self.act_h = _activation(activation, out_ch[0])
        self.act_l = _activation(activation, out_ch[1])

    def forward(self, high: torch.Tensor, low: torch.Tensor | None = None) -> Octave:
        h = self.hh(high)
        if self.lh is not None:
            h = h + crop_to(self.lh(low), h)
        if self.out_ch[1] == 0:
            return self.act_h(h), None
        l_from_h = self.hl(high)
        l_out = l_from_h if self.ll is None else crop_to(self.ll(low), l_from_h) + l_from_h
        return self.act_h(h), self.act_l(l_out)


class GoConv(_OctaveLayer):
    """Generalized octave convolution, stride 1 or 2 (3x3 kernels; 5x5 on the stride-4 high-to-low path)."""

    def __init__(self, in_ch: tuple[int, int], out_ch: tuple[int, int], stride: int = 2,
                 activation: str | None = None):  # fmt: skip
        super().__init__(in_ch, out_ch, activation)
        (h_in, l_in), (h_out, l_out) = in_ch, out_ch
        if stride not in (1, 2):
            raise ValueError("GoConv stride must be 1 or 2")
        self.hh = conv3x3(h_in, h_out, stride)
        # high -> low goes down by 2 * stride; a kernel of 2 * stride + 1 covers the skipped pixels
        self.hl = nn.Conv2d(h_in, l_out, 2 * stride + 1, stride=2 * stride, padding=stride) if l_out else None
        self.ll = conv3x3(l_in, l_out, stride) if l_in and l_out else None
        # low -> high: the low input is already at the output's resolution when stride is 2
        self.lh = (conv3x3(l_in, h_out) if stride == 2 else SubpelConv(l_in, h_out, 2)) if l_in else None


class GoTConv(_OctaveLayer):
    """Generalized octave transposed convolution: up-sampling by 2 with sub-pixel convolutions."""

    def __init__(self, in_ch: tuple[int, int], out_ch: tuple[int, int], activation: str | None = None):
        super().__init__(in_ch, out_ch, activation)
        (h_in, l_in), (h_out, l_out) = in_ch, out_ch
        self.hh = SubpelConv(h_in, h_out, 2)
        self.hl = conv3x3(h_in, l_out) if l_out else None  # the high input is at the low output's resolution
        self.ll = SubpelConv(l_in, l_out, 2) if l_in and l_out else None
        self.lh = SubpelConv(l_in, h_out, 4) if l_in else None


class OctaveSequential(nn.ModuleList):
    """Octave layers in a row: forward(high, low=None) -> (high, low)."""

    def forward(self, high: torch.Tensor, low: torch.Tensor | None = None) -> Octave:
        for layer in self:
            high, low = layer(high, low)
        return high, low
