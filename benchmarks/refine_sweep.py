"""Encoder-side latent refinement: what each (steps, learning rate) buys against g_a's latent.

python benchmarks/refine_sweep.py ../shared/data/kodak --images kodim05 kodim15 kodim19 kodim23 \
    --qualities 1 3 5 7 --configs 3@0.02 5@0.02 10@0.01

For every image and quality: the latent of g_a and the refined ones, each measured as the file codes it
(the entropy model's bits of the rounded latent, within 1 % of the file) and the 8-bit image the decoder
returns. Prints mean bpp / PSNR per quality, seconds of refinement per image, and the BD-rate against g_a's
latent on the mean curves. One thread; the shipped default weights unless --model.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from licodec import codec
from licodec.eval.bdrate import bd_rate
from licodec.refine import Target, refine_latents
from licodec.zoo import load_model


def measure(model, target: Target, y: torch.Tensor, quality: int) -> tuple[float, float]:
    """(bpp, PSNR) of latent y as coded."""
    with torch.no_grad():
        bits, y_hat = model.latent_bits(y)
        x_hat = model.synthesis(y_hat, torch.tensor([quality])).clamp(0, 1)[..., : target.height, : target.width]
        x_hat = (x_hat * 255).round() / 255
        mse = ((x_hat - target.x[..., : target.height, : target.width]) ** 2).mean()
    return float(bits) / (target.height * target.width), float(-10 * torch.log10(mse))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--images", nargs="+", default=["kodim05", "kodim15", "kodim19", "kodim23"])
    ap.add_argument("--qualities", type=int, nargs="+", default=[1, 3, 5, 7], help="1-based")
    ap.add_argument("--configs", nargs="+", default=["1@0.03", "2@0.02", "3@0.02", "5@0.02", "10@0.01"],
                    help="STEPS@LR")  # fmt: skip
    ap.add_argument("--model", help="weights (default: the shipped default)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = load_model(args.model)
    configs = [(0, 0.0)] + [(int(c.split("@")[0]), float(c.split("@")[1])) for c in args.configs]
    rows = {c: {q: [] for q in args.qualities} for c in configs}  # (bpp, psnr, seconds)
    for name in args.images:
        source = codec.read_image(Path(args.folder) / f"{name}.png")
        x, _, _ = codec.to_tensor(source.rgb, model.downsampling)
        target = Target(x, *source.rgb.shape[:2])
        for quality in args.qualities:
            q = quality - 1
            with torch.no_grad():
                y0 = model.analysis(x, torch.tensor([q]))
            for steps, lr in configs:
                start = time.perf_counter()
                y = refine_latents(model, target, y0, q, steps, lr) if steps else y0
                seconds = time.perf_counter() - start
                rows[(steps, lr)][quality].append((*measure(model, target, y, q), seconds))
    base = None
    for config, per_q in rows.items():
        bpp = [np.mean([r[0] for r in per_q[q]]) for q in args.qualities]
        psnr = [np.mean([r[1] for r in per_q[q]]) for q in args.qualities]
        seconds = np.mean([r[2] for q in args.qualities for r in per_q[q]])
        base = base or (bpp, psnr)
        label = "g_a (no refinement)" if config[0] == 0 else f"{config[0]} steps @ lr {config[1]}"
        curve = " ".join(f"{b:.4f}/{p:.2f}" for b, p in zip(bpp, psnr, strict=True))
        bd = bd_rate(base[0], base[1], bpp, psnr)
        print(f"{label:22s} {curve}  {seconds:5.2f} s/image  BD-rate vs g_a {bd:+6.2f} %")


if __name__ == "__main__":
    main()
