"""Handlers of ``licodec train`` and ``licodec export``. The train flags are generated from TrainConfig's fields."""

import argparse
import dataclasses
from pathlib import Path

from licodec.cli.common import EXIT_USAGE, CliError, Formatter
from licodec.train.config import TrainConfig

# Flags that are not TrainConfig fields: the architecture's options (model_options) and resuming.
NOT_FIELDS = ("N", "K", "rates", "option", "resume")


def cmd_train(args: argparse.Namespace) -> int:
    from licodec.train.loop import train

    options = {k: v for k, v in (("N", args.N), ("K", args.K), ("rates", args.rates)) if v is not None}
    options.update(args.option or [])
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if f.metadata}
    values["lambdas"] = tuple(values["lambdas"]) if values["lambdas"] else None
    cfg = TrainConfig(**values, model_options=options)
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
    p.add_argument("--N", type=int, help="channels (default: the architecture's)")
    p.add_argument("--K", type=int, help="mixture components (default: the architecture's)")
    p.add_argument("--rates", type=int, help="rate points of a variable-rate model (gain vectors)")
    p.add_argument("--option", type=model_option, action="append", metavar="KEY=VALUE",
                   help="another architecture option, e.g. pqf=false (repeatable; see `licodec models`)")  # fmt: skip
    p.add_argument("--resume", action="store_true", help="continue exactly from OUT/last.pt")
    for f in dataclasses.fields(TrainConfig):
        if f.metadata:
            _add_field(p, f)
    p.set_defaults(handler=cmd_train)


def _add_field(p: argparse.ArgumentParser, f: dataclasses.Field) -> None:
    """One TrainConfig field as a flag: --field-name unless the field names its own."""
    meta = dict(f.metadata)
    flag = meta.pop("flag", "--" + f.name.replace("_", "-"))
    if meta.pop("negate", False):  # a default-True field switched off by a store-true flag
        p.add_argument(flag, dest=f.name, action="store_false", help=meta["help"])
        return
    if f.default is not dataclasses.MISSING:
        meta.setdefault("type", type(f.default))
        meta["default"] = f.default
    p.add_argument(flag, dest=f.name, **meta)


def cmd_export(args: argparse.Namespace) -> int:
    import json

    from licodec.train.checkpoint import export_release

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
