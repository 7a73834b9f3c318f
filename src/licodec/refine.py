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

import torch

from licodec.entropy import ste_round
from licodec.losses import distortion_of
from licodec.models.hyperprior import ContextHyperprior

DEFAULT_LR = 0.01  # in units of the quantization step; decays linearly to zero over the steps


class RefineError(ValueError):
    """Refinement cannot run for this model."""


def objective_of(model: torch.nn.Module, quality: int) -> tuple[str, float]:
    objective = getattr(model, "objective", None)
    if not isinstance(model, ContextHyperprior):
        raise RefineError(f"latent refinement needs a context + hyperprior model, not {model.config['arch']}")
    if objective is None:
        raise RefineError("these weights do not record the lambdas they were trained with; refinement needs them")
    return objective["metric"], objective["lambdas"][quality]


def rd_cost(model: ContextHyperprior, x: torch.Tensor, y: torch.Tensor, quality: int, height: int, width: int,
            hard: bool = True) -> torch.Tensor:  # fmt: skip
    """lambda * D + bits per pixel of latent y for image x (padded), measured on its top-left height x width.

    ``hard``: exact rounding (what the file holds); else straight-through rounding, which has gradients.
    """
    metric, lmbda = objective_of(model, quality)
    bits, y_hat = model.latent_bits(y, torch.round if hard else ste_round)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=not hard):
        x_hat = model.synthesis(y_hat, torch.tensor([quality])).float()
    distortion = distortion_of(x_hat[..., :height, :width], x[..., :height, :width], metric)
    return lmbda * distortion.sum() + bits / (height * width)


def refine_latents(model: ContextHyperprior, x: torch.Tensor, y: torch.Tensor, quality: int, steps: int,
                   height: int, width: int, lr: float = DEFAULT_LR) -> torch.Tensor:  # fmt: skip
    """A refined copy of latent y (same shape); y itself if refinement does not lower the exact cost."""
    objective_of(model, quality)  # fail before any work
    if steps <= 0:
        return y
    with torch.enable_grad():
        y_var = y.detach().clone().requires_grad_(True)
        optimizer = torch.optim.Adam([y_var], lr=lr)
        for step in range(steps):
            for group in optimizer.param_groups:
                group["lr"] = lr * (1 - step / steps)
            loss = rd_cost(model, x, y_var, quality, height, width, hard=False)
            # autograd.grad, not backward: only y's gradient is computed (no weight gradients, half the
            # work) and nothing is stored on the model, which other threads may be using.
            (y_var.grad,) = torch.autograd.grad(loss, [y_var])
            optimizer.step()
    refined = y_var.detach()
    with torch.no_grad():
        better = rd_cost(model, x, refined, quality, height, width) < rd_cost(model, x, y, quality, height, width)
    return refined if better else y
