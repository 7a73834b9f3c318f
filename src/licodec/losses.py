"""The rate-distortion objective: lambda * D + R, with D = 255^2 MSE or 1 - MS-SSIM, R in bits per pixel."""

from dataclasses import dataclass

import torch
from pytorch_msssim import ms_ssim

from licodec.models.hyperprior import ForwardResult

# Per-quality lambdas of the published Cheng 2020 models (CompressAI's training recipe).
LAMBDAS = {
    "mse": (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483),
    "ms-ssim": (2.40, 4.58, 8.73, 16.64, 31.73, 60.50),
}


@dataclass
class RDTerms:
    loss: torch.Tensor  # scalar, what is minimized
    bpp: torch.Tensor  # (B,)
    mse: torch.Tensor  # (B,) on [0, 1] images
    distortion: torch.Tensor  # (B,) the D term before lambda


def rate_distortion(out: ForwardResult, x: torch.Tensor, lmbda: torch.Tensor, metric: str = "mse") -> RDTerms:
    """Per-sample lambdas (B,) let one batch train several rate points of a variable-rate model."""
    pixels = x.shape[-2] * x.shape[-1]
    bpp = out.bits() / pixels
    mse = ((out.x_hat - x) ** 2).flatten(1).mean(1)
    if metric == "mse":
        distortion = 255.0**2 * mse
    elif metric == "ms-ssim":
        if min(x.shape[-2:]) <= 160:
            raise ValueError("MS-SSIM training needs crops larger than 160 px (5 scales of an 11x11 window)")
        distortion = 1 - ms_ssim(out.x_hat.clamp(0, 1), x, data_range=1.0, size_average=False)
    else:
        raise ValueError(f"unknown distortion metric {metric!r}; valid: mse, ms-ssim")
    loss = (lmbda * distortion + bpp).mean()
    return RDTerms(loss=loss, bpp=bpp.detach(), mse=mse.detach(), distortion=distortion.detach())
