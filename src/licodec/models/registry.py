"""One registry of model architectures: name -> builder, with the builder's config stored on the model.

The model families register themselves when imported; licodec/models/__init__.py imports them all, and any
import of this module goes through that package first."""

from collections.abc import Callable

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
