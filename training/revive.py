"""Switch dead latent channels back on in a checkpoint (licodec/revive.py says why and how).

    python training/revive.py runs/NAME/last.pt -o runs/revived.pt --old-channels 64 [--alpha 0.3 --beta 0.05]

The checkpoint keeps its step, time and command history, with this command added; a new run starts from it
with ``licodec train --init`` (fresh Adam, ``--warmup-steps``), so the exported provenance records the
surgery. Its optimizer state is dropped: it belonged to the weights before the surgery.
"""

import argparse
import sys

from licodec.checkpoint import load_checkpoint, model_from_state, save_checkpoint
from licodec.data import list_images
from licodec.revive import latents, revive


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
