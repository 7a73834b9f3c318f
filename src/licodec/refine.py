"""Encoder-side latent refinement: search for a better y for this one image, with the decoder fixed.

g_a is trained to give good latents on average; for a given image, the latent that minimises its own
lambda * D + R is usually a little different (Campos et al. 2019, "Content adaptive optimization for neural
image compression"; Yang et al. 2020, "Improving inference for neural image compression"). Starting from
y = g_a(x), a few Adam steps on that image's rate-distortion cost move y; rounding is straight-through
(``ste_round``), so the rate and the reconstruction seen by the optimiser are those of the integer latents
the file will hold. z stays h_a(y), as in ``compress_latents``, so files need no change and any decoder
reads them. The refined latent is kept only if its exact (hard-rounded) cost is lower than g_a's.

The objective is the one the weights were trained with (their ``objective`` metadata: metric and one
lambda per rate point). Distortion counts the true image only, not the reflect padding the decoder crops.
"""

from dataclasses import dataclass

import torch

from licodec.entropy import ste_round
from licodec.losses import LAMBDAS, MS_SSIM_MIN_SIDE, distortion_of

DEFAULT_LR = 0.01  # in units of the quantization step; decays linearly to zero over the steps
LUMA = (0.299, 0.587, 0.114)  # what a greyscale source is decoded to (Pillow's RGB -> L), codec.py


class RefineError(ValueError):
    """Refinement cannot run for this model or image."""


@dataclass
class Target:
    """What the decoded image is judged on: the padded image x (1, 3, H', W'), the true size the decoder
    crops back to, and the source's channel count (1: the decoder returns luma)."""

    x: torch.Tensor
    height: int
    width: int
    channels: int = 3

    def distortion(self, x_hat: torch.Tensor, metric: str) -> torch.Tensor:
        x_hat, x = x_hat[..., : self.height, : self.width], self.x[..., : self.height, : self.width]
        if self.channels == 1:
            luma = torch.tensor(LUMA, dtype=x_hat.dtype)[None, :, None, None]
            x_hat, x = (x_hat * luma).sum(1, keepdim=True), x[:, :1]
        return distortion_of(x_hat, x, metric).sum()


def objective_of(model: torch.nn.Module, quality: int, target: Target | None = None) -> tuple[str, float]:
    """(metric, lambda) the weights were trained with at ``quality``; RefineError when refinement cannot run."""
    if not hasattr(model, "latent_bits"):
        raise RefineError(f"latent refinement needs a context + hyperprior model, not {model.config['arch']}")
    objective = getattr(model, "objective", None)
    if objective is None:
        raise RefineError("these weights do not record the lambdas they were trained with; refinement needs them")
    metric, lambdas = objective.get("metric"), objective.get("lambdas")
    if metric not in LAMBDAS or not isinstance(lambdas, list) or len(lambdas) != model.rates:
        raise RefineError(f"the weights' recorded objective is not valid for {model.rates} rate points: {objective}")
    if torch.is_inference_mode_enabled():
        raise RefineError("latent refinement needs gradients: it cannot run under torch.inference_mode()")
    if target is not None and metric == "ms-ssim" and min(target.height, target.width) < MS_SSIM_MIN_SIDE:
        raise RefineError(f"these weights were trained for MS-SSIM, which needs images of at least "
                          f"{MS_SSIM_MIN_SIDE} px on each side to refine for")  # fmt: skip
    return metric, float(lambdas[quality])


def rd_cost(model: torch.nn.Module, target: Target, y: torch.Tensor, quality: int, hard: bool = True) -> torch.Tensor:
    """lambda * D + bits per pixel of latent y for the target image.

    ``hard``: exact rounding and the clamped image (what the decoder outputs); else straight-through
    rounding and the raw synthesis, which have gradients.
    """
    metric, lmbda = objective_of(model, quality)
    bits, y_hat = model.latent_bits(y, torch.round if hard else ste_round)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=not hard):
        x_hat = model.synthesis(y_hat, torch.tensor([quality])).float()
    if hard:
        x_hat = x_hat.clamp(0, 1)
    return lmbda * target.distortion(x_hat, metric) + bits / (target.height * target.width)


def refine_latents(model: torch.nn.Module, target: Target, y: torch.Tensor, quality: int, steps: int,
                   lr: float = DEFAULT_LR) -> torch.Tensor:  # fmt: skip
    """A refined copy of latent y (same shape); y itself if refinement does not lower the exact cost."""
    objective_of(model, quality, target)  # fail before any work
    if steps <= 0:
        return y
    with torch.enable_grad():
        y_refined = y.detach().clone().requires_grad_(True)
        optimizer = torch.optim.Adam([y_refined], lr=lr)
        for step in range(steps):
            for group in optimizer.param_groups:
                group["lr"] = lr * (1 - step / steps)
            loss = rd_cost(model, target, y_refined, quality, hard=False)
            # autograd.grad, not backward: only y's gradient is computed (no weight gradients, half the
            # work) and nothing is stored on the model, which other threads may be using.
            (y_refined.grad,) = torch.autograd.grad(loss, [y_refined])
            optimizer.step()
    y_refined = y_refined.detach()
    with torch.no_grad():
        better = rd_cost(model, target, y_refined, quality) < rd_cost(model, target, y, quality)
    return y_refined if better else y
