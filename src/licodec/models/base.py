"""The contract every model family implements, and what the families share: variable-rate gains, the default
quality, quantization for training and coding, autocast on the model's own device.

The codec, refinement, evaluation, training and the latent coder call only what ``CompressionModel`` declares;
none of them asks which family it holds.

    analysis(x, q)       -> y: the gain-scaled latent(s) the encoder rounds (a tensor, or a tuple of them)
    synthesis(y_hat, q)  -> x_hat
    forward(x, q)        -> RDOutput: x_hat, likelihoods and rounded latents by name, auxiliary distortions
    coded_latents(y)     -> {name: unrounded latent} for every latent the file holds (y and its hyper-latents)
    latent_bits(y)       -> (bits of the file's latents, y_hat): the rate the coder should reach
    latent_shapes(H, W)  -> {name: (C, h, w)} for a padded image size, in the same names
    coding_stages(lat, prepared) -> the stages of entropy coding in decode order (coding/latent_codec.py walks them)
    synthesis_input(lat) -> the y_hat that synthesis takes, from the decoded latents
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

from licodec.entropy import MixtureParams, noise_quantize, ste_round
from licodec.entropy.tables import TableGroup

Latents = dict[str, torch.Tensor]  # named latents: "y", "z" / "y_h", "y_l", "z1_h", ...


@dataclass
class RDOutput:
    """What a forward pass gives the rate-distortion objective."""

    x_hat: torch.Tensor  # (B, 3, H, W)
    likelihoods: Latents  # per coded latent, same shapes as the latents
    latents: Latents  # the rounded latents the decoder sees, by the same names
    mixture: MixtureParams | None = None  # y's entropy parameters, where the model has one latent y
    # Extra distortion terms: (weight, reconstruction, its target), e.g. the octave codec's information fidelity
    auxiliary: list[tuple[float, torch.Tensor, torch.Tensor]] = field(default_factory=list)

    def bits(self) -> torch.Tensor:
        """(B,) estimated bits per image: -sum log2 P over every latent."""
        return -sum(p.log2().flatten(1).sum(1) for p in self.likelihoods.values())

    def y_hats(self) -> list[torch.Tensor]:
        """The image latents (y, or y_h and y_l), without the hyper-latents."""
        return [v for k, v in self.latents.items() if k.startswith("y")]


@dataclass
class Stage:
    """One step of entropy coding: the values of ``latent`` at ``positions`` (flat indices into its (h, w);
    None: all of it), in section ``section`` of the file, with one table group per channel-major run."""

    section: int
    latent: str
    groups: list[TableGroup]
    positions: torch.Tensor | None = None


class CompressionModel(nn.Module):
    """Base of every family. ``rates`` gain vectors (Cui et al. 2021) make one network serve several rate
    points: quality q scales the latent by gain[q] before rounding and by inv_gain[q] after."""

    downsampling = 64  # images are padded to a multiple of this
    sections: tuple[str, ...] = ()  # the entropy-coded streams of a .lic file, in order
    refinable = False  # encoder-side latent refinement (refine.py) applies: the model offers latent_bits
    coding_networks: tuple[str, ...] = ()  # submodules the coder runs in float64 (models/prepared.py)
    config: dict  # set by the registry: {"arch": name, **options}
    objective: dict | None = None  # {"metric", "lambdas"} the weights were trained for (set when loaded)

    def __init__(self, latent_channels: int, rates: int):
        super().__init__()
        self.rates = rates
        # Initial gains spread the rate points two octaves apart in quantization step.
        steps = torch.linspace(-2.0, 0.0, rates) if rates > 1 else torch.zeros(1)
        self.gain = nn.Parameter((2.0**steps)[:, None].repeat(1, latent_channels))
        self.inv_gain = nn.Parameter((2.0**-steps)[:, None].repeat(1, latent_channels))

    def _gain(self, table: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        return table[quality][:, :, None, None]  # (B, M, 1, 1)

    def default_quality(self, x: torch.Tensor, quality: torch.Tensor | None) -> torch.Tensor:
        if quality is None:
            return torch.full((x.shape[0],), self.rates - 1, dtype=torch.long, device=x.device)
        return quality

    @staticmethod
    def autocast(x: torch.Tensor, enabled: bool):
        """bfloat16 autocast of the transforms on whatever device ``x`` lives (CPU or CUDA)."""
        return torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=enabled)

    def quantize(self, t: torch.Tensor, noisy_rate: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """(what the decoder sees, what the rate term sees): straight-through rounding and additive noise in
        training (or rounding for both, ``noisy_rate=False``); hard rounding in eval mode."""
        if not self.training:
            return torch.round(t), torch.round(t)
        return ste_round(t), (noise_quantize(t) if noisy_rate else ste_round(t))

    # The contract (module docstring); families implement these.

    def analysis(self, x: torch.Tensor, quality: torch.Tensor):
        raise NotImplementedError

    def synthesis(self, y_hat, quality: torch.Tensor, g_s: nn.Module | None = None) -> torch.Tensor:
        raise NotImplementedError

    def latent_bits(self, y, rounding=torch.round) -> tuple[torch.Tensor, object]:
        """(bits of the latents a file holds for gain-scaled latent y, summed over the batch; y_hat), every
        latent rounded by ``rounding`` (``ste_round`` for gradients): what the entropy coder should reach."""
        raise NotImplementedError

    def coded_latents(self, y) -> Latents:
        raise NotImplementedError

    def latent_shapes(self, height: int, width: int) -> dict[str, tuple[int, int, int]]:
        raise NotImplementedError

    def coding_stages(self, latents: Latents, prepared) -> Iterator[Stage]:
        """``prepared``: what coding derives from the weights (models/prepared.py)."""
        raise NotImplementedError

    def synthesis_input(self, latents: Latents):
        raise NotImplementedError
