"""The data behind Cheng et al. 2020, Figure 3: what the entropy model predicts for one latent channel.

For the channel with the most bits, the quantized latent y_hat, each mixture component's weight, mean and
scale, the normalized residual (y_hat - mu) / sigma under the mixture's mean and standard deviation, and
the bits each element costs (-log2 P).
"""

from dataclasses import dataclass

import numpy as np
import torch

from licodec.codec import SourceImage, check_quality, to_tensor


@dataclass
class LatentMaps:
    channel: int
    channel_bits: float
    y_hat: np.ndarray  # (h, w)
    weights: np.ndarray  # (K, h, w)
    means: np.ndarray  # (K, h, w)
    scales: np.ndarray  # (K, h, w)
    residual: np.ndarray  # (h, w): (y_hat - mixture mean) / mixture std
    bits: np.ndarray  # (h, w)
    families: tuple[str, ...]
    image: np.ndarray  # (H, W, 3) uint8, the source


@torch.no_grad()
def latent_maps(source: SourceImage, model: torch.nn.Module, quality: int | None = None) -> LatentMaps:
    q = check_quality(model, quality)
    x, _, _ = to_tensor(source.rgb, model.downsampling)
    out = model(x, torch.tensor([q]))
    if out.mixture is None:
        raise ValueError(
            f"latent maps draw one latent with its context model's mixture; {model.config['arch']} "
            "has a two-resolution latent and no context model"
        )
    h, w = source.rgb.shape[:2]
    lh, lw = -(-h // 16), -(-w // 16)  # the latent positions that cover the image, not the padding
    bits = -torch.log2(out.likelihoods["y"][0, :, :lh, :lw])  # (M, h, w)
    c = int(bits.flatten(1).sum(1).argmax())
    mp = out.mixture
    weights, means, scales = (t[0, :, c, :lh, :lw] for t in (mp.weights, mp.means, mp.scales))
    mu = (weights * means).sum(0)
    variance = (weights * (scales**2 * _variance_factor(model.mixture.families)[:, None, None] + means**2)).sum(0)
    sigma = (variance - mu**2).clamp_min(1e-12).sqrt()
    y_hat = out.latents["y"][0, c, :lh, :lw]
    return LatentMaps(
        channel=c, channel_bits=float(bits[c].sum()), y_hat=y_hat.numpy(), weights=weights.numpy(),
        means=means.numpy(), scales=scales.numpy(), residual=((y_hat - mu) / sigma).numpy(),
        bits=bits[c].numpy(), families=model.mixture.families, image=source.rgb,
    )  # fmt: skip


def _variance_factor(families: tuple[str, ...]) -> torch.Tensor:
    """Variance of each family at unit scale: Gaussian 1, Laplace 2, Logistic pi^2 / 3."""
    table = {"gaussian": 1.0, "laplace": 2.0, "logistic": float(np.pi**2 / 3)}
    return torch.tensor([table[f] for f in families])
