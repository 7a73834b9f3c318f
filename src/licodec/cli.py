"""The ``licodec`` command. Each subcommand is a small handler; main(argv) returns the exit code."""

import argparse
import sys
from pathlib import Path

from licodec import __version__, cli_analysis, cli_codec, cli_eval
from licodec.cli_common import EXIT_INTERRUPTED, EXIT_USAGE, CliError, Formatter

__all__ = ["CliError", "main"]


def cmd_train(args: argparse.Namespace) -> int:
    from licodec.train import TrainConfig, train

    options = {k: v for k, v in (("N", args.N), ("K", args.K), ("rates", args.rates)) if v is not None}
    options.update(args.option or [])
    cfg = TrainConfig(
        data=args.data, out=args.out, arch=args.model, model_options=options, metric=args.metric,
        lambdas=tuple(args.lambdas) if args.lambdas else None, steps=args.steps, batch=args.batch_size,
        crop=args.crop, lr=args.lr, lr_drop_step=args.lr_drop_step, warmup_steps=args.warmup_steps,
        clip=args.clip, seed=args.seed,
        threads=args.threads, workers=args.workers, downscale_jpeg=not args.no_downscale_jpeg,
        mixed_precision=not args.fp32, quantization=args.quantization, channels_last=not args.no_channels_last,
        checkpoint_seconds=args.checkpoint_minutes * 60, val=args.val, val_holdout=args.val_holdout,
        val_every=args.val_every, device=args.device, progress=not args.no_progress, init=args.init,
    )  # fmt: skip
    try:
        path = train(cfg, resume=args.resume)
    except (FileNotFoundError, ValueError) as e:
        raise CliError(str(e), EXIT_USAGE) from e
    print(f"checkpoint: {path}")
    return 0


def model_option(text: str) -> tuple[str, bool | int | float]:
    """``KEY=VALUE`` with VALUE true/false, an integer or a float (architecture options are all of these)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    if value.lower() in ("true", "false"):
        return key, value.lower() == "true"
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(f"{text!r}: value must be true, false or a number")


def add_train(sub) -> None:
    p = sub.add_parser("train", help="train a model on an image folder", formatter_class=Formatter)
    p.add_argument("--data", required=True, help="folder of training images")
    p.add_argument("--out", default="runs/train", help="run folder: last.pt checkpoint and log.csv")
    p.add_argument("--model", default="cheng2020-anchor-ckbd", help="architecture name (licodec models)")
    p.add_argument("--N", type=int, help="channels (default: the architecture's)")
    p.add_argument("--K", type=int, help="mixture components (default: the architecture's)")
    p.add_argument("--rates", type=int, help="rate points of a variable-rate model (gain vectors)")
    p.add_argument("--option", type=model_option, action="append", metavar="KEY=VALUE",
                   help="another architecture option, e.g. pqf=false (repeatable; see `licodec models`)")  # fmt: skip
    p.add_argument("--metric", choices=["mse", "ms-ssim"], default="mse", help="distortion term")
    p.add_argument("--lambdas", type=float, nargs="+", help="one lambda per rate point")
    p.add_argument("--steps", type=int, default=100_000, help="total optimizer steps")
    p.add_argument("--batch-size", type=int, default=16, help="crops per step, split across processes")
    p.add_argument("--crop", type=int, default=128, help="square crop size")
    p.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate")
    p.add_argument("--lr-drop-step", type=int, help="step from which lr is x0.1 (default 90%% of steps)")
    p.add_argument("--warmup-steps", type=int, default=0, help="raise lr linearly over this many first steps")
    p.add_argument("--clip", type=float, default=1.0, help="gradient norm clip")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads per process")
    p.add_argument("--workers", type=int, default=1, help="data-loading worker processes")
    p.add_argument("--no-downscale-jpeg", action="store_true", help="keep JPEG sources at full size")
    p.add_argument(
        "--quantization",
        choices=["noise", "ste"],
        default="noise",
        help="rate term under uniform noise or straight-through rounding",
    )
    p.add_argument(
        "--fp32",
        action="store_true",
        help="disable bf16 autocast of the transforms (off anyway on a CPU without native bf16)",
    )
    p.add_argument("--no-channels-last", action="store_true")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--val", help="folder of validation images (real files at every rate point)")
    p.add_argument("--val-holdout", type=int, default=0, help="or validate on the training folder's last N images")
    p.add_argument("--val-every", type=int, default=2000, help="steps between validations")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--resume", action="store_true", help="continue exactly from OUT/last.pt")
    p.add_argument("--init", metavar="CHECKPOINT",
                   help="start from another run's weights (fresh optimizer, step 0); a run with fewer latent "
                        "channels (--option M=...) is widened to this one's")  # fmt: skip
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=cmd_train)


def cmd_export(args: argparse.Namespace) -> int:
    import json

    from licodec.checkpoint import export_release

    try:
        provenance = export_release(args.checkpoint, args.output, args.data_description)
    except FileNotFoundError as e:
        raise CliError(f"{args.checkpoint}: no such checkpoint", EXIT_USAGE) from e
    if args.default:
        (args.output.parent / "DEFAULT").write_text(args.output.stem + "\n")
    print(json.dumps({k: provenance[k] for k in ("name", "steps", "wall_clock_hours", "fingerprint")}))
    return 0


def add_export(sub) -> None:
    p = sub.add_parser("export", help="ship a training checkpoint as fp16 weights with provenance",
                       formatter_class=Formatter)  # fmt: skip
    p.add_argument("checkpoint", type=Path, help="training checkpoint (OUT/last.pt)")
    p.add_argument("-o", "--output", type=Path, required=True, help="weights file NAME.safetensors")
    p.add_argument("--data-description", default="", help="what the model was trained on (for provenance)")
    p.add_argument("--default", action="store_true", help="make these the default weights of their folder")
    p.set_defaults(handler=cmd_export)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, usage exit code
        raise CliError(f"{message} (see {self.prog} --help)", EXIT_USAGE)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="licodec", description="Learned image compression.", formatter_class=Formatter)
    p.add_argument("--version", action="version", version=f"licodec {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    cli_codec.add_commands(sub)
    cli_analysis.add_commands(sub)
    cli_eval.add_commands(sub)
    add_train(sub)
    add_export(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        return args.handler(args)
    except CliError as e:
        print(f"licodec: error: {e}", file=sys.stderr)
        return e.code
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("licodec: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
