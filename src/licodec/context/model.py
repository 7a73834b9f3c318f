"""Context models: a masked convolution over decoded latents plus the schedule that makes it causal.

Training runs the masked convolution over the whole (rounded) latent at once. Coding runs ``gather`` at the
positions of one schedule step on a buffer holding only what is decoded so far: the encoder fills the buffer
exactly as the decoder does, so both compute identical parameters.
"""

import torch

from licodec.context import schedules
from licodec.layers import MaskedConv2d


class ContextModel(torch.nn.Module):
    """Base: a masked conv from M latent channels to ``out_ch`` context features."""

    def __init__(self, channels: int, out_ch: int, mask: torch.Tensor):
        super().__init__()
        self.conv = MaskedConv2d(channels, out_ch, mask)

    def schedule(self, height: int, width: int) -> list[torch.Tensor]:
        raise NotImplementedError

    def forward(self, y_hat: torch.Tensor) -> torch.Tensor:
        """(B, M, H, W) rounded latent -> (B, out_ch, H, W) context features for training."""
        return self.conv(y_hat)

    def gather(self, y_buffer: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Context features at ``positions`` from a (1, M, H, W) buffer of decoded values -> (P, out_ch).

        Only the taps the mask keeps are gathered, and the result is one matrix product.
        """
        conv = self.conv
        k = conv.kernel_size[0]
        pad = k // 2
        _, m, h, w = y_buffer.shape
        padded = torch.nn.functional.pad(y_buffer[0], (pad, pad, pad, pad)).reshape(m, -1)
        taps = torch.nonzero(conv.mask[0, 0].bool())  # (T, 2) offsets (di, dj) into the k x k window
        i, j = positions // w, positions % w
        index = (i[:, None] + taps[:, 0]) * (w + 2 * pad) + (j[:, None] + taps[:, 1])  # (P, T)
        patches = padded[:, index].permute(1, 0, 2).reshape(len(positions), -1)  # (P, M*T)
        weight = conv.weight.to(y_buffer.dtype)[:, :, taps[:, 0], taps[:, 1]].reshape(conv.out_channels, -1)
        return torch.addmm(conv.bias.to(y_buffer.dtype), patches, weight.t())


class SerialContext(ContextModel):
    """Cheng 2020 / Minnen 2018: 5x5 type-A causal mask, decoded along the 3h + w wavefront."""

    def __init__(self, channels: int, out_ch: int, k: int = 5):
        super().__init__(channels, out_ch, schedules.causal_mask(k))

    def schedule(self, height: int, width: int) -> list[torch.Tensor]:
        return schedules.wavefront(height, width)


class CheckerboardContext(ContextModel):
    """He et al. 2021: anchors see no context, non-anchors see their decoded anchor neighbours."""

    def __init__(self, channels: int, out_ch: int, k: int = 5):
        super().__init__(channels, out_ch, schedules.checkerboard_mask(k))

    def schedule(self, height: int, width: int) -> list[torch.Tensor]:
        return schedules.checkerboard(height, width)

    def forward(self, y_hat: torch.Tensor) -> torch.Tensor:
        # Non-anchors are zeroed, so anchors see only the bias (as in decoding, where nothing is known yet)
        # and non-anchors see exactly the anchors around them.
        anchors = schedules.anchor_map(*y_hat.shape[-2:]).to(y_hat.device, y_hat.dtype)
        return self.conv(y_hat * anchors)
