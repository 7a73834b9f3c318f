"""Self-describing checkpoints and shipped weights.

A training checkpoint (torch.save) holds the model config, weights, optimizer, step, RNG states and
elapsed time; shipped weights are safetensors with the config in their metadata. Both are written
atomically: a crash leaves the previous file intact.
"""

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from licodec.models import create_model
from licodec.models.registry import state_fingerprint


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` and rename the result onto ``path`` (same folder, so the rename is atomic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path: Path, state: dict) -> None:
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


def model_from_state(config: dict, state_dict: dict) -> torch.nn.Module:
    config = dict(config)
    model = create_model(config.pop("arch"), **config)
    model.load_state_dict({k: v.float() for k, v in state_dict.items()})
    return model.eval()


def export_weights(model: torch.nn.Module, path: Path, metadata: dict | None = None, half: bool = True) -> None:
    """Write shipped weights: safetensors (fp16 by default) with the model config in the metadata."""
    tensors = {k: (v.half() if half and v.is_floating_point() else v).contiguous()
               for k, v in model.state_dict().items()}  # fmt: skip
    fingerprint = state_fingerprint(tensors).hex()  # of the weights as they will be loaded
    meta = {"config": json.dumps(model.config), "fingerprint": json.dumps(fingerprint),
            **{k: json.dumps(v) for k, v in (metadata or {}).items()}}  # fmt: skip
    atomic_write(Path(path), lambda tmp: save_file(tensors, tmp, metadata=meta))


def load_weights(path: Path) -> torch.nn.Module:
    with safe_open(str(path), "pt") as f:
        config = json.loads(f.metadata()["config"])
    return model_from_state(config, load_file(str(path)))
