"""Self-describing checkpoints and shipped weights.

A training checkpoint (torch.save) holds the model config, weights, optimizer, step, RNG states and
elapsed time; shipped weights are safetensors with the config in their metadata. Both are written
atomically: a crash leaves the previous file intact.
"""

import base64
import json
from pathlib import Path

import numpy as np
import torch

from licodec.files import atomic_write
from licodec.zoo import export_weights, info, load_weights, model_from_checkpoint, read_checkpoint


def save_checkpoint(path: Path, state: dict) -> None:
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path) -> dict:
    """A full checkpoint (``last.pt``), or a carried run's folder state (``state.json`` beside its weights)."""
    path = Path(path)
    if not path.exists() and (path.parent / CARRY_STATE).exists():
        return load_carry(path.parent)
    return read_checkpoint(path)


CARRY_WEIGHTS, CARRY_STATE = "weights.safetensors", "state.json"


def save_carry(checkpoint: Path, folder: Path) -> dict:
    """Write what a long run carries between machines: ``folder/weights.safetensors`` (the fp16 weights, the
    same file ``licodec export`` ships) and ``folder/state.json`` (step, elapsed and CPU time, RNG states,
    train config, command history, provenance of --init): no Adam state and no second copy of the weights.

    ``train --resume`` in that folder (or with --out pointing at it) resumes from them with a fresh Adam that
    warms up over ``--warmup-steps``; within one machine, runs resume exactly from their full ``last.pt``.
    """
    state = load_checkpoint(checkpoint)
    folder = Path(folder)
    export_weights(model_from_checkpoint(state), folder / CARRY_WEIGHTS, metadata={"steps": state["step"]})
    carried = {k: v for k, v in state.items() if k not in ("model", "optimizer", "rng")}
    carried["rng"] = [_rng_to_json(r) for r in state["rng"]]
    text = json.dumps(carried, indent=1, default=list)
    atomic_write(folder / CARRY_STATE, lambda tmp: Path(tmp).write_text(text))
    return carried


def load_carry(folder: Path) -> dict:
    """The checkpoint that ``save_carry`` wrote into ``folder``, without an optimizer state."""
    folder = Path(folder)
    state = json.loads((folder / CARRY_STATE).read_text())
    model = load_weights(folder / CARRY_WEIGHTS)
    state["model"] = {k: v.float() for k, v in model.state_dict().items()}
    state["rng"] = [_rng_from_json(r) for r in state["rng"]]
    return state


def _rng_to_json(rng: dict) -> dict:
    kind, keys, pos, has_gauss, gauss = rng["numpy"]
    return {"torch": base64.b64encode(rng["torch"].numpy().tobytes()).decode(),
            "numpy": [kind, [int(k) for k in keys], int(pos), int(has_gauss), float(gauss)],
            "python": [rng["python"][0], list(rng["python"][1]), rng["python"][2]]}  # fmt: skip


def _rng_from_json(rng: dict) -> dict:
    kind, keys, pos, has_gauss, gauss = rng["numpy"]
    return {"torch": torch.frombuffer(bytearray(base64.b64decode(rng["torch"])), dtype=torch.uint8).clone(),
            "numpy": (kind, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss),
            "python": (rng["python"][0], tuple(rng["python"][1]), rng["python"][2])}  # fmt: skip


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
    provenance["fingerprint"] = info(Path(out)).fingerprint
    atomic_write(Path(out).with_suffix(".json"), lambda tmp: Path(tmp).write_text(json.dumps(provenance, indent=2)))
    return provenance
