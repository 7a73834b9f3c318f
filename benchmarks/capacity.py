"""Capacity probe: how much of a model's latent is used, and what its autoencoder can give without quantization.

    python benchmarks/capacity.py [WEIGHTS ...] [--kodak ../shared/data/kodak] [--images kodim05 kodim15 kodim23]
                                  [--all] [--top-only] [--anchor results/baselines/webp.json]

WEIGHTS: shipped weights names, .safetensors files or training checkpoints (default: the default weights).
For each, per quality, means over the images:
- bpp: the model's own rate estimate of the rounded latents (eval-mode forward; files come within 1 % of it);
- PSNR with y_hat rounded: what the decoder shows;
- PSNR with y not quantized at all: g_s(g_a(x)) with the gains, the autoencoder's own ceiling at that rate
  point (no entropy model or refinement can lift the rounded PSNR above it);
- channels in use: latent channels with more than 1 % of their rounded elements non-zero.
With ``--anchor``, the BD-rate and BD-PSNR of the estimated curve against that results JSON (WebP on Kodak by
default) over the same images (``--all``: all 24, as the classical baselines were measured).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from licodec.codec import to_tensor
from licodec.eval.bdrate import bd_quality, bd_rate
from licodec.eval.results import load_curve
from licodec.image import read_image
from licodec.zoo import load_model

ISSUE_IMAGES = ("kodim05", "kodim15", "kodim23")


def psnr(x_hat: torch.Tensor, x: torch.Tensor, h: int, w: int) -> float:
    """PSNR of the 8-bit image the decoder would output."""
    a = (x_hat.clamp(0, 1) * 255).round()[..., :h, :w]
    b = (x * 255).round()[..., :h, :w]
    return float(10 * torch.log10(255.0**2 / ((a - b) ** 2).mean()))


@torch.no_grad()
def probe(model: torch.nn.Module, images: list[np.ndarray], unquantized_all: bool = True) -> list[dict]:
    """One row per quality: bpp, PSNR rounded, PSNR unquantized (at every quality, or the top one only),
    channels in use (means over ``images``)."""
    rows = []
    for q in range(model.rates):
        quality = torch.tensor([q])
        bpp, rounded, unquantized, nonzero = [], [], [], []
        for rgb in images:
            h, w = rgb.shape[:2]
            x, _, _ = to_tensor(rgb, model.downsampling)
            out = model(x, quality)
            bpp.append(float(out.bits()) / (h * w))
            rounded.append(psnr(out.x_hat, x, h, w))
            if unquantized_all or q == model.rates - 1:
                unquantized.append(psnr(model.synthesis(model.analysis(x, quality), quality), x, h, w))
            nonzero.append(torch.cat([(y[0] != 0).flatten(1).float().mean(dim=1) for y in out.y_hats()]))
        share = torch.stack(nonzero).mean(dim=0)
        top = float(np.mean(unquantized)) if unquantized else float("nan")
        rows.append({"quality": q + 1, "bpp": float(np.mean(bpp)), "psnr": float(np.mean(rounded)),
                     "psnr_unquantized": top, "channels": int((share > 0.01).sum()),
                     "latent_channels": len(share)})  # fmt: skip
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", nargs="*", default=[None])
    ap.add_argument("--kodak", default="../shared/data/kodak")
    ap.add_argument("--images", nargs="+", default=list(ISSUE_IMAGES))
    ap.add_argument("--all", action="store_true", help="all the folder's images")
    ap.add_argument("--anchor", help="results JSON to compute BD-rate against (e.g. results/baselines/webp.json)")
    ap.add_argument("--top-only", action="store_true", help="the unquantized PSNR at the top quality only")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    folder = Path(args.kodak)
    paths = sorted(folder.glob("*.png")) if args.all else [folder / f"{name}.png" for name in args.images]
    images = [read_image(p).rgb for p in paths]
    anchor = load_curve(args.anchor) if args.anchor else None
    print(f"{len(images)} images of {folder}: {', '.join(p.stem for p in paths)}")
    for spec in args.weights:
        start = time.time()
        model = load_model(spec)
        rows = probe(model, images, not args.top_only)
        print(f"\n{spec or 'default weights'} ({model.config}), {time.time() - start:.0f} s")
        print("| quality | bpp (estimate) | PSNR, y_hat rounded | PSNR, y not quantized | latent channels in use |")
        print("|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['quality']} | {r['bpp']:.3f} | {r['psnr']:.2f} | {r['psnr_unquantized']:.2f} | "
                  f"{r['channels']} / {r['latent_channels']} |")  # fmt: skip
        if anchor is not None:
            rate, quality = [r["bpp"] for r in rows], [r["psnr"] for r in rows]
            print(f"against {anchor.name}: BD-rate {bd_rate(anchor.bpp, anchor.psnr_rgb, rate, quality):+.2f} %, "
                  f"BD-PSNR {bd_quality(anchor.bpp, anchor.psnr_rgb, rate, quality):+.3f} dB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
