"""Shipped weights: safetensors files inside the package, found by name or by what a .lic header asks for.

A weights file carries its model config and fingerprint in its metadata; its provenance (command, data,
steps, hours, metrics) sits beside it as ``<name>.json``. ``weights/DEFAULT`` names the default.
"""

import json
import pickle
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from licodec.coding.container import Header
from licodec.files import atomic_write
from licodec.losses import training_objective
from licodec.models import create_model, weights_fingerprint
from licodec.models.prepared import freeze, state_fingerprint

WEIGHTS_DIR = Path(__file__).parent / "weights"

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct

# What a training checkpoint holds beyond tensors and plain Python data: numpy's RNG state, a tuple with a
# uint32 array. Unpickling anything else could run code, so a .pt passed with --model is refused instead. The
# unpickler matches globals by the module path written into the file, which numpy 2 renamed: both are listed.
CHECKPOINT_GLOBALS = [
    np.ndarray,
    np.dtype,
    type(np.dtype(np.uint32)),
    (_reconstruct, "numpy._core.multiarray._reconstruct"),
    (_reconstruct, "numpy.core.multiarray._reconstruct"),
]
# torch's allow-list is process-wide and safe_globals() removes its entries on leaving: two loads in two
# threads must not take the list away from each other mid-load.
_CHECKPOINT_LOCK = threading.Lock()

# What building a model from a file's config and tensors raises when the file does not describe one: an
# unknown architecture or option, a config of the wrong type, tensors missing or of the wrong shape.
_BUILD_ERRORS = (KeyError, TypeError, ValueError, AttributeError, RuntimeError)


class ModelFileError(LookupError, ValueError):
    """A weights file or checkpoint that does not load as a model; the message names the file and the reason.

    A LookupError, as ``load_model``'s other failures, so callers that report those report this one too."""

    def __init__(self, path: str | Path, reason: str):
        reason = " ".join(str(reason).split())  # torch and safetensors write several lines; a CLI error is one
        super().__init__(f"{path}: {reason[:300] + '...' if len(reason) > 300 else reason}")
        self.path = Path(path)


def _unpickling_reason(error: Exception) -> str:
    """The lines of torch's weights-only refusal that name what was refused, without its general advice."""
    advice = ("Weights only load failed", "Please file an issue", "Check the documentation", "In PyTorch 2.6")
    lines = [line.strip() for line in str(error).splitlines()]
    lines = [line.replace("WeightsUnpickler error:", "").strip() for line in lines if not line.startswith(advice)]
    return "; ".join(line for line in lines if line) or type(error).__name__


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


def _read_safetensors(path: Path, read: Callable[[str], object]):
    """``read(path)`` with its failures as ModelFileError, except a missing file: the callers that read a
    path they were given (train --resume, export) report FileNotFoundError themselves."""
    try:
        return read(str(path))
    except FileNotFoundError:
        raise
    except OSError as e:
        raise ModelFileError(path, f"cannot read ({e.strerror or e})") from e
    except Exception as e:  # safetensors reports every malformed file as its own SafetensorError
        raise ModelFileError(path, f"not a safetensors file ({e})") from e


def _safetensors_metadata(path: str) -> dict:
    with safe_open(path, "pt") as f:
        return f.metadata() or {}


def _metadata(path: Path) -> dict:
    """The metadata of a licodec weights file, with its model config checked to name an architecture."""
    meta = _read_safetensors(path, _safetensors_metadata)
    if "config" not in meta:
        raise ModelFileError(path, "no model config in its metadata: not licodec weights")
    try:
        config = json.loads(meta["config"])
    except json.JSONDecodeError as e:
        raise ModelFileError(path, f"model config in its metadata is not JSON ({e})") from e
    if not isinstance(config, dict) or not isinstance(config.get("arch"), str):
        raise ModelFileError(path, f"model config {meta['config'][:80]!r} names no architecture")
    return {**meta, "config": config}


def info(path: Path) -> WeightsInfo:
    meta = _metadata(path)
    try:
        fingerprint = json.loads(meta.get("fingerprint", '""'))
    except json.JSONDecodeError as e:
        raise ModelFileError(path, f"weights fingerprint in its metadata is not JSON ({e})") from e
    return WeightsInfo(path.stem, path, meta["config"]["arch"], meta["config"], fingerprint)


def model_from_state(config: dict, state_dict: dict, objective: dict | None = None) -> torch.nn.Module:
    """The model in eval mode; ``objective`` (metric and lambdas it was trained for) is kept as an attribute."""
    config = dict(config)
    model = create_model(config.pop("arch"), **config)
    model.load_state_dict({k: v.float() for k, v in state_dict.items()})
    model.objective = objective
    return model.eval()


def read_checkpoint(path: Path) -> dict:
    """A training checkpoint (torch.save of a dict with at least "config" and "model"), loaded without running
    any code it may hold: only tensors, plain data and CHECKPOINT_GLOBALS are unpickled."""
    try:
        with _CHECKPOINT_LOCK, torch.serialization.safe_globals(CHECKPOINT_GLOBALS):
            state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise  # as _read_safetensors
    except OSError as e:
        raise ModelFileError(path, f"cannot read ({e.strerror or e})") from e
    except pickle.UnpicklingError as e:
        raise ModelFileError(path, f"not a training checkpoint, or one holding more than tensors and plain data "
                                   f"({_unpickling_reason(e)})") from e  # fmt: skip
    except EOFError as e:
        raise ModelFileError(path, "not a training checkpoint: the file ends early (empty or truncated)") from e
    except Exception as e:  # torch.load on a damaged file: RuntimeError from its zip reader, ...
        first = str(e).split(". ")[0]  # torch appends paragraphs of advice
        raise ModelFileError(path, f"not a training checkpoint ({type(e).__name__}: {first})") from e
    if not (isinstance(state, dict) and isinstance(state.get("config"), dict) and isinstance(state.get("model"), dict)):
        raise ModelFileError(path, f"not a training checkpoint: holds a {type(state).__name__}, not a dict with a "
                                   "model config and weights")  # fmt: skip
    return state


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
    if model.objective is not None:
        meta["objective"] = json.dumps(model.objective)
    atomic_write(Path(path), lambda tmp: save_file(tensors, tmp, metadata=meta))


def _build(path: Path, config: dict, make: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    try:
        return make()
    except _BUILD_ERRORS as e:
        shown = json.dumps(config, default=repr)
        shown = shown if len(shown) <= 120 else shown[:117] + "..."
        raise ModelFileError(path, f"does not hold a model this licodec builds from config {shown} "
                                   f"({type(e).__name__}: {e})") from e  # fmt: skip


def load_weights(path: Path) -> torch.nn.Module:
    """The model of a licodec weights file; raises ModelFileError when the file is not one."""
    meta = _metadata(path)
    try:  # only encoder-side refinement needs it, and it says so when it is missing or malformed
        objective = json.loads(meta["objective"]) if "objective" in meta else None
    except json.JSONDecodeError:
        objective = None
    tensors = _read_safetensors(path, load_file)
    return _build(path, meta["config"], lambda: model_from_state(meta["config"], tensors, objective))


def available_weights(folder: Path = WEIGHTS_DIR) -> list[WeightsInfo]:
    return [info(p) for p in sorted(Path(folder).glob("*.safetensors"))]


def default_weights_name(folder: Path = WEIGHTS_DIR) -> str | None:
    marker = Path(folder) / "DEFAULT"
    return marker.read_text().strip() if marker.exists() else None


@lru_cache(maxsize=8)
def _load_cached(path: str) -> torch.nn.Module:
    """Shipped weights, loaded once per process and frozen: every caller shares one immutable model."""
    return freeze(load_weights(Path(path)))


def load_model(spec: str | None = None) -> torch.nn.Module:
    """Load a model from a shipped weights name, a .safetensors file or a training checkpoint (.pt).

    ``None`` means the default shipped weights. Raises LookupError with the valid choices otherwise, and its
    subclass ModelFileError, naming the file and the reason, for a file that is not a model.
    """
    spec = spec or default_weights_name()
    if spec is None:
        raise LookupError("no shipped weights are installed; pass --model PATH to a .safetensors or .pt file")
    path = Path(spec)
    if path.suffix == ".pt" and path.exists():
        state = read_checkpoint(path)
        return freeze(_build(path, state["config"], lambda: model_from_checkpoint(state)))
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
