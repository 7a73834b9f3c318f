"""Why latent channels are dead, measured on any weights: what a dead channel looks like to the entropy model, and
which way training pushes it.

    python benchmarks/dead_channels.py [WEIGHTS] [--kodak ../shared/data/kodak] [--images kodim05 kodim15 kodim23]

At the top rate point, for the channels in use (> 1 % of rounded elements non-zero) and the dead ones, means of:
- gain and inverse gain (the per-channel quantization step and its inverse before g_s);
- |y| before rounding, and the share of predicted scales at the entropy model's lower bound (0.11);
- bits per element, and the bits a single value of +-1 costs under the predicted distribution;
- d(loss)/d(gain): the gradient of lambda * D + R (the trained lambda, rounding straight-through as in
  training) with respect to the channel's gain. Negative: descent raises the gain, the channel would come back
  to life; positive: descent lowers it further, the channel stays dead.
"""

import argparse
import sys
from pathlib import Path

import torch

from licodec.codec import to_tensor
from licodec.entropy.bounds import SCALE_BOUND
from licodec.image import read_image
from licodec.losses import rate_distortion
from licodec.zoo import load_model


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", nargs="?")
    ap.add_argument("--kodak", default="../shared/data/kodak")
    ap.add_argument("--images", nargs="+", default=["kodim05", "kodim15", "kodim23"])
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = load_model(args.weights).requires_grad_(True)  # loaded weights come frozen; we want their gradients
    q = model.rates - 1
    lmbda = torch.tensor([model.objective["lambdas"][q]])
    stats = []
    for name in args.images:
        x, _, _ = to_tensor(read_image(Path(args.kodak) / f"{name}.png").rgb, model.downsampling)
        model.train()  # straight-through rounding, as training sees it; the rate under rounding, not noise
        model.zero_grad()
        out = model(x, torch.tensor([q]), noisy_rate=False)
        rate_distortion(out, x, lmbda).loss.backward()
        model.eval()
        with torch.no_grad():
            y = model.analysis(x, torch.tensor([q]))[0]  # (M, h, w)
            y_hat = torch.round(y)
            mp = out.mixture
            scales = mp.scales[0].detach()  # (K, M, h, w)
            bits = -out.likelihoods["y"][0].detach().log2()
            # what one value of +-1 would cost where the channel predicts ~0 with its current scale
            one = model.mixture.likelihood(torch.ones_like(y)[None], mp)[0].detach()
            stats.append({
                "nonzero": (y_hat != 0).float().flatten(1).mean(1), "abs_y": y.abs().flatten(1).mean(1),
                "at_bound": (scales <= SCALE_BOUND * 1.01).float().mean(dim=(0, 2, 3)),
                "bits": bits.flatten(1).mean(1), "bits_of_one": (-one.log2()).flatten(1).mean(1),
                "grad_gain": model.gain.grad[q].clone(),
            })  # fmt: skip
    mean = {k: torch.stack([s[k] for s in stats]).mean(0) for k in stats[0]}
    live = mean["nonzero"] > 0.01
    print(f"{args.weights or 'default weights'}, top rate point (quality {q + 1}), lambda {float(lmbda):g}, "
          f"images {', '.join(args.images)}")  # fmt: skip
    print("| channels | count | gain | inv_gain | mean abs(y) | scales at bound | bits/element | bits of +-1 | "
          "d loss / d gain (median) | share with d loss / d gain > 0 |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, mask in (("in use", live), ("dead", ~live)):
        if not bool(mask.any()):
            continue
        g = mean["grad_gain"][mask]
        print(f"| {label} | {int(mask.sum())} | {float(model.gain.detach()[q][mask].mean()):.3f} | "
              f"{float(model.inv_gain.detach()[q][mask].mean()):.3f} | {float(mean['abs_y'][mask].mean()):.3f} | "
              f"{float(mean['at_bound'][mask].mean()):.1%} | {float(mean['bits'][mask].mean()):.3f} | "
              f"{float(mean['bits_of_one'][mask].mean()):.2f} | {float(g.median()):+.2e} | "
              f"{float((g > 0).float().mean()):.0%} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
