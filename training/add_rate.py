"""Give a variable-rate checkpoint one more rate point above its top one.

    python training/add_rate.py runs/NAME/last.pt -o runs/q7.pt

The new gain vectors continue the top two geometrically (licodec/rate_points.py). The checkpoint keeps its
step, time and command history, with this command added; a new run starts from it with
``licodec train --init ... --rates R+1 --lambdas ...`` (fresh Adam, ``--warmup-steps``).
Its optimizer state is dropped: it belonged to the smaller gain tables.
"""

import argparse
import sys

from licodec.checkpoint import load_checkpoint, save_checkpoint
from licodec.losses import training_objective
from licodec.rate_points import add_rate_point


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
