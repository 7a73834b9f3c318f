"""Self-describing checkpoints and shipped weights.

A training checkpoint (torch.save) holds the model config, weights, optimizer, step, RNG states and
elapsed time; shipped weights are safetensors with the config in their metadata. Both are written
atomically: a crash leaves the previous file intact.
"""

import json
from pathlib import Path

import torch

from licodec.files import atomic_write
from licodec.zoo import export_weights, info, model_from_checkpoint, read_checkpoint


def save_checkpoint(path: Path, state: dict) -> None:
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path) -> dict:
    return read_checkpoint(path)


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
