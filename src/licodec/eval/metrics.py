"""Image quality metrics on 8-bit RGB (what users compare), and rates in bits per pixel."""

import math

import numpy as np
import torch
from pytorch_msssim import ms_ssim


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images of equal shape (inf when identical)."""
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def msssim(a: np.ndarray, b: np.ndarray) -> float:
    """MS-SSIM of two (H, W, 3) uint8 images; images under 161 px on a side use fewer scales."""
    ta = torch.from_numpy(np.array(a)).permute(2, 0, 1)[None].double()
    tb = torch.from_numpy(np.array(b)).permute(2, 0, 1)[None].double()
    levels = 5
    while levels > 1 and min(a.shape[:2]) <= 10 * 2 ** (levels - 1):
        levels -= 1
    weights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333][:levels]
    if levels == 1 and min(a.shape[:2]) < 11:
        return float("nan")
    if levels == 5:
        return float(ms_ssim(ta, tb, data_range=255, weights=weights))
    return _ms_ssim_fewer_scales(ta, tb, weights)


def _ms_ssim_fewer_scales(x: torch.Tensor, y: torch.Tensor, weights: list[float]) -> float:
    """pytorch_msssim's ``ms_ssim`` loop for fewer than 5 scales.

    Its ``ms_ssim`` asserts a side over 160 px whatever the number of weights, so small images need the
    loop itself (same window, constants, pooling and relu as version 1.0).
    """
    from pytorch_msssim.ssim import _fspecial_gauss_1d, _ssim

    win = _fspecial_gauss_1d(11, 1.5).repeat([x.shape[1], 1, 1, 1])
    mcs = []
    for level in range(len(weights)):
        ssim_per_channel, cs = _ssim(x, y, win=win, data_range=255, size_average=False, K=(0.01, 0.03))
        if level < len(weights) - 1:
            mcs.append(torch.relu(cs))
            padding = [s % 2 for s in x.shape[2:]]
            x = torch.nn.functional.avg_pool2d(x, kernel_size=2, padding=padding)
            y = torch.nn.functional.avg_pool2d(y, kernel_size=2, padding=padding)
    scales = torch.stack(mcs + [torch.relu(ssim_per_channel)], dim=0)  # (level, batch, channel)
    return float(torch.prod(scales ** x.new_tensor(weights).view(-1, 1, 1), dim=0).mean())


def msssim_db(value: float) -> float:
    return -10 * math.log10(1 - value) if value < 1 else math.inf


def bpp(num_bytes: int, height: int, width: int) -> float:
    return 8.0 * num_bytes / (height * width)
