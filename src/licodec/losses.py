"""The rate-distortion objective: lambda * D + R, with D = 255^2 MSE or 1 - MS-SSIM, R in bits per pixel."""

from dataclasses import dataclass

import torch

from licodec.models.base import RDOutput

# Per-quality lambdas of the published Cheng 2020 models (CompressAI's training recipe).
LAMBDAS = {
    "mse": (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483),
    "ms-ssim": (2.40, 4.58, 8.73, 16.64, 31.73, 60.50),
}


MS_SSIM_MIN_SIDE = 161  # five scales of an 11x11 window


def training_objective(train_config: dict, rates: int) -> dict:
    """{"metric", "lambdas"} of a training run's config, with the trainer's defaults filled in. Shipped
    weights carry it (metadata ``objective``) so that encoders can optimise for the same trade-off."""
    metric = train_config.get("metric", "mse")
    lambdas = train_config.get("lambdas") or LAMBDAS[metric][-rates:]
    return {"metric": metric, "lambdas": [float(v) for v in lambdas]}


@dataclass
class RDTerms:
    loss: torch.Tensor  # scalar, what is minimized
    bpp: torch.Tensor  # (B,)
    mse: torch.Tensor  # (B,) on [0, 1] images
    distortion: torch.Tensor  # (B,) the D term before lambda


def distortion_of(x_hat: torch.Tensor, x: torch.Tensor, metric: str) -> torch.Tensor:
    """(B,) D term: 255^2 MSE or 1 - MS-SSIM."""
    if metric == "mse":
        return 255.0**2 * ((x_hat - x) ** 2).flatten(1).mean(1)
    if metric == "ms-ssim":
        if min(x.shape[-2:]) < MS_SSIM_MIN_SIDE:
            raise ValueError("MS-SSIM training needs crops larger than 160 px (5 scales of an 11x11 window)")
        from pytorch_msssim import ms_ssim  # only MS-SSIM objectives need it: loading weights does not

        return 1 - ms_ssim(x_hat.clamp(0, 1), x, data_range=1.0, size_average=False)
    raise ValueError(f"unknown distortion metric {metric!r}; valid: mse, ms-ssim")


def rate_distortion(out: RDOutput, x: torch.Tensor, lmbda: torch.Tensor, metric: str = "mse") -> RDTerms:
    """Per-sample lambdas (B,) let one batch train several rate points of a variable-rate model. The model's
    auxiliary reconstructions (the octave codec's information fidelity) add their weighted distortions."""
    pixels = x.shape[-2] * x.shape[-1]
    bpp = out.bits() / pixels
    mse = ((out.x_hat - x) ** 2).flatten(1).mean(1)
    distortion = distortion_of(out.x_hat, x, metric)
    loss_distortion = distortion
    for weight, reconstruction, target in out.auxiliary:
        loss_distortion = loss_distortion + weight * distortion_of(reconstruction, target, metric)
    loss = (lmbda * loss_distortion + bpp).mean()
    return RDTerms(loss=loss, bpp=bpp.detach(), mse=mse.detach(), distortion=distortion.detach())
