"""Encoder-side latent refinement: search for a better y for this one image, with the decoder fixed.

g_a is trained to give good latents on average; for a given image, the latent that minimises its own
lambda * D + R is usually a little different (Campos et al. 2019, "Content adaptive optimization for neural
image compression"; Yang et al. 2020, "Improving inference for neural image compression"). Starting from
y = g_a(x), a few Adam steps on that image's rate-distortion cost move y; rounding is straight-through
(``ste_round``), so the rate and the reconstruction seen by the optimiser are those of the integer latents
the file will hold. z stays h_a(y), as in ``compress_latents``, so files need no change and any decoder
reads them. Of g_a's latent and the latents after each step, the one of lowest cost is kept.

Refinement is the default of ``licodec encode`` (``DEFAULT_STEPS``; ``auto_steps`` says when it applies):
on four Kodak images at four rate points (the N=64 8,189-step weights; ``python benchmarks/refine_sweep.py
../shared/data/kodak``), 3 steps at lr 0.02 saved 10.4 % BD-rate against g_a's latents, 5 steps 12.0 %,
10 steps at 0.01 14.2 % (1 step 5.7 %, 2 steps 8.9 %), for about 1.1 s per step at 768x512 on one core
against 1 s for the whole plain encode.

The objective is the one the weights were trained with (their ``objective`` metadata: metric and one
lambda per rate point). Distortion counts the true image only, not the reflect padding the decoder crops.
"""

from dataclasses import dataclass

import torch

from licodec.entropy import ste_round
from licodec.fast.precision import bf16_native
from licodec.losses import LAMBDAS, MS_SSIM_MIN_SIDE, distortion_of

DEFAULT_STEPS = 3  # what encode does when not told: most of the gain of 10 steps for a third of the time
# Larger images are not refined unless asked: a step holds g_s's activations for its backward pass (peak
# memory measured at 1536x1024 with the shipped weights: 1.8 GB refining, 0.85 GB plain; ~1.1 GB per MP).
AUTO_MAX_PIXELS = 2_100_000  # 1920x1080 and below
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
    if not model.refinable:
        raise RefineError(f"latent refinement needs a context + hyperprior model, not {model.config['arch']}")
    objective = model.objective
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


def default_lr(steps: int) -> float:
    """Adam's first step size, in units of the quantization step (it decays linearly to zero): measured
    best, 0.02 for a few steps, 0.01 for ten or more (the sweeps in the module docstring)."""
    return 0.02 if steps < 10 else 0.01


def auto_steps(model: torch.nn.Module, quality: int, target: Target) -> int:
    """The steps encode takes when not told: DEFAULT_STEPS where refinement can run (weights that record
    their objective, a context model, gradients available, an image of at most AUTO_MAX_PIXELS), else 0."""
    if target.height * target.width > AUTO_MAX_PIXELS:
        return 0
    try:
        objective_of(model, quality, target)
    except RefineError:
        return 0
    return DEFAULT_STEPS


def rd_cost(model: torch.nn.Module, target: Target, y: torch.Tensor, quality: int) -> torch.Tensor:
    """Exact lambda * D + bits per pixel of latent y for the target image: hard rounding, float32 synthesis,
    the clamped image the decoder outputs."""
    metric, lmbda = objective_of(model, quality)
    bits, y_hat = model.latent_bits(y, torch.round)
    x_hat = model.synthesis(y_hat, torch.tensor([quality])).float().clamp(0, 1)
    return lmbda * target.distortion(x_hat, metric) + bits / (target.height * target.width)


def refine_latents(model: torch.nn.Module, target: Target, y: torch.Tensor, quality: int, steps: int,
                   lr: float | None = None) -> torch.Tensor:  # fmt: skip
    """The latent of lowest cost among y and its refined iterates (same shape; y itself if none is better).

    Costs are judged on each step's own forward pass (rounded latent, clamped image; the synthesis in bfloat16
    where the CPU computes it natively, else float32), so that judging costs one extra forward pass for the
    last iterate rather than two exact evaluations.
    """
    objective_of(model, quality, target)  # fail before any work
    if steps <= 0:
        return y
    lr = default_lr(steps) if lr is None else lr
    best_cost, best = None, y
    with torch.enable_grad():
        y_refined = y.detach().clone().requires_grad_(True)
        optimizer = torch.optim.Adam([y_refined], lr=lr)
        for step in range(steps + 1):
            with torch.set_grad_enabled(step < steps):  # the last iterate is only judged: no graph for it
                loss, judged = _step_cost(model, target, y_refined, quality)
            if best_cost is None or judged < best_cost:
                best_cost, best = judged, (y if step == 0 else y_refined.detach().clone())
            if step == steps:
                break
            for group in optimizer.param_groups:
                group["lr"] = lr * (1 - step / steps)
            # autograd.grad, not backward: only y's gradient is computed (no weight gradients, half the
            # work) and nothing is stored on the model, which other threads may be using.
            (y_refined.grad,) = torch.autograd.grad(loss, [y_refined])
            optimizer.step()
    return best


def _step_cost(model: torch.nn.Module, target: Target, y: torch.Tensor, quality: int) -> tuple[torch.Tensor, float]:
    """(differentiable cost of y, its value on the clamped image the decoder returns)."""
    metric, lmbda = objective_of(model, quality)
    bits, y_hat = model.latent_bits(y, ste_round)
    with model.autocast(y, enabled=bf16_native()):  # float32 where it is faster
        x_hat = model.synthesis(y_hat, torch.tensor([quality])).float()
    rate = bits / (target.height * target.width)
    loss = lmbda * target.distortion(x_hat, metric) + rate
    with torch.no_grad():
        judged = lmbda * target.distortion(x_hat.clamp(0, 1), metric) + rate
    return loss, float(judged)
