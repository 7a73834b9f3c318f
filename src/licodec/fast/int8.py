"""int8 synthesis: the decoder's heavy convolutions on oneDNN's int8 kernels (`decode --fast`).

On this project's CPU (AVX-512 with VNNI and BF16, no AMX) a 3x3 convolution of 128 channels runs at about
230 GMAC/s in bfloat16 and 370-440 in int8 (benchmarks/decode_floor.py), and the synthesis transform is
three quarters of a checkerboard decode. So the fast decoder quantizes the 3x3 convolutions with at least
128 input and output channels (below that int8 was measured slower, and the 1x1 and output convolutions
stay in bfloat16):

- weights: int8, symmetric, one scale per output channel, quantized when the int8 copy is made (or per
  call for an equalized input, below);
- activations: uint8, one scale and zero point per tensor, taken from that very tensor's minimum and
  maximum at run time (no calibration set, so nothing can fall outside the range);
- unequal channels: where the input's channels span very different ranges (the features next to the
  dequantized latent, whose channels carry their own gains), one scale per tensor leaves the small
  channels a few levels. When the largest channel's max |x| exceeds UNEQUAL times the mean, the input is
  divided per channel by s_c = x_max_c^ALPHA / w_max_c^(1 - ALPHA) (max |x| and max |w| of input channel
  c) and the weights are multiplied by it before they are quantized (SmoothQuant, Xiao et al. 2023): the
  same product, the quantization error shared between the two. The weights are then quantized per call
  (2-5 ms per convolution; grouped convolutions are left in bfloat16);
- products are summed in int32 by oneDNN and leave the kernel as bfloat16 with the bias added.

Sub-pixel convolutions (C -> 4C, then pixel shuffle) run as four C -> C convolutions, one per sub-pixel
position, interleaved into the upsampled image: oneDNN's int8 kernel was measured 1.7x faster on four
128-channel outputs than on one 512-channel output. Only the reconstruction changes (docs/results.md, "Speed", gives
the cost on the shipped model); the latents, and so the file, are the same.
"""

import copy
import functools

import torch
from torch import nn

from licodec.layers import SubpelConv
from licodec.models.prepared import Prepared, prepare

MIN_CHANNELS = 128  # int8 is faster than bfloat16 only for 3x3 convolutions at least this wide (measured)
UNEQUAL = 4.0  # equalize an input whose largest channel max |x| is more than this times the mean one
ALPHA = 0.5  # how much of the channels' inequality moves from the activations into the weights


@functools.cache
def int8_available() -> bool:
    """Whether this PyTorch build runs oneDNN's int8 convolution and the CPU has VNNI. Without VNNI, oneDNN
    sums pairs of u8 x s8 products in 16 bits, where 255 * 127 * 2 saturates: a silently wrong image."""
    vnni = getattr(torch.cpu, "_is_vnni_supported", None)
    if vnni is None or not vnni():
        return False
    try:
        conv = nn.Conv2d(4, 4, 3, padding=1)
        with torch.no_grad():  # fixed values: probing must not draw from the caller's random numbers
            conv.weight.fill_(0.5), conv.bias.zero_()
        out = Int8Conv2d(conv)(torch.ones(1, 4, 5, 5))
        return out.shape == (1, 4, 5, 5) and abs(float(out[0, 0, 2, 2]) - 18.0) < 0.5
    except (RuntimeError, AttributeError, NotImplementedError):
        return False


def quantize_weight(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """int8 weights in [-127, 127] and their per-output-channel float32 scales."""
    w = weight.detach().float()
    scale = (w.abs().amax(dim=(1, 2, 3)) / 127).clamp_min(1e-12)
    return torch.round(w / scale[:, None, None, None]).clamp(-127, 127).to(torch.int8), scale


def channel_ranges(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel minimum and maximum (float32) of a channels_last tensor, with 0 included."""
    rows = x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])  # a view: no copy
    # amin and amax: 15x faster here than aminmax(dim=0), 2.5x the time of one whole-tensor aminmax.
    lo, hi = rows.amin(dim=0).float().clamp(max=0.0), rows.amax(dim=0).float().clamp(min=0.0)
    if not (torch.isfinite(lo).all() and torch.isfinite(hi).all()):
        raise FloatingPointError("int8 synthesis: an activation is not finite")
    return lo, hi


def quantize_activation(
    x: torch.Tensor, channel_scale: torch.Tensor | None = None, ranges: tuple | None = None
) -> tuple[torch.Tensor, float, int]:
    """uint8 codes of a channels_last tensor (divided per channel by ``channel_scale`` if given), with the
    scale and zero point of its own range (0 included). ``ranges``: x's channel_ranges, if already known."""
    lo, hi = channel_ranges(x) if ranges is None else ranges
    if channel_scale is not None:
        lo, hi = lo / channel_scale, hi / channel_scale
    lo, hi = float(lo.min()), float(hi.max())
    scale = max((hi - lo) / 255, 1e-12)
    zero_point = min(max(round(-lo / scale), 0), 255)
    # zero_point + x / scale in float32 (a bfloat16 sum would round once more on store), then to integers.
    if channel_scale is None:
        codes = torch.add(torch.tensor(float(zero_point)), x.float(), alpha=1 / scale)
    else:
        multiplier = (1 / (scale * channel_scale))[:, None, None]
        codes = torch.addcmul(torch.tensor(float(zero_point)), x.float(), multiplier)
    return codes.round_().clamp_(0, 255).to(torch.uint8), scale, zero_point


class Int8Conv2d(nn.Module):
    """A trained Conv2d as uint8 x int8 -> bfloat16, its output channels optionally split in ``parts``
    interleaved groups (channel i goes to part i % parts) that run as separate convolutions."""

    def __init__(self, conv: nn.Conv2d, parts: int = 1):
        super().__init__()
        self.weight = conv.weight.detach().float()
        self.bias = None if conv.bias is None else conv.bias.detach().float()
        self.w_max = self.weight.abs().amax(dim=(0, 2, 3)).clamp_min(1e-12)  # per input channel
        self.geometry = (list(conv.stride), list(conv.padding), list(conv.dilation), conv.groups)
        self.n_parts = parts
        self.parts = self._pack(self.weight)

    def _pack(self, weight: torch.Tensor) -> list[tuple]:
        q_weight, w_scale = quantize_weight(weight)
        parts = []
        for i in range(self.n_parts):
            w_i, s_i = q_weight[i :: self.n_parts].contiguous(), w_scale[i :: self.n_parts].contiguous()
            packed = torch.ops.onednn.qconv_prepack(w_i, s_i, 1.0, 0, *self.geometry, None)
            zero_points = torch.zeros(len(s_i), dtype=torch.int32)
            bias = None if self.bias is None else self.bias[i :: self.n_parts].contiguous()
            parts.append((packed, s_i, zero_points, bias))
        return parts

    def run(self, x: torch.Tensor) -> list[torch.Tensor]:
        """One bfloat16 output per part, channels_last."""
        x = x.contiguous(memory_format=torch.channels_last)
        lo, hi = channel_ranges(x)
        x_max = torch.maximum(-lo, hi)
        if x_max.max() > UNEQUAL * x_max.mean():
            s = x_max.clamp_min(1e-6 * float(x_max.max())) ** ALPHA / self.w_max ** (1 - ALPHA)
            s = s / s.max()
            parts = self._pack(self.weight * s[None, :, None, None])
            codes, scale, zero_point = quantize_activation(x, s, (lo, hi))
        else:
            parts = self.parts
            codes, scale, zero_point = quantize_activation(x, ranges=(lo, hi))
        return [
            torch.ops.onednn.qconv2d_pointwise(
                codes, scale, zero_point, packed, w_scale, w_zero_points, bias, *self.geometry,
                1.0, 0, torch.bfloat16, "none", [], "",
            )
            for packed, w_scale, w_zero_points, bias in parts
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
        and conv.padding_mode == "zeros"
        and conv.groups == 1
        and isinstance(conv.padding, tuple)
        and conv.in_channels >= min_channels
        and conv.out_channels >= min_channels * outputs_per_channel
    )


def _replace(module: nn.Module, min_channels: int) -> None:
    """Swap heavy convolutions for int8 ones, not descending into what was swapped."""
    for name, child in module.named_children():
        if isinstance(child, SubpelConv) and child[1].upscale_factor == 2 and _heavy(child[0], min_channels, 4):
            setattr(module, name, Int8SubpelConv(child))
        elif _heavy(child, min_channels):
            setattr(module, name, Int8Conv2d(child))
        else:
            _replace(child, min_channels)


def int8_copy(module: nn.Module, min_channels: int | None = None) -> nn.Module:
    """A copy of ``module`` whose 3x3 convolutions of at least ``min_channels`` (default MIN_CHANNELS) in and
    out run in int8."""
    min_channels = MIN_CHANNELS if min_channels is None else min_channels
    module = copy.deepcopy(module)
    if _heavy(module, min_channels):
        return Int8Conv2d(module).eval()
    _replace(module, min_channels)
    return module.eval()


def int8_synthesis(model: nn.Module, prepared: Prepared | None = None) -> nn.Module:
    """The int8 copy of ``model.g_s``: made once for frozen weights (models/prepared.py), else for this call.
    ``prepared``: the model's Prepared, if the caller holds it already."""
    return (prepared or prepare(model)).derive(("int8", MIN_CHANNELS), lambda: int8_copy(model.g_s))
