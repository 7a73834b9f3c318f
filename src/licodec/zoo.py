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
from safetensors.torch import load_file, save_file

from licodec.coding.container import Header
from licodec.files import atomic_write
from licodec.losses import training_objective
from licodec.models import create_model, weights_fingerprint
from licodec.models.registry import state_fingerprint

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


def info(path: Path) -> WeightsInfo:
    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    config = json.loads(meta["config"])
    return WeightsInfo(path.stem, path, config["arch"], config, json.loads(meta.get("fingerprint", '""')))


def model_from_state(config: dict, state_dict: dict, objective: dict | None = None) -> torch.nn.Module:
    """The model in eval mode; ``objective`` (metric and lambdas it was trained for) is kept as an attribute."""
    config = dict(config)
    model = create_model(config.pop("arch"), **config)
    model.load_state_dict({k: v.float() for k, v in state_dict.items()})
    model.objective = objective
    return model.eval()


def read_checkpoint(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


def model_from_checkpoint(state: dict) -> torch.nn.Module:
    train_config = state.get("train_config")
    objective = training_objective(train_config, state["config"].get("rates", 1)) if train_config else None
    return model_from_state(state["config"], state["model"], objective)


def export_weights(model: torch.nn.Module, path: Path, metadata: dict | None = None, half: bool = True) -> None:
    """Write shipped weights: safetensors (fp16 by default) with the model config in the metadata."""
    tensors = {k: (v.half() if half and v.is_floating_point() else v).contiguous()
               for k, v in model.state_dict().items()}  # fmt: skip
    fingerprint = state_fingerprint(tensors).hex()  # of the weights as they will be loaded
    meta = {"config": json.dumps(model.config), "fingerprint": json.dumps(fingerprint),
            **{k: json.dumps(v) for k, v in (metadata or {}).items()}}  # fmt: skip
    if getattr(model, "objective", None) is not None:
        meta["objective"] = json.dumps(model.objective)
    atomic_write(Path(path), lambda tmp: save_file(tensors, tmp, metadata=meta))


def load_weights(path: Path) -> torch.nn.Module:
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    try:  # only encoder-side refinement needs it, and it says so when it is missing or malformed
        objective = json.loads(meta["objective"]) if "objective" in meta else None
    except json.JSONDecodeError:
        objective = None
    return model_from_state(json.loads(meta["config"]), load_file(str(path)), objective)


def available_weights(folder: Path = WEIGHTS_DIR) -> list[WeightsInfo]:
    return [info(p) for p in sorted(Path(folder).glob("*.safetensors"))]


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
        return model_from_checkpoint(read_checkpoint(path))
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
