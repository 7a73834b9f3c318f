"""Training: lambda * D + R with Adam, resumable exactly, data-parallel through torch.distributed.

Single process:   licodec train --data DIR ...
Several:          torchrun --nproc-per-node 2 -m licodec train --data DIR ...   (gloo on CPU, NCCL on GPU)
Each process draws its own batches; DDP averages gradients, so P processes with batch B train like one
process with batch P*B.
"""

import math
import random
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from licodec.fast.precision import bf16_native
from licodec.image import list_images
from licodec.losses import LAMBDAS, rate_distortion
from licodec.models import create_model
from licodec.models.prepared import state_fingerprint
from licodec.train.checkpoint import CARRY_STATE, load_checkpoint, save_checkpoint
from licodec.train.config import TrainConfig
from licodec.train.data import CropBatches
from licodec.train.distributed import StopRequest, agree, ignore_stop_signals, rank_and_world, torch_threads
from licodec.train.init import initialize
from licodec.train.log import CsvLog
from licodec.train.validate import validate


def learning_rate(cfg: TrainConfig, step: int) -> float:
    """The step schedule (flat, x0.1 from lr_drop_step, a linear warm-up from 0 after a fresh Adam) or the
    cosine one of the JPEG AI reference training: linear warm-up from lr/10 to lr, cosine from lr to lr_min
    at cfg.steps."""
    if cfg.schedule == "cosine":
        if step < cfg.warmup_steps:
            return cfg.lr * (0.1 + 0.9 * step / cfg.warmup_steps)
        t = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps))
        return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * t))
    if cfg.schedule != "step":
        raise ValueError(f"unknown learning-rate schedule {cfg.schedule!r}; valid: step, cosine")
    drop = cfg.lr_drop_step if cfg.lr_drop_step is not None else int(0.9 * cfg.steps)
    warmup = min(1.0, (step - cfg.warmup_start + 1) / cfg.warmup_steps) if cfg.warmup_steps else 1.0
    return cfg.lr * warmup * (0.1 if step >= drop else 1.0)


def latent_channels_in_use(y_hats: list[torch.Tensor], share: float = 0.01) -> int:
    """Channels of quantized latents (B, M, h, w) with more than ``share`` of their elements non-zero."""
    return sum(int(((y != 0).float().mean(dim=(0, 2, 3)) > share).sum()) for y in y_hats)


def _rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def build(cfg: TrainConfig) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    model = create_model(cfg.arch, **cfg.model_options)
    model.train().to(cfg.device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model, torch.optim.Adam(model.parameters(), lr=cfg.lr)


@dataclass
class Run:
    """A run in progress: its config, model and optimizer, where it stands, and this process's place in it."""

    cfg: TrainConfig
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    lambdas: torch.Tensor  # (rates,)
    rank: int
    world: int
    step: int
    start: float  # time.time() at step 0 (a resumed run counts its earlier wall time)
    cpu_start: float  # time.process_time() at step 0, likewise
    commands: list
    init: dict | None
    skipped: int = 0
    last_save: float = 0.0

    @property
    def checkpoint_path(self) -> Path:
        return Path(self.cfg.out) / "last.pt"

    def cpu_seconds(self) -> float:
        return time.process_time() - self.cpu_start


def train(cfg: TrainConfig, resume: bool = False) -> Path:
    """Train until ``cfg.steps`` (or ``cfg.cpu_hours``, or a stop signal); returns the checkpoint path.
    ``resume`` continues from out/last.pt. Thread count and signal handlers are restored on return."""
    with torch_threads(cfg.threads), StopRequest() as stop:
        run = start_run(cfg, resume)
        ddp = run.model
        if run.world > 1:  # the only buffers are constant masks: nothing to sync before each forward
            ddp = torch.nn.parallel.DistributedDataParallel(run.model, forward_sync_buffers=False)
        files, val_files = _split_files(run.cfg)
        log = CsvLog(Path(run.cfg.out) / "log.csv", run.step) if run.rank == 0 else None
        bar = tqdm(total=run.cfg.steps, initial=run.step, disable=run.rank != 0 or not run.cfg.progress,
                   dynamic_ncols=True)  # fmt: skip
        run.last_save = time.time()
        for x, quality in _loader(run, files):
            row = train_step(run, ddp, x, quality)
            if log is not None:
                log.write(**row)
                bar.update(1)
                bar.set_postfix(loss=f"{row['loss']:.3f}", bpp=f"{row['bpp']:.3f}", psnr=f"{row['psnr']:.2f}")
            if run.rank == 0 and val_files and run.cfg.val_every and run.step % run.cfg.val_every == 0:
                validate(run.model, val_files, run.step, Path(run.cfg.out) / "val.csv")
            if _maybe_checkpoint(run, stop):
                break
        bar.close()
        if run.world > 1:
            dist.barrier()
    return run.checkpoint_path


def start_run(cfg: TrainConfig, resume: bool) -> Run:
    """The run at its first step, or where ``out/last.pt`` left it."""
    rank, world = rank_and_world()
    if cfg.mixed_precision and cfg.device == "cpu" and not bf16_native():
        cfg = replace(cfg, mixed_precision=False)  # emulated bfloat16 is several times slower than float32
        if rank == 0:
            print("this CPU has no native bfloat16 (AVX512-BF16 or AMX): training in float32", file=sys.stderr)
    torch.manual_seed(cfg.seed + rank)
    ckpt_path = Path(cfg.out) / "last.pt"
    if resume and not (ckpt_path.exists() or (ckpt_path.parent / CARRY_STATE).exists()):
        raise FileNotFoundError(f"--resume given but neither {ckpt_path} nor a carried {CARRY_STATE} exists")
    state = load_checkpoint(ckpt_path) if resume else None
    if state is not None:
        cfg = _resumed_config(cfg, state)
    model, optimizer = build(cfg)
    command = {"argv": sys.argv, "from_step": 0, "world": world}
    run = Run(cfg, model, optimizer, torch.zeros(0), rank, world, 0, time.time(), time.process_time(),
              [*(state or {}).get("commands", []), command], None)  # fmt: skip
    if state is not None:
        _restore(run, state)
    run.init = (state or {}).get("init") or (initialize(model, cfg.init) if cfg.init else None)
    run.lambdas = torch.tensor(cfg.lambdas or LAMBDAS[cfg.metric][-model.rates :], dtype=torch.float32)
    if len(run.lambdas) != model.rates:
        raise ValueError(f"{len(run.lambdas)} lambdas given for a model with {model.rates} rate points")
    return run


def _resumed_config(cfg: TrainConfig, state: dict) -> TrainConfig:
    options = dict(state["config"])  # a checkpoint knows its architecture; flags cannot change it
    cfg = replace(cfg, arch=options.pop("arch"), model_options=options)
    if cfg.lambdas is None:  # and its lambdas, which --lambdas may change (logged in its command history)
        cfg = replace(cfg, lambdas=state.get("train_config", {}).get("lambdas"))
    # A carried checkpoint (no Adam state) gets a fresh Adam, which warms up from the resumed step.
    fresh_adam = state.get("optimizer") is None
    warmup_start = state["step"] if fresh_adam else state.get("train_config", {}).get("warmup_start", 0)
    return replace(cfg, warmup_start=warmup_start)


def _restore(run: Run, state: dict) -> None:
    run.model.load_state_dict(state["model"])
    run.step = state["step"]
    run.start = time.time() - state["elapsed"]
    run.cpu_start = time.process_time() - state.get("cpu_seconds", 0.0)
    run.commands[-1]["from_step"] = run.step
    if state.get("optimizer") is None:
        run.commands[-1]["fresh_optimizer"] = True  # the provenance says where Adam started again
    else:
        run.optimizer.load_state_dict(state["optimizer"])
    _set_rng_state(state["rng"][run.rank] if run.rank < len(state["rng"]) else state["rng"][0])


def _split_files(cfg: TrainConfig) -> tuple[list[Path], list[Path]]:
    files = list_images(cfg.data)
    train_files = files[: len(files) - cfg.val_holdout] if cfg.val_holdout else files
    val_files = (list_images(cfg.val) if cfg.val else files[len(train_files) :])[: cfg.val_images]
    return train_files, val_files


def _loader(run: Run, files: list[Path]) -> torch.utils.data.DataLoader:
    cfg = run.cfg
    batches = CropBatches(files, cfg.crop, cfg.batch, run.model.rates, cfg.seed, run.rank, run.world,
                          cfg.downscale_jpeg)  # fmt: skip
    return torch.utils.data.DataLoader(
        batches, batch_size=None, sampler=range(run.step, cfg.steps), num_workers=cfg.workers,
        persistent_workers=False, prefetch_factor=4 if cfg.workers else None,
        generator=torch.Generator(),  # its own: drawing worker seeds must not move the global RNG on resume
        worker_init_fn=ignore_stop_signals,
    )  # fmt: skip


def train_step(run: Run, ddp: torch.nn.Module, x: torch.Tensor, quality: torch.Tensor) -> dict:
    """One optimizer step on a batch of uint8 crops; the log row (rank 0 writes it)."""
    cfg = run.cfg
    lr = learning_rate(cfg, run.step)
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    x = x.to(cfg.device).float().div_(255)
    if cfg.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    quality = quality.to(cfg.device)
    result = ddp(x, quality, mixed_precision=cfg.mixed_precision, noisy_rate=cfg.quantization == "noise")
    terms = rate_distortion(result, x, run.lambdas.to(cfg.device)[quality], cfg.metric)
    run.optimizer.zero_grad(set_to_none=True)
    terms.loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.clip)
    if torch.isfinite(norm) and torch.isfinite(terms.loss):
        run.optimizer.step()
    else:
        run.skipped += 1  # gradients are all-reduced, so every rank skips the same steps
    run.step += 1
    return dict(
        step=run.step, seconds=round(time.time() - run.start, 1), lr=lr, loss=float(terms.loss.detach()),
        bpp=float(terms.bpp.mean()), psnr=float((-10 * torch.log10(terms.mse.clamp_min(1e-10))).mean()),
        mse=float(terms.mse.mean()), skipped=run.skipped, cpu_seconds=round(run.cpu_seconds(), 1),
        channels=_top_rate_channels(result.y_hats(), quality, run.model.rates),
    )  # fmt: skip


def _maybe_checkpoint(run: Run, stop: StopRequest) -> bool:
    """Write the checkpoint when due, at the last step, or before stopping; True when the run stops here."""
    cfg = run.cfg
    due = time.time() - run.last_save > 60 * cfg.checkpoint_minutes or run.step == cfg.steps
    spent = cfg.cpu_hours is not None and run.cpu_seconds() >= 3600 * cfg.cpu_hours
    stopping = agree(stop.requested or spent, run.world)
    if stopping or agree(due, run.world):
        write_checkpoint(run)
        run.last_save = time.time()
    if stopping:
        why = "its CPU budget spent" if spent else "signal"
        print(f"stopped by {why} at step {run.step}; checkpoint written", file=sys.stderr)
    return stopping


def write_checkpoint(run: Run) -> None:
    """Every rank's RNG state, gathered; rank 0 writes. Replicas whose weights differ are an error."""
    rngs, prints = [_rng_state()], [state_fingerprint(run.model.state_dict())]
    if run.world > 1:
        rngs, prints = [None] * run.world, [None] * run.world
        dist.all_gather_object(rngs, _rng_state())
        dist.all_gather_object(prints, state_fingerprint(run.model.state_dict()))
    if len(set(prints)) != 1:
        raise RuntimeError("data-parallel replicas diverged: their weights differ")
    if run.rank == 0:
        save_checkpoint(run.checkpoint_path, {
            "config": run.model.config, "model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
            "step": run.step, "elapsed": time.time() - run.start, "cpu_seconds": run.cpu_seconds(), "rng": rngs,
            "train_config": asdict(run.cfg), "world": run.world, "commands": run.commands, "init": run.init,
        })  # fmt: skip


def _top_rate_channels(y_hats: list[torch.Tensor], quality: torch.Tensor, rates: int) -> int | str:
    """Latent channels in use in this batch's crops of the top rate point ('' when the batch has none)."""
    top = quality == rates - 1
    return latent_channels_in_use([y.detach()[top] for y in y_hats]) if bool(top.any()) else ""
