"""Give a variable-rate checkpoint one more rate point above its top one.

    python tools/add_rate.py runs/NAME/last.pt -o runs/q7.pt

The new gain vectors continue the top two geometrically (below). The checkpoint keeps its
step, time and command history, with this command added; a new run starts from it with
``licodec train --init ... --rates R+1 --lambdas ...`` (fresh Adam, ``--warmup-steps``).
Its optimizer state is dropped: it belonged to the smaller gain tables.


A variable-rate model (models/hyperprior.py) reaches its rate points through per-channel gain vectors. A new
top point gets gain vectors that continue the top two geometrically, channel by channel,

    gain[new] = gain[top]^2 / gain[top-1]        (the same for inv_gain),

so the trained points code exactly as before and the new one starts where extrapolating them puts it; training
with its own lambda (``licodec train --init ... --rates R+1 --lambdas ...``) then moves it. Measured on the
shipped 6-point model (N=64, M=192) on 5 Kodak images: the extrapolated 7th point sits at 1.007 bpp, 31.83 dB
next to the 6th's 0.823 bpp, 31.72 dB, before any training. (In that model some nearly dead channels'
gains change sign or jump between the top two points, and so does their extrapolation: measured on two
images, replacing their ratios by the median changed the new point by 0.001 bpp and 0.01 dB.)
"""

import argparse
import sys

import torch

from licodec.losses import training_objective
from licodec.train.checkpoint import load_checkpoint, save_checkpoint


def add_rate_point(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A copy of a variable-rate model's state dict with one more rate point at the top."""
    if "gain" not in state:
        raise ValueError("this model has no gain vectors (not a variable-rate model)")
    state = dict(state)
    for name in ("gain", "inv_gain"):
        table = state[name]
        if table.shape[0] < 2:
            raise ValueError("a new rate point continues the top two; this model has one")
        state[name] = torch.cat([table, (table[-1] ** 2 / table[-2])[None]])
        if not torch.isfinite(state[name]).all():
            raise ValueError(f"{name} has zero or non-finite entries at the top two rate points")
    return state


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--lmbda", type=float, help="the new point's lambda (default: the top two's, continued)")
    args = ap.parse_args()
    state = load_checkpoint(args.checkpoint)
    try:
        state["model"] = add_rate_point(state["model"])
    except ValueError as e:
        sys.exit(f"add_rate: {e}")
    rates = state["config"]["rates"] = state["model"]["gain"].shape[0]
    train = state.get("train_config")
    if train is not None:  # the objective a checkpoint reports (objective metadata, refine) needs R+1 lambdas
        lambdas = list(training_objective(train, rates - 1)["lambdas"])
        train["lambdas"] = (*lambdas, lambdas[-1] ** 2 / lambdas[-2] if args.lmbda is None else args.lmbda)
        train["model_options"] = {**train.get("model_options", {}), "rates": rates}
    print(f"{args.out}: {state['config']['rates']} rate points")
    state["commands"] = [*state.get("commands", []), {"argv": sys.argv, "from_step": state["step"], "world": 1}]
    save_checkpoint(args.out, {k: v for k, v in state.items() if k not in ("optimizer", "scheduler")})


if __name__ == "__main__":
    main()
