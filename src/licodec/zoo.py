"""Shipped weights: safetensors files inside the package, found by name or by what a .lic header asks for.

A weights file carries its model config and fingerprint in its metadata; its provenance (command, data,
steps, hours, metrics) sits beside it as ``<name>.json``. ``weights/DEFAULT`` names the default.
"""

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
from safetensors import safe_open

from licodec.checkpoint import load_checkpoint, load_weights, model_from_checkpoint
from licodec.coding.container import Header
from licodec.models import weights_fingerprint

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class WeightsInfo:
    name: str
    path: Path
    arch: str
    config: dict
    fingerprint: str  # hex, as in .lic headers

    @property
    def rates(self) -> int:
        return self.config.get("rates", 1)


def _info(path: Path) -> WeightsInfo:
    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    config = json.loads(meta["config"])
    return WeightsInfo(path.stem, path, config["arch"], config, json.loads(meta.get("fingerprint", '""')))


def available_weights(folder: Path = WEIGHTS_DIR) -> list[WeightsInfo]:
    return [_info(p) for p in sorted(Path(folder).glob("*.safetensors"))]


def default_weights_name(folder: Path = WEIGHTS_DIR) -> str | None:
    marker = Path(folder) / "DEFAULT"
    return marker.read_text().strip() if marker.exists() else None


@lru_cache(maxsize=8)
def _load_cached(path: str) -> torch.nn.Module:
    return load_weights(Path(path))


def load_model(spec: str | None = None) -> torch.nn.Module:
    """Load a model from a shipped weights name, a .safetensors file or a training checkpoint (.pt).

    ``None`` means the default shipped weights. Raises LookupError with the valid choices otherwise.
    """
    spec = spec or default_weights_name()
    if spec is None:
        raise LookupError("no shipped weights are installed; pass --model PATH to a .safetensors or .pt file")
    path = Path(spec)
    if path.suffix == ".pt" and path.exists():
        return model_from_checkpoint(load_checkpoint(path))
    if path.suffix == ".safetensors" and path.exists():
        return _load_cached(str(path.resolve()))
    for info in available_weights():
        if info.name == spec:
            return _load_cached(str(info.path.resolve()))
    names = ", ".join(w.name for w in available_weights()) or "none installed"
    raise LookupError(f"unknown model {spec!r}: not a file, and shipped weights are: {names}")


def resolve(header: Header) -> torch.nn.Module:
    """The shipped model that wrote a file, by architecture and weights fingerprint."""
    for info in available_weights():
        if info.arch == header.model and info.fingerprint == header.fingerprint.hex():
            model = _load_cached(str(info.path.resolve()))
            if weights_fingerprint(model) == header.fingerprint:
                return model
    raise LookupError(
        f"the file was written by {header.model} with weights {header.fingerprint.hex()}, which are not "
        "installed; pass --model with those weights"
    )
