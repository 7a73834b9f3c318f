"""The shared skeleton of the context + hyperprior codecs (Minnen et al. 2018, Cheng et al. 2020).

    x -> g_a -> (x gain_q) -> y --------------------------- Q -> y_hat -> (x 1/gain_q) -> g_s -> x_hat
                              |                                |
                              h_a -> z -> Q -> z_hat -> h_s    context(y_hat)
                                                          \\     /
                                                 entropy_parameters -> weights, means, scales of y_hat

Papers differ in the transforms, the context model and the mixture; they are passed in as parts. Gains
(Cui et al. 2021) make one network serve several rate points: quality q scales y by gain[q] before rounding
and by inv_gain[q] after, and each training sample draws its own q and lambda.
"""

from dataclasses import dataclass

import torch
from torch import nn

from licodec.context import ContextModel
from licodec.entropy import DiscretizedMixture, FactorizedDensity, MixtureParams, noise_quantize, ste_round
from licodec.layers import pointwise


@dataclass
class ForwardResult:
    x_hat: torch.Tensor  # (B, 3, H, W)
    y_likelihood: torch.Tensor  # (B, M, H/16, W/16)
    z_likelihood: torch.Tensor  # (B, N, H/64, W/64)
    y_hat: torch.Tensor
    z_hat: torch.Tensor
    mixture: MixtureParams

    def bits(self) -> torch.Tensor:
        """(B,) estimated bits per image: -sum log2 P over y and z."""
        return -(self.y_likelihood.log2().flatten(1).sum(1) + self.z_likelihood.log2().flatten(1).sum(1))


class ContextHyperprior(nn.Module):
    downsampling = 64  # images are padded to a multiple of this
    sections = ("z", "y")  # the entropy-coded streams of a .lic file, in order

    def __init__(
        self,
        g_a: nn.Module,
        g_s: nn.Module,
        h_a: nn.Module,
        h_s: nn.Module,
        context: ContextModel,
        entropy_parameters: nn.Sequential,
        mixture: DiscretizedMixture,
        latent_channels: int,
        hyper_channels: int,
        rates: int = 1,
    ):
        super().__init__()
        self.g_a, self.g_s, self.h_a, self.h_s = g_a, g_s, h_a, h_s
        self.context = context
        self.entropy_parameters = entropy_parameters
        self.mixture = mixture
        self.density_z = FactorizedDensity(hyper_channels)
        self.rates = rates
        # Initial gains spread the rate points two octaves apart in quantization step.
        steps = torch.linspace(-2.0, 0.0, rates) if rates > 1 else torch.zeros(1)
        self.gain = nn.Parameter((2.0**steps)[:, None].repeat(1, latent_channels))
        self.inv_gain = nn.Parameter((2.0**-steps)[:, None].repeat(1, latent_channels))

    def _gain(self, table: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        return table[quality][:, :, None, None]  # (B, M, 1, 1)

    # The transforms run channels_last: oneDNN's convolutions are 10-20 % faster in that layout on CPU.

    def analysis(self, x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> gain-scaled latent y, (B, M, H/16, W/16)."""
        y = self.g_a(x.contiguous(memory_format=torch.channels_last)).float()
        return y.contiguous() * self._gain(self.gain, quality)

    def synthesis(self, y_hat: torch.Tensor, quality: torch.Tensor, g_s: nn.Module | None = None) -> torch.Tensor:
        """x_hat from y_hat; ``g_s`` replaces self.g_s (the fast decoder passes its int8 copy, int8.py)."""
        y = (y_hat * self._gain(self.inv_gain, quality)).contiguous(memory_format=torch.channels_last)
        return (self.g_s if g_s is None else g_s)(y).contiguous()

    def mixture_params(self, hyper: torch.Tensor, ctx: torch.Tensor) -> MixtureParams:
        rows = torch.cat([hyper, ctx], dim=1).permute(0, 2, 3, 1)  # 1x1 convolutions as matrix products
        return self.mixture.split(pointwise(self.entropy_parameters, rows).permute(0, 3, 1, 2))

    def forward(
        self,
        x: torch.Tensor,
        quality: torch.Tensor | None = None,
        mixed_precision: bool = False,
        noisy_rate: bool = True,
    ) -> ForwardResult:
        """Training (rates under additive noise, or rounded with ``noisy_rate=False``; straight-through
        rounding for what the decoder sees) or, in eval mode, the exact hard-rounded computation that
        compress/decompress reproduce."""
        if quality is None:
            quality = torch.full((x.shape[0],), self.rates - 1, dtype=torch.long, device=x.device)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mixed_precision):
            y = self.analysis(x, quality)
        z = self.h_a(y)
        if self.training:
            z_hat, y_hat = ste_round(z), ste_round(y)
            z_rate, y_rate = (noise_quantize(z), noise_quantize(y)) if noisy_rate else (z_hat, y_hat)
        else:
            z_hat, y_hat = torch.round(z), torch.round(y)
            z_rate, y_rate = z_hat, y_hat
        mp = self.mixture_params(self.h_s(z_hat), self.context(y_hat))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mixed_precision):
            x_hat = self.synthesis(y_hat, quality).float()
        return ForwardResult(
            x_hat=x_hat,
            y_likelihood=self.mixture.likelihood(y_rate, mp),
            z_likelihood=self.density_z.likelihood(z_rate),
            y_hat=y_hat,
            z_hat=z_hat,
            mixture=mp,
        )

    def latent_bits(self, y: torch.Tensor, rounding=torch.round) -> tuple[torch.Tensor, torch.Tensor]:
        """(bits, y_hat) of latent y as a file codes it: z = h_a(y), both rounded by ``rounding`` (round, or
        ste_round for gradients); bits of y and z summed over the batch."""
        z_hat, y_hat = rounding(self.h_a(y)), rounding(y)
        mp = self.mixture_params(self.h_s(z_hat), self.context(y_hat))
        bits = self.mixture.likelihood(y_hat, mp).log2().sum() + self.density_z.likelihood(z_hat).log2().sum()
        return -bits, y_hat

    # Coding (licodec/latents.py); every model family offers these two methods to the codec.

    def compress_latents(self, y: torch.Tensor) -> tuple[list[bytes], torch.Tensor]:
        from licodec.latents import compress_latents

        return compress_latents(self, y)

    def decompress_latents(self, sections: list[bytes], height: int, width: int) -> torch.Tensor:
        """Sections and the padded image size -> y_hat."""
        from licodec.latents import decompress_latents

        return decompress_latents(self, sections, (self.gain.shape[1], height // 16, width // 16))
