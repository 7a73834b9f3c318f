"""What `decode --fast` costs in quality: Kodak PSNR of the shipped default model's real files decoded with
each synthesis precision (float32, bfloat16, int8), per rate point.

    python benchmarks/fast_decode_quality.py ../shared/data/kodak [--qualities 1 6] [--threads 2]

The latents are decoded bit-exactly in every case; only the synthesis arithmetic differs. Prints mean PSNR
(dB, against the original) per precision and the mean and worst change against float32. The int8 decoder
quantizes only 3x3 convolutions at least int8.MIN_CHANNELS (128) wide, where it is faster: in the shipped
N=64, M=192 model those that read the 192-channel latent (the first residual block and the first up-sampling
block of g_s); `--int8-min-channels 64` lowers the threshold to measure int8 on all of its transforms.
"""

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from licodec.codec import compress, decompress
from licodec.eval.metrics import psnr
from licodec.fast import int8
from licodec.fast.precision import PRECISIONS, synthesis_precision
from licodec.zoo import load_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--qualities", type=int, nargs="+", help="rate points, 1-based (default: lowest and highest)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--int8-min-channels", type=int, help=f"default {int8.MIN_CHANNELS}")
    args = ap.parse_args()
    if args.int8_min_channels:
        int8.MIN_CHANNELS = args.int8_min_channels
    torch.set_num_threads(args.threads)
    model = load_model(None)
    precisions = [p for p in PRECISIONS if p != "int8" or synthesis_precision(None, True, False) == "int8"]
    qualities = args.qualities or [1, model.rates]
    paths = sorted(Path(args.folder).glob("*.png"))
    print(f"{len(paths)} images, default model, threads={args.threads}, int8 on 3x3 convolutions of at least "
          f"{int8.MIN_CHANNELS} channels")  # fmt: skip
    print(f"{'quality':>7s} {'bpp':>6s} " + " ".join(f"{p:>9s}" for p in precisions) + "   change vs float32")
    for q in qualities:
        scores, bits = {p: [] for p in precisions}, 0
        for path in paths:
            rgb = np.asarray(Image.open(path).convert("RGB"))
            data = compress(rgb, model, quality=q - 1)
            bits += 8 * len(data) / (rgb.shape[0] * rgb.shape[1])
            for p in precisions:
                scores[p].append(psnr(rgb, decompress(data, model, precision=p)))
        ref = np.array(scores["float32"])
        changes = "  ".join(
            f"{p}: mean {np.mean(np.array(scores[p]) - ref):+.3f}, worst {np.min(np.array(scores[p]) - ref):+.3f}"
            for p in precisions[1:]
        )
        means = " ".join(f"{np.mean(scores[p]):9.3f}" for p in precisions)
        print(f"{q:7d} {bits / len(paths):6.3f} {means}   {changes}")


if __name__ == "__main__":
    main()
