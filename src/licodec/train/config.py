"""What a training run is: architecture, objective, data, schedule and machinery, in one dataclass that the
checkpoint records. ``licodec train`` generates its flags from these fields (licodec/cli/train.py): each
field's ``help`` (and, where the flag differs from the field's name, ``flag``) lives here, once."""

from dataclasses import MISSING, dataclass, field


def option(default, help: str, **cli):
    """A config field with what its command-line flag needs: ``flag`` (default --field-name), ``negate``
    (a store-true flag that sets a default-True field to False), ``choices``, ``type``, ``nargs``."""
    return field(**({} if default is MISSING else {"default": default}), metadata={"help": help, **cli})


@dataclass
class TrainConfig:
    data: str = option(MISSING, "folder of training images", required=True)
    out: str = option("runs/train", "run folder: last.pt checkpoint and log.csv")
    arch: str = option("cheng2020-anchor-ckbd", "architecture name (licodec models)", flag="--model")
    model_options: dict = field(default_factory=dict)  # e.g. {"N": 64, "K": 3, "rates": 6}: --N, --K, --option
    metric: str = option("mse", "distortion term", choices=["mse", "ms-ssim"])
    lambdas: tuple[float, ...] | None = option(
        None,
        "one lambda per rate point (default: the metric's published lambdas, the highest rates)",
        type=float,
        nargs="+",
    )
    steps: int = option(100_000, "total optimizer steps")
    batch: int = option(16, "crops per step, split across data-parallel processes", flag="--batch-size")
    crop: int = option(128, "square crop size")
    lr: float = option(1e-4, "Adam learning rate (the peak of the cosine schedule)")
    schedule: str = option(
        "step",
        "step: lr, x0.1 from --lr-drop-step; cosine: linear warm-up from lr/10 over "
        "--warmup-steps, then cosine to --lr-min at --steps",
        choices=["step", "cosine"],
    )
    lr_drop_step: int | None = option(None, "step schedule: lr x0.1 from this step (default 90%% of steps)", type=int)
    lr_min: float = option(1e-4, "cosine schedule: where it ends, at --steps")
    warmup_steps: int = option(0, "raise lr linearly over this many first steps")
    # the step the warm-up counts from (where a carried checkpoint got its fresh Adam); set by resume
    warmup_start: int = 0
    cpu_hours: float | None = option(
        None,
        "stop with a checkpoint after this much CPU time per process (an equal budget for comparing recipes)",
        type=float,
    )
    clip: float = option(1.0, "gradient norm clip")
    seed: int = option(0, "seed of the initialization and of the crops")
    threads: int = option(1, "torch threads per process")
    workers: int = option(1, "data-loading worker processes (0: load in the trainer)")
    downscale_jpeg: bool = option(True, "keep JPEG sources at full size", flag="--no-downscale-jpeg", negate=True)
    quantization: str = option(
        "noise", "rate term under uniform noise or straight-through rounding", choices=["noise", "ste"]
    )
    mixed_precision: bool = option(
        True,
        "disable bf16 autocast of the transforms (off anyway on a CPU without native bf16)",
        flag="--fp32",
        negate=True,
    )
    channels_last: bool = option(True, "keep the default memory format", flag="--no-channels-last", negate=True)
    checkpoint_minutes: float = option(5.0, "minutes between checkpoints")
    val: str | None = option(None, "folder of validation images (real files at every rate point)", type=str)
    val_holdout: int = option(0, "or validate on the training folder's last N images")
    val_every: int = option(2000, "steps between validations")
    val_images: int = 8  # at most this many validation images
    device: str = option("cpu", "cpu or cuda")
    progress: bool = option(True, "no progress bar", flag="--no-progress", negate=True)
    init: str | None = option(
        None,
        "start from another run's weights (fresh optimizer, step 0); a run with "
        "fewer latent channels (--option M=...) is widened to this one's",
        type=str,
        metavar="CHECKPOINT",
    )
