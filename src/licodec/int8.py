"""int8 synthesis: the decoder's heavy convolutions on oneDNN's int8 kernels (`decode --fast`).

On this project's CPU (AVX-512 with VNNI and BF16, no AMX) a 3x3 convolution of 128 channels runs at about
230 GMAC/s in bfloat16 and 370-440 in int8 (benchmarks/decode_floor.py), and the synthesis transform is
three quarters of a checkerboard decode. So the fast decoder quantizes the 3x3 convolutions with at least
128 input and output channels (below that int8 was measured slower, and the 1x1 and output convolutions
stay in bfloat16):

- weights: int8, symmetric, one scale per output channel, fixed when the int8 copy is made;
- activations: uint8, one scale and zero point per tensor, taken from that very tensor's minimum and
  maximum at run time (no calibration set, so nothing can fall outside the range);
- products are summed in int32 by oneDNN and leave the kernel as bfloat16 with the bias added.

Sub-pixel convolutions (C -> 4C, then pixel shuffle) run as four C -> C convolutions, one per sub-pixel
position, interleaved into the upsampled image: oneDNN's int8 kernel was measured 1.7x faster on four
128-channel outputs than on one 512-channel output. Only the reconstruction changes (on the shipped model
by a few hundredths of a dB, see README "Speed"); the latents, and so the file, are the same.
"""

import copy
import functools
import weakref

import torch
from torch import nn

from licodec.layers import SubpelConv

MIN_CHANNELS = 128  # int8 is faster than bfloat16 only for 3x3 convolutions at least this wide (measured)


@functools.cache
def int8_available() -> bool:
    """Whether this PyTorch build and CPU run oneDNN's int8 convolution (x86 builds do)."""
    try:
        conv = Int8Conv2d(nn.Conv2d(4, 4, 3, padding=1))
        return conv(torch.randn(1, 4, 5, 5)).shape == (1, 4, 5, 5)
    except (RuntimeError, AttributeError, NotImplementedError):
        return False


def quantize_weight(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """int8 weights in [-127, 127] and their per-output-channel float32 scales."""
    w = weight.detach().float()
    scale = (w.abs().amax(dim=(1, 2, 3)) / 127).clamp_min(1e-12)
    return torch.round(w / scale[:, None, None, None]).clamp(-127, 127).to(torch.int8), scale


def quantize_activation(x: torch.Tensor) -> tuple[torch.Tensor, float, int]:
    """uint8 codes of a channels_last tensor, with the scale and zero point of its own range (0 included)."""
    lo, hi = torch.aminmax(x.permute(0, 2, 3, 1).reshape(-1))  # a view in channels_last: no copy
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = max((hi - lo) / 255, 1e-12)
    zero_point = min(max(round(-lo / scale), 0), 255)
    # zero_point + x / scale in one kernel (float arithmetic, one rounding on store), then to integers.
    codes = torch.add(torch.tensor(float(zero_point)), x, alpha=1 / scale)
    return codes.round_().clamp_(0, 255).to(torch.uint8), scale, zero_point


class Int8Conv2d(nn.Module):
    """A trained Conv2d as uint8 x int8 -> bfloat16, its output channels optionally split in ``parts``
    interleaved groups (channel i goes to part i % parts) that run as separate convolutions."""

    def __init__(self, conv: nn.Conv2d, parts: int = 1):
        super().__init__()
        q_weight, w_scale = quantize_weight(conv.weight)
        bias = None if conv.bias is None else conv.bias.detach().float()
        self.geometry = (list(conv.stride), list(conv.padding), list(conv.dilation), conv.groups)
        self.parts = []
        for i in range(parts):
            w_i, s_i = q_weight[i::parts].contiguous(), w_scale[i::parts].contiguous()
            packed = torch.ops.onednn.qconv_prepack(w_i, s_i, 1.0, 0, *self.geometry, None)
            zero_points = torch.zeros(len(s_i), dtype=torch.int32)
            self.parts.append((packed, s_i, zero_points, None if bias is None else bias[i::parts].contiguous()))

    def run(self, x: torch.Tensor) -> list[torch.Tensor]:
        """One bfloat16 output per part, channels_last."""
        codes, scale, zero_point = quantize_activation(x.contiguous(memory_format=torch.channels_last))
        return [
            torch.ops.onednn.qconv2d_pointwise(
                codes, scale, zero_point, packed, w_scale, w_zero_points, bias, *self.geometry,
                1.0, 0, torch.bfloat16, "none", [], "",
            )
            for packed, w_scale, w_zero_points, bias in self.parts
        ]  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x)[0]


class Int8SubpelConv(nn.Module):
    """SubpelConv (conv to 4C channels, pixel shuffle by 2) as four int8 convolutions to C channels, one per
    sub-pixel offset (dy, dx), interleaved: out[c, 2h + dy, 2w + dx] = part_{2 dy + dx}[c, h, w]."""

    def __init__(self, subpel: SubpelConv):
        super().__init__()
        self.conv = Int8Conv2d(subpel[0], parts=4)  # pixel shuffle reads channel 4c + 2dy + dx

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = [part.permute(0, 2, 3, 1) for part in self.conv.run(x)]  # (n, h, w, c) views
        n, h, w, c = p[0].shape
        rows = [torch.stack(p[0:2], dim=3), torch.stack(p[2:4], dim=3)]  # (n, h, w, dx, c) for dy = 0, 1
        return torch.stack(rows, dim=2).reshape(n, 2 * h, 2 * w, c).permute(0, 3, 1, 2)


def _heavy(conv: nn.Module, min_channels: int, outputs_per_channel: int = 1) -> bool:
    return (
        type(conv) is nn.Conv2d
        and conv.kernel_size == (3, 3)
        and conv.in_channels >= min_channels
        and conv.out_channels >= min_channels * outputs_per_channel
    )


def int8_copy(module: nn.Module, min_channels: int | None = None) -> nn.Module:
    """A copy of ``module`` whose 3x3 convolutions of at least ``min_channels`` (default MIN_CHANNELS) in and
    out run in int8."""
    min_channels = MIN_CHANNELS if min_channels is None else min_channels
    module = copy.deepcopy(module)
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, SubpelConv) and child[1].upscale_factor == 2 and _heavy(child[0], min_channels, 4):
                setattr(parent, name, Int8SubpelConv(child))
            elif _heavy(child, min_channels):
                setattr(parent, name, Int8Conv2d(child))
    return module.eval()


_copies: "weakref.WeakKeyDictionary[nn.Module, tuple[tuple[int, ...], nn.Module]]" = weakref.WeakKeyDictionary()


def int8_synthesis(model: nn.Module) -> nn.Module:
    """The int8 copy of ``model.g_s``, made once per model and remade if its weights change in place."""
    versions = tuple(p._version for p in model.g_s.parameters())
    cached = _copies.get(model)
    if cached is None or cached[0] != versions:
        cached = (versions, int8_copy(model.g_s))
        _copies[model] = cached
    return cached[1]
