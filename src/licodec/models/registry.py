"""One registry of model architectures: name -> builder, with the builder's config stored on the model.

The model families register themselves when imported; licodec/models/__init__.py imports them all, and any
import of this module goes through that package first."""

import hashlib
from collections.abc import Callable

import torch
from torch import nn

_BUILDERS: dict[str, Callable[..., nn.Module]] = {}
_DEFAULTS: dict[str, dict] = {}


def register(name: str, **defaults) -> Callable:
    """Register ``builder(**config)`` under ``name``; ``defaults`` is the paper's configuration."""

    def wrap(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _BUILDERS:
            raise ValueError(f"model {name!r} registered twice")
        _BUILDERS[name] = builder
        _DEFAULTS[name] = defaults
        return builder

    return wrap


def list_models() -> list[str]:
    return sorted(_BUILDERS)


def default_config(name: str) -> dict:
    return dict(_DEFAULTS[name])


def create_model(name: str, **config) -> nn.Module:
    """Build architecture ``name``; ``config`` overrides its defaults (e.g. N=64, K=1, rates=6)."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown model {name!r}; registered: {', '.join(sorted(_BUILDERS))}")
    unknown = set(config) - set(_DEFAULTS[name])
    if unknown:
        raise ValueError(f"model {name!r} has no options {sorted(unknown)}; options: {sorted(_DEFAULTS[name])}")
    full = {**_DEFAULTS[name], **config}
    model = _BUILDERS[name](**full)
    model.config = {"arch": name, **full}
    return model


def weights_fingerprint(model: nn.Module) -> bytes:
    """8 bytes of SHA-256 over the float32 weights: a file records which weights wrote it.

    Cached on the model until any parameter or buffer is modified (tensor version counters).
    """
    state = model.state_dict()
    versions = tuple((k, v.data_ptr(), v._version) for k, v in state.items())
    cached = getattr(model, "_fingerprint_cache", None)
    if cached is not None and cached[0] == versions:
        return cached[1]
    digest = state_fingerprint(state)
    object.__setattr__(model, "_fingerprint_cache", (versions, digest))
    return digest


def state_fingerprint(state_dict: dict) -> bytes:
    digest = hashlib.sha256()
    for key, value in sorted(state_dict.items()):
        digest.update(key.encode())
        digest.update(value.detach().to(torch.float32).contiguous().numpy().tobytes())
    return digest.digest()[:8]
