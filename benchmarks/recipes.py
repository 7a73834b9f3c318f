"""Training recipes compared at an equal CPU budget: the table of arms for the README.

    python benchmarks/recipes.py runs/arm-a runs/arm-b ... [--kodak ../shared/data/kodak]
                                 [--anchor results/baselines/webp.json] [--images N]

For each run folder (its last.pt, written when ``licodec train --cpu-hours`` spent the budget): CPU-hours and
steps, the latent channels in use and the unquantized PSNR at the top rate point on kodim05/15/23 (as the
capacity probe, benchmarks/capacity.py), and BD-rate / BD-PSNR of the estimated RD curve over the first N Kodak
images (all 24 by default) against the anchor. The models' own rate estimates stand in for file sizes (files
come within 1 % of them): equal for every arm, and a fraction of the time of real files.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from capacity import ISSUE_IMAGES, probe

from licodec.eval.bdrate import bd_quality, bd_rate
from licodec.eval.results import load_curve
from licodec.image import read_image
from licodec.train.checkpoint import load_checkpoint
from licodec.zoo import load_model


def describe(train_config: dict) -> str:
    tc = train_config
    if tc.get("schedule") == "cosine":
        lr = f"cosine {tc['lr'] / 10:g} -> {tc['lr']:g} ({tc['warmup_steps']} steps) -> {tc['lr_min']:g}"
    else:
        lr = f"flat {tc['lr']:g}"
    return f"lr {lr}, {tc['batch']} x {tc['crop']}², clip {tc['clip']:g}, bf16 {tc['mixed_precision']}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--kodak", default="../shared/data/kodak", type=Path)
    ap.add_argument("--anchor", default="results/baselines/webp.json")
    ap.add_argument("--images", type=int, default=24, help="Kodak images for the BD-rate")
    args = ap.parse_args()
    torch.set_num_threads(1)
    anchor = load_curve(args.anchor)
    issue = [read_image(args.kodak / f"{n}.png").rgb for n in ISSUE_IMAGES]
    kodak = [read_image(p).rgb for p in sorted(args.kodak.glob("*.png"))[: args.images]]
    print(f"| arm | recipe | CPU-hours | steps | channels in use (top rate) | PSNR y unquantized (top) | "
          f"top point bpp / PSNR | BD-rate vs {anchor.name} | BD-PSNR |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for run in args.runs:
        state = load_checkpoint(run / "last.pt")
        model = load_model(str(run / "last.pt"))
        top = probe(model, issue, unquantized_all=False)[-1]
        curve = probe(model, kodak, unquantized_all=False)
        rate, quality = [r["bpp"] for r in curve], [r["psnr"] for r in curve]
        hours = state.get("cpu_seconds", float("nan")) / 3600
        print(f"| {run.name} | {describe(state['train_config'])} | {hours:.2f} | {state['step']} | "
              f"{top['channels']} / {top['latent_channels']} | {top['psnr_unquantized']:.2f} | "
              f"{rate[-1]:.3f} / {quality[-1]:.2f} | {bd_rate(anchor.bpp, anchor.psnr_rgb, rate, quality):+.1f} % | "
              f"{bd_quality(anchor.bpp, anchor.psnr_rgb, rate, quality):+.2f} dB |")  # fmt: skip
        print("  curve (bpp/PSNR):", " ".join(f"{b:.3f}/{q:.2f}" for b, q in zip(rate, quality, strict=True)))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
