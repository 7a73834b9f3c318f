"""Training: lambda * D + R with Adam, resumable exactly, data-parallel through torch.distributed.

Single process:   licodec train --data DIR ...
Several:          torchrun --nproc-per-node 2 -m licodec train --data DIR ...   (gloo on CPU, NCCL on GPU)
Each process draws its own batches; DDP averages gradients, so P processes with batch B train like one
process with batch P*B.
"""

import csv
import os
import random
import signal
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from licodec.checkpoint import load_checkpoint, save_checkpoint
from licodec.data import CropBatches, list_images
from licodec.losses import LAMBDAS, rate_distortion
from licodec.models import create_model, weights_fingerprint
from licodec.precision import bf16_native


@dataclass
class TrainConfig:
    data: str
    out: str = "runs/train"
    arch: str = "cheng2020-anchor-ckbd"
    model_options: dict = field(default_factory=dict)  # e.g. {"N": 64, "K": 3, "rates": 6}
    metric: str = "mse"
    lambdas: tuple[float, ...] | None = None  # one per rate point; default LAMBDAS[metric][-rates:]
    steps: int = 100_000
    batch: int = 16  # global: split across data-parallel processes
    crop: int = 128
    lr: float = 1e-4
    lr_drop_step: int | None = None  # lr x 0.1 from this step on (default: 90 % of steps)
    warmup_steps: int = 0  # lr rises linearly over the first steps (a fresh Adam on trained weights, --init)
    warmup_start: int = 0  # the step the warm-up counts from (where a carried checkpoint got its fresh Adam)
    clip: float = 1.0
    seed: int = 0
    threads: int = 1
    workers: int = 1
    downscale_jpeg: bool = True
    quantization: str = "noise"  # rate term under additive noise, or "ste" (deterministic rounding)
    mixed_precision: bool = True  # bf16 autocast on the transforms where the CPU has bf16; entropy models fp32
    channels_last: bool = True
    checkpoint_seconds: float = 300.0
    val: str | None = None  # folder of validation images (or use val_holdout)
    val_holdout: int = 0  # the last N images of the training folder validate instead of train
    val_every: int = 2000  # steps between validations with real files (0: never)
    val_images: int = 8  # at most this many validation images
    device: str = "cpu"
    progress: bool = True
    init: str | None = None  # a checkpoint to start from (its weights only: fresh optimizer, step 0)


def _distributed() -> tuple[int, int]:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def learning_rate(cfg: TrainConfig, step: int) -> float:
    drop = cfg.lr_drop_step if cfg.lr_drop_step is not None else int(0.9 * cfg.steps)
    warmup = min(1.0, (step - cfg.warmup_start + 1) / cfg.warmup_steps) if cfg.warmup_steps else 1.0
    return cfg.lr * warmup * (0.1 if step >= drop else 1.0)


def _rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


class CsvLog:
    fields = ("step", "seconds", "lr", "loss", "bpp", "psnr", "mse", "skipped")

    def __init__(self, path: Path, resume_step: int = 0):
        self.path = path
        if path.exists():  # drop what a killed run logged after its last checkpoint: it will be redone
            lines = path.read_text().splitlines(keepends=True)
            kept = lines[:1] + [ln for ln in lines[1:] if int(ln.split(",", 1)[0]) <= resume_step]
            if len(kept) != len(lines):
                path.write_text("".join(kept))
        new = not path.exists()
        self.file = open(path, "a", newline="")
        self.writer = csv.writer(self.file)
        if new:
            self.writer.writerow(self.fields)

    def write(self, **row) -> None:
        self.writer.writerow([row[k] for k in self.fields])
        self.file.flush()


def build(cfg: TrainConfig) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    model = create_model(cfg.arch, **cfg.model_options)
    model.train().to(cfg.device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model, torch.optim.Adam(model.parameters(), lr=cfg.lr)


def train(cfg: TrainConfig, resume: bool = False) -> Path:
    """Train until ``cfg.steps``; returns the checkpoint path. ``resume`` continues from out/last.pt."""
    torch.set_num_threads(cfg.threads)
    rank, world = _distributed()
    if cfg.mixed_precision and cfg.device == "cpu" and not bf16_native():
        cfg = replace(cfg, mixed_precision=False)  # emulated bfloat16 is several times slower than float32
        if rank == 0:
            print("this CPU has no native bfloat16 (AVX512-BF16 or AMX): training in float32", file=sys.stderr)
    out = Path(cfg.out)
    ckpt_path = out / "last.pt"
    torch.manual_seed(cfg.seed + rank)
    state = None
    if resume and ckpt_path.exists():
        state = load_checkpoint(ckpt_path)
        options = dict(state["config"])  # a checkpoint knows its architecture; flags cannot change it
        cfg = replace(cfg, arch=options.pop("arch"), model_options=options)
        if cfg.lambdas is None:  # and its lambdas, which --lambdas may change (logged in its command history)
            cfg = replace(cfg, lambdas=state.get("train_config", {}).get("lambdas"))
        # A carried checkpoint (checkpoint.save_carry) has no Adam state: the fresh one warms up from here.
        fresh_adam = state.get("optimizer") is None
        warmup_start = state["step"] if fresh_adam else state.get("train_config", {}).get("warmup_start", 0)
        cfg = replace(cfg, warmup_start=warmup_start)
    model, optimizer = build(cfg)
    step, elapsed = 0, 0.0
    commands = [*(state or {}).get("commands", []), {"argv": sys.argv, "from_step": 0, "world": world}]
    if state is not None:
        model.load_state_dict(state["model"])
        step, elapsed = state["step"], state["elapsed"]
        commands[-1]["from_step"] = step
        if fresh_adam:
            commands[-1]["fresh_optimizer"] = True  # the provenance says where Adam started again
        else:
            optimizer.load_state_dict(state["optimizer"])
        _set_rng_state(state["rng"][rank] if rank < len(state["rng"]) else state["rng"][0])
    elif resume:
        raise FileNotFoundError(f"--resume given but {ckpt_path} does not exist")
    init = (state or {}).get("init") or (_initialize(model, cfg.init) if cfg.init else None)
    rates = model.rates
    lambdas = torch.tensor(cfg.lambdas or LAMBDAS[cfg.metric][-rates:], dtype=torch.float32)
    if len(lambdas) != rates:
        raise ValueError(f"{len(lambdas)} lambdas given for a model with {rates} rate points")
    files = list_images(cfg.data)
    train_files = files[: len(files) - cfg.val_holdout] if cfg.val_holdout else files
    val_files = (list_images(cfg.val) if cfg.val else files[len(train_files) :])[: cfg.val_images]
    batches = CropBatches(train_files, cfg.crop, cfg.batch, rates, cfg.seed, rank, world, cfg.downscale_jpeg)
    loader = torch.utils.data.DataLoader(
        batches, batch_size=None, sampler=range(step, cfg.steps), num_workers=cfg.workers,
        persistent_workers=False, prefetch_factor=4 if cfg.workers else None,
        generator=torch.Generator(),  # its own: drawing worker seeds must not move the global RNG on resume
        worker_init_fn=_ignore_stop_signals,
    )  # fmt: skip
    # The only buffers are constant masks: nothing to sync before each forward (synced once at init: harmless).
    ddp = torch.nn.parallel.DistributedDataParallel(model, forward_sync_buffers=False) if world > 1 else model
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    log = CsvLog(out / "log.csv", step) if rank == 0 else None
    bar = tqdm(total=cfg.steps, initial=step, disable=rank != 0 or not cfg.progress, dynamic_ncols=True)
    start, last_save, skipped = time.time() - elapsed, time.time(), 0

    def checkpoint() -> None:
        rngs, prints = [None] * world, [None] * world
        if world > 1:
            dist.all_gather_object(rngs, _rng_state())
            dist.all_gather_object(prints, weights_fingerprint(model))
        else:
            rngs, prints = [_rng_state()], [b""]
        agree = len(set(prints)) == 1
        if not agree:
            raise RuntimeError("data-parallel replicas diverged: their weights differ")
        if rank == 0:
            save_checkpoint(ckpt_path, {
                "config": model.config, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "step": step, "elapsed": time.time() - start, "rng": rngs, "train_config": asdict(cfg),
                "world": world, "replicas_agree": agree, "commands": commands, "init": init,
            })  # fmt: skip

    stop = _StopRequest()
    for x, quality in loader:
        lr = learning_rate(cfg, step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x = x.to(cfg.device).float().div_(255)
        if cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        quality = quality.to(cfg.device)
        result = ddp(x, quality, mixed_precision=cfg.mixed_precision, noisy_rate=cfg.quantization == "noise")
        terms = rate_distortion(result, x, lambdas.to(cfg.device)[quality], cfg.metric)
        optimizer.zero_grad(set_to_none=True)
        terms.loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        if torch.isfinite(norm) and torch.isfinite(terms.loss):
            optimizer.step()
        else:
            skipped += 1  # gradients are all-reduced, so every rank skips the same steps
        step += 1
        if rank == 0:
            psnr = float((-10 * torch.log10(terms.mse.clamp_min(1e-10))).mean())
            row = dict(
                step=step,
                seconds=round(time.time() - start, 1),
                lr=lr,
                loss=float(terms.loss.detach()),
                bpp=float(terms.bpp.mean()),
                psnr=psnr,
                mse=float(terms.mse.mean()),
                skipped=skipped,
            )
            log.write(**row)  # fmt: skip
            bar.update(1)
            bar.set_postfix(loss=f"{row['loss']:.3f}", bpp=f"{row['bpp']:.3f}", psnr=f"{psnr:.2f}")
        if rank == 0 and val_files and cfg.val_every and step % cfg.val_every == 0:
            validate(model, val_files, step, out / "val.csv")
        due = time.time() - last_save > cfg.checkpoint_seconds or step == cfg.steps
        stopping = _agree(stop.requested, world)
        if stopping or _agree(due, world):
            checkpoint()
            last_save = time.time()
        if stopping:
            print(f"stopped by signal at step {step}; checkpoint written", file=sys.stderr)
            break
    bar.close()
    if world > 1:
        dist.barrier()
    return ckpt_path


def _initialize(model: torch.nn.Module, path: str) -> dict:
    """Load another run's weights into a new run's model (widening its latent if M grew, or its transforms if N
    grew: licodec/widen.py); returns what the provenance keeps of that run."""
    source = load_checkpoint(Path(path))
    old, new = _widths(source["config"]), _widths(model.config)
    if old["rest"] != new["rest"] or old["hyper"] != new["hyper"] or (old["M"] != new["M"] and old["N"] != new["N"]):
        raise ValueError(f"--init: {path} is {source['config']}, which does not fit {model.config} (a new run "
                         "may widen either the latent M or the transforms N, with the same hyperprior)")  # fmt: skip
    from licodec.widen import widen_latents, widen_transforms

    if old["M"] != new["M"]:
        model.load_state_dict(widen_latents(source["model"], model, old["M"]))
    elif old["N"] != new["N"]:
        model.load_state_dict(widen_transforms(source["model"], model))
    else:
        model.load_state_dict(source["model"])
    return {"path": str(path), "config": source["config"], "step": source["step"], "elapsed": source["elapsed"],
            "commands": source.get("commands", []), "init": source.get("init")}  # fmt: skip


def _widths(config: dict) -> dict:
    """A Cheng 2020 config as its widths (N of the transforms, M of the latent, that of the hyperprior) and
    the rest, with the defaults (M = N_hyper = N) spelled out."""
    rest = dict(config)
    n = rest.pop("N", None)
    m, hyper = rest.pop("M", None) or n, rest.pop("N_hyper", None) or n
    return {"N": n, "M": m, "hyper": hyper, "rest": rest}


def validate(model: torch.nn.Module, files: list[Path], step: int, path: Path) -> list[dict]:
    """Compress and decompress each validation image at every rate point with real files; append the means
    (bpp from the bytes written, PSNR and MS-SSIM of the decoded image) to ``path``."""
    from licodec.evaluate import evaluate_image

    model.eval()
    rows = []
    try:
        for q in range(model.rates):
            results = [evaluate_image(model, f, q) for f in files]
            rows.append({"step": step, "quality": q + 1, **{
                k: round(float(np.mean([getattr(r, k) for r in results])), 5)
                for k in ("bpp", "bpp_estimated", "psnr_rgb", "ms_ssim")}})  # fmt: skip
    finally:
        model.train()
    new = not path.exists()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        if new:
            writer.writeheader()
        writer.writerows(rows)
    return rows


def _ignore_stop_signals(worker_id: int) -> None:
    """Data-loading workers share the trainer's command line and process group, so `pkill -f` or a
    terminal's Ctrl-C reaches them too; if they died, the trainer would crash instead of checkpointing.
    They leave when the trainer does (the DataLoader's watchdog), so they can ignore both signals."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _StopRequest:
    """SIGTERM / SIGINT ask the loop to write a checkpoint and leave after the current step."""

    def __init__(self):
        self.requested = False
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._request)

    def _request(self, signum, frame) -> None:
        self.requested = True


def _agree(flag: bool, world: int) -> bool:
    """Rank 0's decision, shared so that every rank enters collective calls together."""
    if world == 1:
        return flag
    t = torch.tensor([int(flag)])
    dist.broadcast(t, 0)
    return bool(t.item())
