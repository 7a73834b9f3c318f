"""Validation with real files during training (train --val / --val-holdout)."""

import csv
from pathlib import Path

import numpy as np
import torch

from licodec.eval.evaluate import evaluate_image


def validate(model: torch.nn.Module, files: list[Path], step: int, path: Path) -> list[dict]:
    """Compress and decompress each validation image at every rate point with real files; append the means
    (bpp from the bytes written, PSNR and MS-SSIM of the decoded image) to ``path``."""
    model.eval()
    rows = []
    try:
        for q in range(model.rates):
            results = [evaluate_image(model, f, q) for f in files]
            rows.append({"step": step, "quality": q + 1, **{
                k: round(float(np.mean([getattr(r, k) for r in results])), 5)
                for k in ("bpp", "bpp_estimated", "psnr_rgb", "ms_ssim")}})  # fmt: skip
    finally:
        model.train()
    new = not path.exists()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        if new:
            writer.writeheader()
        writer.writerows(rows)
    return rows
