"""The shared skeleton of the context + hyperprior codecs (Minnen et al. 2018, Cheng et al. 2020).

    x -> g_a -> (x gain_q) -> y --------------------------- Q -> y_hat -> (x 1/gain_q) -> g_s -> x_hat
                              |                                |
                              h_a -> z -> Q -> z_hat -> h_s    context(y_hat)
                                                          \\     /
                                                 entropy_parameters -> weights, means, scales of y_hat

Papers differ in the transforms, the context model and the mixture; they are passed in as parts. Gains
(models/base.py) make one network serve several rate points; each training sample draws its own q and lambda.

Coding: z first (section z, a factorized density), then y along the context model's decode schedule (section
y): each step's entropy parameters come from h_s(z_hat) and the values decoded before it.
"""

from collections.abc import Iterator

import torch
from torch import nn

from licodec.context import ContextModel
from licodec.entropy import DiscretizedMixture, FactorizedDensity, MixtureParams
from licodec.entropy.tables import factorized_tables, mixture_tables, table_threads
from licodec.layers import pointwise
from licodec.models.base import CompressionModel, Latents, RDOutput, Stage
from licodec.models.prepared import Prepared


class ContextHyperprior(CompressionModel):
    sections = ("z", "y")
    refinable = True
    coding_networks = ("h_s", "entropy_parameters")

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
        super().__init__(latent_channels, rates)
        self.g_a, self.g_s, self.h_a, self.h_s = g_a, g_s, h_a, h_s
        self.context = context
        self.entropy_parameters = entropy_parameters
        self.mixture = mixture
        self.density_z = FactorizedDensity(hyper_channels)

    # The transforms run channels_last: oneDNN's convolutions are 10-20 % faster in that layout on CPU.

    def analysis(self, x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> gain-scaled latent y, (B, M, H/16, W/16)."""
        y = self.g_a(x.contiguous(memory_format=torch.channels_last)).float()
        return y.contiguous() * self._gain(self.gain, quality)

    def synthesis(self, y_hat: torch.Tensor, quality: torch.Tensor, g_s: nn.Module | None = None) -> torch.Tensor:
        """x_hat from y_hat; ``g_s`` replaces self.g_s (the fast decoder passes its int8 copy, fast/int8.py)."""
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
    ) -> RDOutput:
        """Training (rates under additive noise, or rounded with ``noisy_rate=False``; straight-through
        rounding for what the decoder sees) or, in eval mode, the exact hard-rounded computation that
        compress/decompress reproduce."""
        quality = self.default_quality(x, quality)
        with self.autocast(x, mixed_precision):
            y = self.analysis(x, quality)
        z = self.h_a(y)
        (z_hat, z_rate), (y_hat, y_rate) = self.quantize(z, noisy_rate), self.quantize(y, noisy_rate)
        mp = self.mixture_params(self.h_s(z_hat), self.context(y_hat))
        with self.autocast(x, mixed_precision):
            x_hat = self.synthesis(y_hat, quality).float()
        likelihoods = {"y": self.mixture.likelihood(y_rate, mp), "z": self.density_z.likelihood(z_rate)}
        return RDOutput(x_hat, likelihoods, {"y": y_hat, "z": z_hat}, mixture=mp)

    def latent_bits(self, y: torch.Tensor, rounding=torch.round) -> tuple[torch.Tensor, torch.Tensor]:
        """(bits, y_hat) of latent y as a file codes it: z = h_a(y), both rounded by ``rounding`` (round, or
        ste_round for gradients); bits of y and z summed over the batch."""
        z_hat, y_hat = rounding(self.h_a(y)), rounding(y)
        mp = self.mixture_params(self.h_s(z_hat), self.context(y_hat))
        bits = self.mixture.likelihood(y_hat, mp).log2().sum() + self.density_z.likelihood(z_hat).log2().sum()
        return -bits, y_hat

    # Coding (coding/latent_codec.py walks the stages).

    def coded_latents(self, y: torch.Tensor) -> Latents:
        return {"z": self.h_a(y), "y": y}

    def latent_shapes(self, height: int, width: int) -> dict[str, tuple[int, int, int]]:
        h, w = height // 16, width // 16
        return {"z": (self.density_z.channels, h // 4, w // 4), "y": (self.gain.shape[1], h, w)}

    def synthesis_input(self, latents: Latents) -> torch.Tensor:
        return latents["y"]

    def coding_stages(self, latents: Latents, prepared: Prepared) -> Iterator[Stage]:
        """z whole, then y step by step along the context's schedule; h_s and the entropy parameters run as
        float64 copies (``prepared.networks``) on decoded values."""
        z_shape = tuple(latents["z"].shape[1:])
        with table_threads(latents["z"].numel()):
            yield Stage(0, "z", factorized_tables(prepared.factorized["density_z"], z_shape))
        hyper = prepared.networks["h_s"](latents["z"])
        _, c_h, h, w = hyper.shape
        m, y_buffer = self.gain.shape[1], latents["y"]
        hyper_flat = hyper.reshape(c_h, h * w)
        for positions in self.context.schedule(h, w):
            ctx = self.context.gather(y_buffer, positions)  # (P, C_ctx)
            features = torch.cat([hyper_flat[:, positions].t(), ctx], dim=1)  # (P, C_h + C_ctx)
            params = pointwise(prepared.networks["entropy_parameters"], features).t()[None]  # (1, Pe*M, P)
            with table_threads(m * len(positions)):
                groups = mixture_tables(self.mixture, self.mixture.split(params))
            yield Stage(1, "y", groups, positions)
