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
    ta = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].double()
    tb = torch.from_numpy(np.ascontiguousarray(b)).permute(2, 0, 1)[None].double()
    levels = 5
    while levels > 1 and min(a.shape[:2]) <= 10 * 2 ** (levels - 1):
        levels -= 1
    weights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333][:levels]
    if levels == 1 and min(a.shape[:2]) < 11:
        return float("nan")
    return float(ms_ssim(ta, tb, data_range=255, weights=weights))


def msssim_db(value: float) -> float:
    return -10 * math.log10(1 - value) if value < 1 else math.inf


def bpp(num_bytes: int, height: int, width: int) -> float:
    return 8.0 * num_bytes / (height * width)
