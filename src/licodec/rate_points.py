"""One more rate point above a trained variable-rate model's top one, without retraining the others.

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

import torch


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
