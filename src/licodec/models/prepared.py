"""What coding derives from a model's weights, built once: their fingerprint (which a file records), float64
copies of the parameter networks the entropy coder runs (models/base.py, ``coding_networks``), the tables of
the factorized densities, and what decoders derive on first use (the int8 synthesis of ``decode --fast``).

Weights loaded for use (licodec.zoo) are frozen and prepared at load, so encoders and decoders in any number
of threads share one immutable Prepared and never touch the model's own modules. A model that is still
changing (training, tests) is prepared afresh on each call.
"""

import copy
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from licodec.entropy import FactorizedDensity
from licodec.entropy.tables import ChannelTables, channel_tables


@dataclass(frozen=True)
class Prepared:
    fingerprint: bytes  # 8 bytes of SHA-256 over the float32 weights
    networks: nn.ModuleDict  # float64, eval-mode copies of the model's coding networks
    factorized: dict[str, ChannelTables]  # per factorized density (by module name): its tables per channel
    _derived: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def derive(self, key, make: Callable):
        """``make()``, computed once for these weights (the first caller builds it; the others wait)."""
        with self._lock:
            if key not in self._derived:
                self._derived[key] = make()
            return self._derived[key]


def state_fingerprint(state_dict: dict) -> bytes:
    digest = hashlib.sha256()
    for key, value in sorted(state_dict.items()):
        digest.update(key.encode())
        digest.update(value.detach().to(torch.float32).contiguous().numpy().tobytes())
    return digest.digest()[:8]


def build(model: nn.Module) -> Prepared:
    networks = {name: copy.deepcopy(getattr(model, name)).double().eval() for name in model.coding_networks}
    with torch.no_grad():
        factorized = {name: channel_tables(m) for name, m in model.named_modules() if isinstance(m, FactorizedDensity)}
    return Prepared(state_fingerprint(model.state_dict()), nn.ModuleDict(networks).requires_grad_(False), factorized)


def freeze(model: nn.Module) -> nn.Module:
    """Mark loaded weights as final: no gradients for them, and their Prepared built now, once."""
    model.requires_grad_(False)
    object.__setattr__(model, "_prepared", build(model))  # not a submodule: stays out of state_dict
    return model


def prepare(model: nn.Module) -> Prepared:
    """The Prepared built when the weights were frozen, else one built now."""
    prepared = model.__dict__.get("_prepared")
    return prepared if prepared is not None else build(model)


def weights_fingerprint(model: nn.Module) -> bytes:
    """The fingerprint a .lic file records for these weights."""
    prepared = model.__dict__.get("_prepared")
    return prepared.fingerprint if prepared is not None else state_fingerprint(model.state_dict())
