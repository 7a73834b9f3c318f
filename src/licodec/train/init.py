"""Start a wider model from a trained narrower one, without losing what it learned: more latent channels
(M, ``widen_latents``) or wider transforms (N of g_a and g_s, ``widen_transforms``).

A Cheng 2020 codec trained with M latent channels is embedded into the same architecture with M' > M (same
N): every old weight keeps its place, and the new channels are wired so that at the start

    - the reconstruction is unchanged: the new latents are scaled to almost zero by their gains (they round
      to 0) and the first layers that mix them into old features get zero weights for them;
    - the old channels' entropy parameters are unchanged: old outputs get zero weights for every new input;
    - the new channels cost almost no bits: their mixture predicts 0 with the smallest scale;
    - everything new can learn: new outputs start from the architecture's random init, and each zero weight
      multiplies a feature that is not zero, so it receives gradients from the first step.

Training then decides how to use the extra capacity (the old channels are a 64-number basis per 16x16 block,
see models/cheng2020.py). Layouts that are not "old channels first" are remapped: the entropy-parameter
network's input is [hyper features (2M), context features (2M)] and its output is P blocks of M channels.

Measured caveat: "can learn" is not "will learn". In the run widened from 64 to 192 channels, 21,000 steps
later only 8 of the 128 new channels were in use (non-zero in more than 1 % of the top rate point's elements
on Kodak): their gains stayed near 2 % of the old ones' and their predicted scales at the lower bound, where
a single non-zero value costs ~18 bits, a local optimum that gradient steps do not leave. ``revive.py``
switches such channels on in a trained model.
"""

from pathlib import Path

import torch
from torch import nn

from licodec.entropy.bounds import SCALE_BOUND
from licodec.train.checkpoint import load_checkpoint

NEW_GAIN = 0.01  # new latents start at 1 % of the old channels' mean gain: they round to 0


def widen_latents(old_state: dict[str, torch.Tensor], model: nn.Module, old_m: int) -> dict[str, torch.Tensor]:
    """A state dict for ``model`` (M' latent channels) that embeds ``old_state`` (same architecture and N,
    ``old_m`` latent channels). ``model``'s own (random) parameters supply the new entries."""
    new_m = model.gain.shape[1]
    if new_m < old_m:
        raise ValueError(f"cannot narrow a model from {old_m} to {new_m} latent channels")
    ppe = model.mixture.params_per_element
    remap_in = {"entropy_parameters.0.weight": _concat_map(old_m, new_m, parts=2, width=2)}
    remap_out = {
        "entropy_parameters.4.weight": _concat_map(old_m, new_m, parts=ppe, width=1),
        "entropy_parameters.4.bias": _concat_map(old_m, new_m, parts=ppe, width=1),
    }
    state = {}
    for name, new in model.state_dict().items():
        old = old_state[name]
        if old.shape == new.shape:
            state[name] = old.clone()
        elif name in ("gain", "inv_gain"):
            state[name] = _widen_gain(old, new_m, NEW_GAIN if name == "gain" else 1.0)
        else:
            state[name] = _embed(old, new.detach().clone(), remap_out.get(name), remap_in.get(name))
    _predict_zero(state, model, old_m, new_m)
    return state


def _concat_map(old_m: int, new_m: int, parts: int, width: int) -> torch.Tensor:
    """Indices of old channels in a layout of ``parts`` blocks of ``width * M`` channels each."""
    block = torch.arange(width * old_m)
    return torch.cat([p * width * new_m + block for p in range(parts)])


def _embed(old: torch.Tensor, new: torch.Tensor, out_map: torch.Tensor | None, in_map: torch.Tensor | None):
    """Copy ``old`` into ``new`` at (out_map, in_map) (default: the leading channels), and zero the weights
    from new inputs to old outputs. New outputs keep their random init."""
    out_map = torch.arange(old.shape[0]) if out_map is None else out_map
    if old.dim() == 1:
        new[out_map] = old
        return new
    in_map = torch.arange(old.shape[1]) if in_map is None else in_map
    new[out_map] = 0.0
    new[out_map[:, None], in_map[None, :]] = old
    return new


def _widen_gain(old: torch.Tensor, new_m: int, factor: float) -> torch.Tensor:
    """(rates, M) -> (rates, M'): new channels get the mean of the old ones at each rate, times ``factor``."""
    extra = old.mean(dim=1, keepdim=True).expand(-1, new_m - old.shape[1]) * factor
    return torch.cat([old, extra], dim=1)


def _predict_zero(state: dict, model: nn.Module, old_m: int, new_m: int) -> None:
    """The new channels' mixture parameters: zero weights from the hidden layer (they learn from the first
    step, as the hidden features are not zero), equal component weights, mean 0, the smallest scale."""
    k, ppe = model.mixture.k, model.mixture.params_per_element
    new_rows = torch.cat([p * new_m + torch.arange(old_m, new_m) for p in range(ppe)])
    state["entropy_parameters.4.weight"][new_rows] = 0.0
    bias = state["entropy_parameters.4.bias"].view(ppe, new_m)
    bias[:, old_m:] = 0.0
    bias[ppe - k :, old_m:] = SCALE_BOUND  # the last K blocks are the raw scales


def widen_transforms(old_state: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """A state dict for ``model`` whose g_a and g_s are wider (N' > N) than those of ``old_state``, with the
    same latent (M) and hyperprior.

    Every layer of the transforms keeps its old weights on its leading channels; old outputs get zero
    weights for the new inputs (GDN: zero gamma between new and old channels), new outputs keep their random
    init. By induction every old feature map, and so y and x_hat, is unchanged, while the new features are
    not zero, so that the zero weights reading them get gradients from the first step. Sub-pixel
    convolutions fit the same rule: pixel shuffle takes output channel c from conv channels 4c..4c+3, so a
    wider output appends its new channels at the end.
    """
    state = {}
    for name, new in model.state_dict().items():
        old = old_state[name]
        if old.shape == new.shape:
            state[name] = old.clone()
            continue
        if not name.startswith(("g_a.", "g_s.")) or old.dim() != new.dim():
            raise ValueError(f"widen_transforms: {name} changes shape {tuple(old.shape)} -> {tuple(new.shape)} "
                             "outside the transforms g_a and g_s")  # fmt: skip
        if any(o > n for o, n in zip(old.shape, new.shape, strict=True)):
            raise ValueError(f"cannot narrow {name} from {tuple(old.shape)} to {tuple(new.shape)}")
        state[name] = _embed(old, new.detach().clone(), None, None)
    return state


def initialize(model: torch.nn.Module, path: str) -> dict:
    """Load another run's weights into a new run's model (widening its latent if M grew, or its transforms if N
    grew: licodec/widen.py); returns what the provenance keeps of that run."""
    source = load_checkpoint(Path(path))
    old, new = _widths(source["config"]), _widths(model.config)
    if old["rest"] != new["rest"] or old["hyper"] != new["hyper"] or (old["M"] != new["M"] and old["N"] != new["N"]):
        raise ValueError(f"--init: {path} is {source['config']}, which does not fit {model.config} (a new run "
                         "may widen either the latent M or the transforms N, with the same hyperprior)")  # fmt: skip
    if old["M"] != new["M"]:
        model.load_state_dict(widen_latents(source["model"], model, old["M"]))
    elif old["N"] != new["N"]:
        model.load_state_dict(widen_transforms(source["model"], model))
    else:
        model.load_state_dict(source["model"])
    return {"path": str(path), "config": source["config"], "step": source["step"], "elapsed": source["elapsed"],
            "commands": source.get("commands", []), "init": source.get("init")}  # fmt: skip


def _widths(config: dict) -> dict:
    """A Cheng 2020 config as its widths (N of the transforms, M of the latent, that of the hyperprior) and
    the rest, with the defaults (M = N_hyper = N) spelled out."""
    rest = dict(config)
    n = rest.pop("N", None)
    m, hyper = rest.pop("M", None) or n, rest.pop("N_hyper", None) or n
    return {"N": n, "M": m, "hyper": hyper, "rest": rest}
