"""Fu, Liang, Li, Akbari et al.: Learned Image Compression with Generalized Octave Convolution and
Cross-Resolution Parameter Estimation (arXiv 2209.03353).

The latent is split by generalized octave convolutions (licodec/octave.py) into a high-resolution part y_h
(H/16) and a low-resolution part y_l (H/32, a share alpha of the channels). There is no autoregressive
context: a second hyper layer models the first one, and the low-resolution latent informs the parameters of
the high-resolution one (cross-resolution parameter estimation, CRPE), so decoding is four parallel steps.

    x ── g_a ──> (y_h, y_l) ── Q ──> (y_h_hat, y_l_hat) ── g_s ──> x_hat
                    │                  ▲        ▲
                   h_a1               │        │ 2. y_h ~ ep_h[hyper_h, up(hyper_l), crpe(y_l_hat)]
                    ▼                  │ 1. y_l ~ ep_l[hyper_l, down(hyper_h)]
                 (z1_h, z1_l) ── Q ── h_s1 ──> (hyper_h, hyper_l)
                    │         ▲
                   h_a2       │ z1 ~ single Gaussian, parameters from h_s2(z2_hat)
                    ▼         │
                 (z2_h, z2_l) ── Q ── h_s2          z2 ~ factorized density per channel

Decode order: z2, z1, y_l, y_h (sections z2, z1, y of the .lic file). y uses the paper's Gaussian mixture
(K components). Training adds the information-fidelity term (see ``forward``): the image decoded from the
low-resolution latent alone (y_h set to zero) should match the image's low-pass version, which steers the
low-frequency content, and its share of the bit stream, into y_l. Its weight ``fidelity`` is our choice; the
paper's weight and the exact low-pass are not reproduced here (0 switches the term off).

Our reading where the paper is terse: GoConv/GoTConv layers with GDN/IGDN inside each branch, 3x3 kernels,
sub-pixel up-sampling; h_a1 and h_a2 each halve the resolution twice; CRPE is a sub-pixel convolution of
y_l_hat concatenated to y_h's hyper features; gains per rate point as in the other models.
"""

import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from licodec.entropy import DiscretizedMixture, FactorizedDensity, MixtureParams
from licodec.entropy.tables import factorized_tables, mixture_tables, table_threads
from licodec.layers import SubpelConv, conv1x1, conv3x3
from licodec.layers.octave import GoConv, GoTConv, OctaveSequential, crop_to, octave_channels
from licodec.models.base import CompressionModel, Latents, RDOutput, Stage
from licodec.models.prepared import Prepared
from licodec.models.registry import register

Pair = tuple[torch.Tensor, torch.Tensor]


def low_pass(x: torch.Tensor) -> torch.Tensor:
    """What the low-resolution latent alone should reconstruct: x averaged over 4x4 blocks, up-sampled."""
    return F.interpolate(F.avg_pool2d(x, 4, ceil_mode=True), scale_factor=4, mode="bilinear")[
        ..., : x.shape[-2], : x.shape[-1]
    ]


def _pointwise(c_in: int, c_out: int) -> nn.Sequential:
    mid = (c_in + c_out) // 2
    return nn.Sequential(conv1x1(c_in, mid), nn.LeakyReLU(), conv1x1(mid, mid), nn.LeakyReLU(), conv1x1(mid, c_out))


def _scaled(ch: tuple[int, int], factor: float) -> tuple[int, int]:
    return int(ch[0] * factor), int(ch[1] * factor)


class OctaveEntropyModel(nn.Module):
    """Everything that turns decoded values into the next level's distribution parameters: h_s2, h_s1, the
    cross-resolution paths and the entropy-parameter networks. The coder runs a float64 copy of it."""

    def __init__(self, n: tuple[int, int], K: int):
        super().__init__()
        self.mixture = DiscretizedMixture.gaussian(K)
        self.z1_model = DiscretizedMixture.gaussian(1)
        hyper = _scaled(n, 2)  # y's hyper features, as Cheng 2020's 2N
        self.h_s1 = OctaveSequential([
            GoTConv(n, n, "leaky"), GoTConv(n, _scaled(n, 1.5), "leaky"), GoConv(_scaled(n, 1.5), hyper, 1),
        ])  # fmt: skip
        z1_params = _scaled(n, self.z1_model.params_per_element)
        self.h_s2 = OctaveSequential([GoTConv(n, n, "leaky"), GoTConv(n, n, "leaky"), GoConv(n, z1_params, 1)])
        p = self.mixture.params_per_element
        self.hyper_down = conv3x3(hyper[0], n[1], stride=2)  # high-resolution hyper features -> y_l
        self.hyper_up = SubpelConv(hyper[1], n[0], 2)  # low-resolution hyper features -> y_h
        self.crpe = SubpelConv(n[1], n[0], 2)  # decoded y_l_hat -> y_h: cross-resolution parameter estimation
        self.ep_l = _pointwise(hyper[1] + n[1], p * n[1])
        self.ep_h = _pointwise(hyper[0] + 2 * n[0], p * n[0])

    def z1_params(self, z2_hat: tuple[torch.Tensor, torch.Tensor], z1_like: tuple[torch.Tensor, torch.Tensor]):
        p_h, p_l = self.h_s2(*z2_hat)
        return self.z1_model.split(crop_to(p_h, z1_like[0])), self.z1_model.split(crop_to(p_l, z1_like[1]))

    def hyper_features(self, z1_hat, y_like) -> tuple[torch.Tensor, torch.Tensor]:
        f_h, f_l = self.h_s1(*z1_hat)
        return crop_to(f_h, y_like[0]), crop_to(f_l, y_like[1])

    def y_l_params(self, hyper: tuple[torch.Tensor, torch.Tensor]) -> MixtureParams:
        f_h, f_l = hyper
        return self.mixture.split(self.ep_l(torch.cat([f_l, crop_to(self.hyper_down(f_h), f_l)], dim=1)))

    def y_h_params(self, hyper: tuple[torch.Tensor, torch.Tensor], y_l_hat: torch.Tensor) -> MixtureParams:
        f_h, f_l = hyper
        cross = [crop_to(self.hyper_up(f_l), f_h), crop_to(self.crpe(y_l_hat), f_h)]
        return self.mixture.split(self.ep_h(torch.cat([f_h, *cross], dim=1)))


class OctaveHyperprior(CompressionModel):
    sections = ("z2", "z1", "y")
    coding_networks = ("entropy",)

    def __init__(self, N: int, K: int, rates: int, alpha: float, fidelity: float):
        if not 0 < alpha < 1:
            raise ValueError("alpha must lie strictly between 0 and 1")
        n = octave_channels(N, alpha)
        super().__init__(sum(n), rates)
        image = (3, 0)
        self.m = n  # latent channels (high, low)
        self.fidelity = fidelity
        self.g_a = OctaveSequential([
            GoConv(image, n, 2, "gdn"), GoConv(n, n, 2, "gdn"), GoConv(n, n, 2, "gdn"), GoConv(n, n, 2),
        ])  # fmt: skip
        self.g_s = OctaveSequential([
            GoTConv(n, n, "igdn"), GoTConv(n, n, "igdn"), GoTConv(n, n, "igdn"), GoTConv(n, image),
        ])  # fmt: skip
        self.h_a1 = OctaveSequential([GoConv(n, n, 1, "leaky"), GoConv(n, n, 2, "leaky"), GoConv(n, n, 2)])
        self.h_a2 = OctaveSequential([GoConv(n, n, 1, "leaky"), GoConv(n, n, 2, "leaky"), GoConv(n, n, 2)])
        self.density_z2_h, self.density_z2_l = FactorizedDensity(n[0]), FactorizedDensity(n[1])
        self.entropy = OctaveEntropyModel(n, K)

    # -- the transforms ------------------------------------------------------------------------------------

    def _gains(self, table: torch.Tensor, quality: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g = self._gain(table, quality)
        return g[:, : self.m[0]], g[:, self.m[0] :]

    def analysis(self, x: torch.Tensor, quality: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, H, W) -> gain-scaled (y_h (B, M_h, H/16, W/16), y_l (B, M_l, H/32, W/32))."""
        y_h, y_l = self.g_a(x.contiguous(memory_format=torch.channels_last))  # oneDNN is faster so on CPU
        g_h, g_l = self._gains(self.gain, quality)
        return y_h.float().contiguous() * g_h, y_l.float().contiguous() * g_l

    def synthesis(
        self, y_hat: tuple[torch.Tensor, torch.Tensor], quality: torch.Tensor, g_s: nn.Module | None = None
    ) -> torch.Tensor:
        g_h, g_l = self._gains(self.inv_gain, quality)
        high = (y_hat[0] * g_h).contiguous(memory_format=torch.channels_last)
        low = (y_hat[1] * g_l).contiguous(memory_format=torch.channels_last)
        return (self.g_s if g_s is None else g_s)(high, low)[0].contiguous()

    def latent_shapes(self, height: int, width: int) -> dict[str, tuple[int, int, int]]:
        """(C, h, w) of every latent for a padded image size; each stride-2 step rounds up."""

        def down(size: tuple[int, int], times: int) -> tuple[int, int]:
            h, w = size
            for _ in range(times):
                h, w = -(-h // 2), -(-w // 2)
            return h, w

        y_h = (height // 16, width // 16)
        y_l, z1_h = down(y_h, 1), down(y_h, 2)
        z1_l, z2_h = down(z1_h, 1), down(z1_h, 2)
        z2_l = down(z2_h, 1)
        m_h, m_l = self.m
        return {"y_h": (m_h, *y_h), "y_l": (m_l, *y_l), "z1_h": (m_h, *z1_h), "z1_l": (m_l, *z1_l),
                "z2_h": (m_h, *z2_h), "z2_l": (m_l, *z2_l)}  # fmt: skip

    def forward(self, x: torch.Tensor, quality: torch.Tensor | None = None, mixed_precision: bool = False,
                noisy_rate: bool = True) -> RDOutput:  # fmt: skip
        """Training (rates under additive noise or straight-through rounding) or, in eval mode, the exact
        hard-rounded computation that compress/decompress reproduce. In training with ``fidelity`` > 0, the
        image decoded from y_l alone is an auxiliary reconstruction of the low-passed image."""
        quality = self.default_quality(x, quality)
        with self.autocast(x, mixed_precision):
            y = self.analysis(x, quality)
        hat, likelihoods = self._rates(y, lambda t: self.quantize(t, noisy_rate))
        auxiliary = []
        with self.autocast(x, mixed_precision):
            x_hat = self.synthesis((hat["y_h"], hat["y_l"]), quality).float()
            if self.training and self.fidelity > 0:
                x_hat_low = self.synthesis((torch.zeros_like(hat["y_h"]), hat["y_l"]), quality).float()
                auxiliary.append((self.fidelity, x_hat_low, low_pass(x)))
        return RDOutput(x_hat, likelihoods, hat, auxiliary=auxiliary)

    def _rates(self, y: Pair, quantize) -> tuple[Latents, Latents]:
        """(rounded latents, likelihoods) of every latent, ``quantize(t)`` giving (what the decoder sees, what
        the rate term sees)."""
        latents = self.coded_latents(y)
        quantized = {k: quantize(v) for k, v in latents.items()}
        hat = {k: v[0] for k, v in quantized.items()}
        rate = {k: v[1] for k, v in quantized.items()}
        e = self.entropy
        mp_z1_h, mp_z1_l = e.z1_params((hat["z2_h"], hat["z2_l"]), (latents["z1_h"], latents["z1_l"]))
        hyper = e.hyper_features((hat["z1_h"], hat["z1_l"]), y)
        likelihoods = {
            "y_l": e.mixture.likelihood(rate["y_l"], e.y_l_params(hyper)),
            "y_h": e.mixture.likelihood(rate["y_h"], e.y_h_params(hyper, hat["y_l"])),
            "z1_h": e.z1_model.likelihood(rate["z1_h"], mp_z1_h),
            "z1_l": e.z1_model.likelihood(rate["z1_l"], mp_z1_l),
            "z2_h": self.density_z2_h.likelihood(rate["z2_h"]),
            "z2_l": self.density_z2_l.likelihood(rate["z2_l"]),
        }
        return hat, likelihoods

    def latent_bits(self, y: Pair, rounding=torch.round) -> tuple[torch.Tensor, Pair]:
        """(bits, y_hat) of the latents as a file codes them, summed over the batch."""
        hat, likelihoods = self._rates(y, lambda t: (rounding(t), rounding(t)))
        return -sum(p.log2().sum() for p in likelihoods.values()), (hat["y_h"], hat["y_l"])

    # -- coding: z2, z1, y_l, y_h (coding/latent_codec.py walks the stages) ---------------------------------

    def coded_latents(self, y: Pair) -> Latents:
        z1 = self.h_a1(*y)
        z2 = self.h_a2(*z1)
        return dict(zip(("y_h", "y_l", "z1_h", "z1_l", "z2_h", "z2_l"), (*y, *z1, *z2), strict=True))

    def synthesis_input(self, latents: Latents) -> Pair:
        return latents["y_h"], latents["y_l"]

    def coding_stages(self, latents: Latents, prepared: Prepared) -> Iterator[Stage]:
        """Four parallel levels: z2 (factorized), z1 (single Gaussians from h_s2(z2_hat)), y_l (mixture from
        h_s1(z1_hat)), y_h (mixture from h_s1(z1_hat) and y_l_hat). The parameter networks run as a float64
        copy of ``self.entropy`` (``prepared.networks``)."""
        net = prepared.networks["entropy"]
        shapes = {k: tuple(v.shape[1:]) for k, v in latents.items()}

        def like(name: str) -> torch.Tensor:  # carries a spatial size for cropping
            return torch.empty(0, 0, *shapes[name][1:])

        with table_threads(math.prod(shapes["z2_h"])):
            yield Stage(0, "z2_h", factorized_tables(prepared.factorized["density_z2_h"], shapes["z2_h"]))
            yield Stage(0, "z2_l", factorized_tables(prepared.factorized["density_z2_l"], shapes["z2_l"]))
        mp_h, mp_l = net.z1_params((latents["z2_h"], latents["z2_l"]), (like("z1_h"), like("z1_l")))
        with table_threads(math.prod(shapes["z1_h"])):
            yield Stage(1, "z1_h", mixture_tables(net.z1_model, mp_h))
            yield Stage(1, "z1_l", mixture_tables(net.z1_model, mp_l))
        hyper = net.hyper_features((latents["z1_h"], latents["z1_l"]), (like("y_h"), like("y_l")))
        with table_threads(math.prod(shapes["y_l"])):
            yield Stage(2, "y_l", mixture_tables(net.mixture, net.y_l_params(hyper)))
        mp_y_h = net.y_h_params(hyper, latents["y_l"])
        with table_threads(math.prod(shapes["y_h"])):
            yield Stage(2, "y_h", mixture_tables(net.mixture, mp_y_h))


@register("fu2022-octave", N=128, K=3, rates=1, alpha=0.5, fidelity=0.1)
def fu2022_octave(N: int, K: int, rates: int, alpha: float, fidelity: float) -> OctaveHyperprior:
    return OctaveHyperprior(N, K, rates, alpha, fidelity)
