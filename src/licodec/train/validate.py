"""Validation with real files during training (train --val / --val-holdout)."""

import csv
from pathlib import Path

import torch

from licodec.eval.evaluate import evaluate_image, to_curve


def validate(model: torch.nn.Module, files: list[Path], step: int, path: Path) -> list[dict]:
    """Compress and decompress each validation image at every rate point with real files; append the means
    (bpp from the bytes written, PSNR and MS-SSIM of the decoded image) to ``path``."""
    model.eval()
    try:
        results = [evaluate_image(model, f, q) for q in range(model.rates) for f in files]
    finally:
        model.train()
    curve, extra = to_curve("validation", "", results)
    columns = {"bpp": curve.bpp, "bpp_estimated": extra["bpp-estimated"], "psnr_rgb": curve.psnr_rgb,
               "ms_ssim": curve.ms_ssim}  # fmt: skip
    rows = [{"step": step, "quality": q, **{k: round(v[i], 5) for k, v in columns.items()}}
            for i, q in enumerate(curve.settings)]  # fmt: skip
    new = not path.exists()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        if new:
            writer.writeheader()
        writer.writerows(rows)
    return rows
