"""Switch dead latent channels back on in a checkpoint (a surgery; why and how below).

    python tools/revive.py runs/NAME/last.pt -o runs/revived.pt --old-channels 64 [--alpha 0.3 --beta 0.05]

The checkpoint keeps its step, time and command history, with this command added; a new run starts from it
with ``licodec train --init`` (fresh Adam, ``--warmup-steps``), so the exported provenance records the
surgery. Its optimizer state is dropped: it belonged to the weights before the surgery.


A model widened by ``licodec train --init`` (widen.py) starts its new latent channels switched off, and they
can stay off: the run anchor-ckbd-n64-m192, widened from 64 to 192 channels, had 72 channels in use after
21,000 steps (kodim23 at the top rate: 49 % of the old channels' elements non-zero, 1.5 % of the new
ones'). The dead channels' predicted scales sat at the lower bound (0.11), where one non-zero value costs
~18 bits, and their gains at ~2 % of the old channels': a local optimum that gradient steps do not leave.

What ``revive`` does to each dead channel c (a channel beyond the first ``old_m`` that rounds to non-zero in
fewer than 1 % of its elements at every rate point), with s_c its latent's spread before the gain on a few
training photos and t_q the old channels' median spread after the gain at rate point q:

    - gain[q, c] = alpha * t_q / s_c: its latents reach alpha times the old channels' spread, so they are
      no longer all rounded to 0; g_a's output bias for it loses the latent's mean (some sat at -5 before
      the gain, harmless while the gain rounded them to 0);
    - inv_gain[q, c] = beta * the old channels' median inverse gain: g_s, which learnt large weights for
      the rare non-zero values, first sees them faintly (the reconstruction barely changes) and training
      raises the inverse gain as g_s learns to use them;
    - the weights that read it in h_a's and the context model's first layers are zeroed (the hyperprior and
      the context of the live channels are unchanged; the zero weights learn from the first step);
    - the entropy-parameter rows that predict its mixture get zero weights, mean 0 and the scale of its new
      spread at the middle rate point (instead of the lower bound).

The reconstruction barely changes (by at most 0.01 dB at any rate point on the run above; not at all on a
freshly widened model, whose weights from new channels into old features are still zero); the rate grows by
what the revived channels cost until training rebalances (measured in docs/training-history.md).
"""

import argparse
import sys

import torch

from licodec.image import list_images
from licodec.train.checkpoint import load_checkpoint, save_checkpoint
from licodec.train.data import load_rgb
from licodec.zoo import model_from_state

DEAD = 0.01  # a channel is dead if at every rate point fewer than 1 % of its latents are non-zero


def latents(model: torch.nn.Module, photos: list, crop: int = 256) -> torch.Tensor:
    """g_a's output (before the gains) over central crops of ``photos`` (smaller for small photos), (M, elements)."""
    ys = []
    with torch.no_grad():
        for path in photos:
            rgb = load_rgb(path, downscale_jpeg=True, min_side=crop)
            side = min(crop, *rgb.shape[:2])
            top, left = (rgb.shape[0] - side) // 2, (rgb.shape[1] - side) // 2
            x = torch.from_numpy(rgb[top : top + side, left : left + side].copy()).permute(2, 0, 1)[None] / 255
            ys.append(model.g_a(x).flatten(2))
    return torch.cat(ys, dim=2)[0]


def revive(state: dict[str, torch.Tensor], y: torch.Tensor, old_m: int, alpha: float, beta: float,
           k_mixture: int) -> torch.Tensor:  # fmt: skip
    """Edit the state dict in place (see the module docstring); returns the revived channels."""
    gain, inv_gain = state["gain"], state["inv_gain"]
    m = gain.shape[1]
    offset, spread = y.mean(dim=1), y.std(dim=1)
    used = (torch.round(y[None] * gain[:, :, None]) != 0).float().mean(dim=2).amax(dim=0)  # (M,), max over rates
    new = torch.arange(old_m, m)
    dead = new[used[new] < DEAD]
    live = torch.arange(old_m)
    t = (spread[live] * gain[:, live]).median(dim=1).values  # (rates,)
    gain[:, dead] = alpha * t[:, None] / spread[dead]
    g_a_out = [name for name, v in state.items() if name.startswith("g_a.") and v.shape == (m,)][-1]
    state[g_a_out][dead] -= offset[dead]  # centred: their entropy model predicts mean 0
    inv_gain[:, dead] = beta * inv_gain[:, live].median(dim=1).values[:, None]
    for name in ("h_a.0.weight", "context.conv.weight"):
        state[name][:, dead] = 0.0
    w, b = state["entropy_parameters.4.weight"], state["entropy_parameters.4.bias"]
    blocks = w.shape[0] // m  # [weight logits (K), (family logits), means (K), raw scales (K)], M rows each
    for block in range(blocks):
        rows = block * m + dead
        w[rows] = 0.0
        b[rows] = alpha * t[len(t) // 2] if block >= blocks - k_mixture else 0.0
    return dead


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--old-channels", type=int, required=True, help="latent channels before widening (64)")
    ap.add_argument("--alpha", type=float, default=0.3, help="dead channels' new spread / the live ones'")
    ap.add_argument("--beta", type=float, default=0.05, help="dead channels' new inverse gain / the live ones'")
    ap.add_argument("--data", default="../shared/data/train", help="photos for the latent spread (never Kodak)")
    ap.add_argument("--photos", type=int, default=24)
    args = ap.parse_args()
    state = load_checkpoint(args.checkpoint)
    config = state["config"]
    if not config["arch"].startswith("cheng2020") or "K" not in config:
        sys.exit(f"revive: {config['arch']} is not a Cheng 2020 Gaussian-mixture model")
    model = model_from_state(config, state["model"])
    photos = list_images(args.data)
    photos = photos[:: max(1, len(photos) // args.photos)][: args.photos]
    dead = revive(state["model"], latents(model, photos), args.old_channels, args.alpha, args.beta, config["K"])
    print(f"revived {len(dead)} of {len(state['model']['gain'][0]) - args.old_channels} new latent channels")
    state["commands"] = [*state.get("commands", []), {"argv": sys.argv, "from_step": state["step"], "world": 1}]
    save_checkpoint(args.out, {k: v for k, v in state.items() if k not in ("optimizer", "scheduler")})


if __name__ == "__main__":
    main()
