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

from licodec.losses import training_objective
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


def save_carry(checkpoint: Path, out: Path) -> dict:
    """Write ``checkpoint`` without its optimizer state: the copy a long run carries from session to session.

    Adam's two moment estimates are two thirds of a checkpoint (90 of 136 MB for the N=112 run), and a session
    may submit at most 256 MiB of diffs, in which replacing a committed binary counts its old and new versions
    both. Without them the file is the fp32 weights plus the run's bookkeeping (step, elapsed time, RNG states,
    config, command history), and ``train --resume`` on it starts a fresh Adam that warms up again over
    ``--warmup-steps`` from the resumed step. Within a session, runs resume from their full checkpoints.
    """
    state = {k: v for k, v in load_checkpoint(checkpoint).items() if k != "optimizer"}
    save_checkpoint(out, state)
    return state


def model_from_state(config: dict, state_dict: dict, objective: dict | None = None) -> torch.nn.Module:
    """The model in eval mode; ``objective`` (metric and lambdas it was trained for) is kept as an attribute."""
    config = dict(config)
    model = create_model(config.pop("arch"), **config)
    model.load_state_dict({k: v.float() for k, v in state_dict.items()})
    model.objective = objective
    return model.eval()


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


def training_summary(log_csv: Path, last: int = 1000) -> dict:
    """Means of the last ``last`` logged steps of a run's log.csv (loss, bpp, PSNR over all rate points)."""
    import csv

    rows = list(csv.DictReader(open(log_csv)))[-last:]
    if not rows:
        return {}
    mean = {k: sum(float(r[k]) for r in rows) / len(rows) for k in ("loss", "bpp", "psnr")}
    return {"steps_averaged": len(rows), **{f"train_{k}": round(v, 4) for k, v in mean.items()}}


def _init_history(init: dict) -> dict:
    earlier = _init_history(init["init"]) if init.get("init") else None
    hours = round(init["elapsed"] / 3600, 3)
    return {
        "checkpoint": init["path"], "model": init["config"], "steps": init["step"], "wall_clock_hours": hours,
        "commands": init["commands"], "initialized_from": earlier,
        "total_wall_clock_hours": round(hours + (earlier["total_wall_clock_hours"] if earlier else 0.0), 3),
    }  # fmt: skip


def export_release(checkpoint: Path, out: Path, data_description: str, extra_commands: list | None = None) -> dict:
    """Ship a training checkpoint: fp16 safetensors plus ``<name>.json`` provenance beside it."""
    state = load_checkpoint(checkpoint)
    model = model_from_checkpoint(state)
    provenance = {
        "name": Path(out).stem,
        "model": state["config"],
        "steps": state["step"],
        "wall_clock_hours": round(state["elapsed"] / 3600, 3),
        "data": data_description,
        "commands": extra_commands or state.get("commands", []),
        "train_config": state.get("train_config", {}),
        "data_parallel_processes": state.get("world", 1),
        "final_training_metrics": training_summary(Path(checkpoint).parent / "log.csv"),
    }
    if state.get("init"):  # started from another run's weights (train --init): its history is part of these
        provenance["initialized_from"] = _init_history(state["init"])
        provenance["total_wall_clock_hours"] = round(
            provenance["wall_clock_hours"] + provenance["initialized_from"]["total_wall_clock_hours"], 3
        )
    export_weights(model, out, metadata={"steps": state["step"]})
    from licodec.zoo import _info

    provenance["fingerprint"] = _info(Path(out)).fingerprint
    atomic_write(Path(out).with_suffix(".json"), lambda tmp: Path(tmp).write_text(json.dumps(provenance, indent=2)))
    return provenance
