"""A quick look at training checkpoints: per rate point, mean bpp and PSNR on a few Kodak images.

    python tools/probe.py runs/NAME/last.pt [more.pt ...] [--kodak ../shared/data/kodak]

"Channels in use": latent channels with more than 1 % non-zero elements at the top rate point (a
widened latent's new channels can stay dead, see src/licodec/revive.py). The figures are the eval-mode
forward pass (hard rounding, the rate the entropy model assigns; files come within 1 % of it), one thread,
so a probe runs beside training in about a minute. They pick checkpoints and follow a run; the README's
results come from real files (`licodec eval`).
"""

import argparse

import numpy as np
import torch
from PIL import Image

from licodec.codec import to_tensor
from licodec.train.checkpoint import load_checkpoint
from licodec.zoo import model_from_state

IMAGES = ("kodim01", "kodim05", "kodim15", "kodim19", "kodim23")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--kodak", default="../shared/data/kodak")
    args = ap.parse_args()
    torch.set_num_threads(1)
    images = [np.asarray(Image.open(f"{args.kodak}/{name}.png").convert("RGB")) for name in IMAGES]
    xs = [to_tensor(rgb, 64)[0] for rgb in images]
    print(f"bpp/PSNR per rate point, mean over {', '.join(IMAGES)} (eval-mode estimate)")
    for path in args.checkpoints:
        state = load_checkpoint(path)
        model = model_from_state(state["config"], state["model"])
        points = []
        with torch.no_grad():
            for q in range(model.rates):
                bpp, psnr, nonzero = [], [], []
                for rgb, x in zip(images, xs, strict=True):
                    out = model(x, torch.tensor([q]))
                    h, w = rgb.shape[:2]
                    bpp.append(out.bits().item() / (h * w))
                    mse = ((out.x_hat.clamp(0, 1) - x)[..., :h, :w] ** 2).mean().item()
                    psnr.append(10 * np.log10(1 / mse))
                    nonzero.append((out.latents["y"][0] != 0).flatten(1).float().mean(dim=1))
                points.append(f"{np.mean(bpp):.3f}/{np.mean(psnr):.2f}")
        in_use = int((torch.stack(nonzero).mean(dim=0) > 0.01).sum())  # at the top rate point
        print(f"{path} step {state['step']}: {' '.join(points)}  channels in use: {in_use}/{len(nonzero[0])}")


if __name__ == "__main__":
    main()
