"""Handlers of ``licodec encode / decode / info / models``."""

import argparse
import os
import sys
import time
from pathlib import Path

from licodec.cli.common import EXIT_CORRUPT, EXIT_IO, EXIT_USAGE, CliError, Formatter
from licodec.fast.precision import PRECISIONS, synthesis_precision

STDIO = "-"


def _read_input(path: str) -> bytes:
    if path == STDIO:
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as e:
        raise CliError(f"{path}: no such file", EXIT_IO) from e
    except IsADirectoryError as e:
        raise CliError(f"{path}: is a directory", EXIT_IO) from e
    except OSError as e:
        raise CliError(f"{path}: cannot read ({e.strerror})", EXIT_IO) from e


def _write_output(path: str, data: bytes, force: bool) -> None:
    """Write atomically (temp file + rename): an interrupted write never leaves half a file."""
    from licodec.files import atomic_write

    if path == STDIO:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    if target.exists() and not force:
        raise CliError(f"{path}: already exists (use --force to overwrite)", EXIT_IO)
    try:
        atomic_write(target, lambda tmp: Path(tmp).write_bytes(data))
    except OSError as e:
        raise CliError(f"{path}: cannot write ({e.strerror or e})", EXIT_IO) from e


def _outputs(inputs: list[str], out: str | None, suffix: str, force: bool) -> list[str]:
    """One output per input: OUT itself, OUT/<stem><suffix> for several inputs, or <input><suffix>."""
    if len(inputs) > 1:
        if out is None or not Path(out).is_dir():
            raise CliError("several inputs need -o DIR naming an existing directory", EXIT_USAGE)
        if STDIO in inputs:
            raise CliError("'-' (stdin) can only be the single input", EXIT_USAGE)
        outputs = [str(Path(out) / (Path(i).stem + suffix)) for i in inputs]
    elif out is not None:
        outputs = [str(Path(out) / (Path(inputs[0]).stem + suffix)) if Path(out).is_dir() else out]
    else:
        outputs = [STDIO if inputs[0] == STDIO else str(Path(inputs[0]).with_suffix(suffix))]
    if len(set(outputs)) != len(outputs):
        raise CliError("two inputs would write the same output name", EXIT_USAGE)
    for o in outputs:  # refuse before doing any work
        if o == STDIO:
            continue
        source = next((i for i in inputs if _same_file(i, o)), None)
        if source is not None:  # --force or not: the output replaces its file before the next input is read
            raise CliError(f"{o}: is the input {source}; refusing to overwrite an input (choose another -o)",
                           EXIT_IO)  # fmt: skip
        if Path(o).exists() and not force:
            raise CliError(f"{o}: already exists (use --force to overwrite)", EXIT_IO)
        if not Path(o).parent.is_dir():  # a mistyped path should not grow a directory tree
            raise CliError(f"{o}: no such directory {str(Path(o).parent)!r}", EXIT_IO)
    return outputs


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file: through links, or by path where one of them does not exist yet."""
    if STDIO in (a, b):
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def _log(message: str) -> None:
    print(message, file=sys.stderr)


def _load(spec: str | None):
    from licodec import zoo

    try:
        return zoo.load_model(spec)
    except zoo.ModelFileError as e:
        raise CliError(f"--model {e}", EXIT_IO) from e
    except LookupError as e:
        raise CliError(str(e), EXIT_USAGE) from e


def _resolve(header):
    """The shipped weights that wrote a file; LookupError when they are not installed."""
    from licodec import zoo

    try:
        return zoo.resolve(header)
    except zoo.ModelFileError as e:  # installed weights that do not load: the install, not the .lic, is bad
        raise CliError(f"shipped weights {e}", EXIT_IO) from e


def cmd_encode(args: argparse.Namespace) -> int:
    """Every input, one after the other; with several inputs a bad one is reported and the rest still coded
    (the exit status is that of the first failure)."""
    model = _load(args.model)
    if args.quality is not None and not 1 <= args.quality <= model.rates:
        raise CliError(f"--quality {args.quality} out of range: this model has qualities 1..{model.rates}",
                       EXIT_USAGE)  # fmt: skip
    quality = (args.quality or model.rates) - 1
    if args.refine is not None and args.refine < 0:
        raise CliError(f"--refine needs a step count >= 0, got {args.refine}", EXIT_USAGE)
    from licodec.refine import RefineError, objective_of

    if args.refine:  # asked for explicitly: weights that cannot refine are an error (by default: no refinement)
        try:
            objective_of(model, quality)
        except RefineError as e:
            raise CliError(f"--refine: {e}", EXIT_USAGE) from e
    failures = []
    for src, dst in zip(args.inputs, _outputs(args.inputs, args.output, ".lic", args.force), strict=True):
        try:
            _encode_one(args, model, quality, src, dst)
        except CliError as e:
            if len(args.inputs) == 1:
                raise
            _log(f"licodec: error: {e}")  # a bad file in a batch: report it, code the rest
            failures.append(e)
    if failures:
        _log(f"licodec: {len(failures)} of {len(args.inputs)} inputs failed")
        return failures[0].code
    return 0


def _encode_one(args: argparse.Namespace, model, quality: int, src: str, dst: str) -> None:
    from licodec import codec
    from licodec.eval.metrics import bpp, psnr
    from licodec.refine import RefineError

    """Encode one input to one output; a CliError says why it could not be coded."""
    try:
        image = codec.read_image(_read_input(src))
    except codec.ImageError as e:
        raise CliError(f"{src}: {e}", EXIT_IO) from e
    if image.dropped_alpha:
        _log(f"{src}: warning: alpha channel dropped (licodec codes colour only)")
    start = time.perf_counter()
    try:
        coded = codec.encode(image, model, quality, refine_steps=args.refine)
    except codec.ImageError as e:
        raise CliError(f"{src}: {e}", EXIT_IO) from e
    except RefineError as e:  # an explicit --refine, e.g. an MS-SSIM model and an image too small for it
        raise CliError(f"{src}: --refine: {e}", EXIT_USAGE) from e
    seconds, data = time.perf_counter() - start, coded.data
    _write_output(dst, data, args.force)
    h, w = image.rgb.shape[:2]
    line = f"{src} -> {dst}: {w}x{h}, {len(data)} bytes, {bpp(len(data), h, w):.4f} bpp, {seconds:.2f} s"
    line += f" ({coded.refine_steps} refinement steps)" if coded.refine_steps else ""
    if args.psnr:
        decoded = codec.decompress(data, model)
        reference = image.rgb[..., 0] if image.channels == 1 else image.rgb
        line += f", PSNR {psnr(reference, decoded):.2f} dB (decoded back from the file)"
    _log(line)


def cmd_decode(args: argparse.Namespace) -> int:
    from licodec import codec
    from licodec.coding.container import ContainerError

    try:
        synthesis_precision(args.precision, args.fast, deterministic=False)
    except ValueError as e:
        raise CliError(str(e), EXIT_USAGE) from e
    for src, dst in zip(args.inputs, _outputs(args.inputs, args.output, ".png", args.force), strict=True):
        data = _read_input(src)
        start = time.perf_counter()
        try:
            header = codec.read_header(data)
            model = _load(args.model) if args.model else _resolve(header)
            pixels = codec.decompress(data, model, fast=args.fast, precision=args.precision)
        except (ContainerError, codec.IncompatibleError, LookupError) as e:
            raise CliError(f"{src}: {e}", EXIT_CORRUPT) from e
        seconds = time.perf_counter() - start
        _write_output(dst, codec.encode_png(pixels), args.force)
        _log(f"{src} -> {dst}: {header.width}x{header.height}, {seconds:.2f} s")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from licodec import zoo
    from licodec.coding.container import ContainerError, unpack
    from licodec.eval.metrics import bpp

    installed = {(w.arch, w.fingerprint): w.name for w in zoo.available_weights()}
    for src in args.inputs:
        data = _read_input(src)
        try:
            header, sections = unpack(data)
        except ContainerError as e:
            raise CliError(f"{src}: {e}", EXIT_CORRUPT) from e
        print(f"{src}:")
        print(f"  model        {header.model}")
        name = installed.get((header.model, header.fingerprint.hex()), "not installed: decode with --model")
        print(f"  weights      {header.fingerprint.hex()} ({name})")
        print(f"  quality      {header.quality + 1}")
        print(f"  size         {header.width}x{header.height}, {'grey' if header.channels == 1 else 'RGB'}")
        print(f"  padding      {header.pad_bottom} below, {header.pad_right} right")
        print(f"  sections     {', '.join(str(len(s)) for s in sections)} bytes")
        print(f"  file         {len(data)} bytes, {bpp(len(data), header.height, header.width):.4f} bpp")

    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from licodec import zoo
    from licodec.models import default_config, list_models

    print("architectures (licodec train --model NAME):")
    for name in list_models():
        options = ", ".join(f"{k}={v}" for k, v in default_config(name).items())
        print(f"  {name:24s} {options}")
    default = zoo.default_weights_name()
    print("shipped weights (licodec encode --model NAME):")
    weights = zoo.available_weights()
    for w in weights:
        mark = " (default)" if w.name == default else ""
        options = ", ".join(f"{k}={v}" for k, v in w.config.items() if k != "arch")
        print(f"  {w.name:24s} {w.arch}, {options}, qualities 1..{w.rates}{mark}")
    if not weights:
        print("  none")
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("encode", help="compress images to .lic files", formatter_class=Formatter)
    p.add_argument("inputs", nargs="+", help="image files (PNG, JPEG, ...) or - for stdin")
    p.add_argument("-o", "--output", help="output file, directory, or - for stdout (default: INPUT.lic)")
    p.add_argument("--model", help="shipped weights name, .safetensors or .pt file (default: shipped default)")
    p.add_argument("--quality", type=int, help="rate point, 1 (smallest) .. the model's count (default: highest)")
    p.add_argument("--refine", type=int, metavar="STEPS",
                   help="optimise the latent for each image, ~1 s per step at 768x512: smaller files, same decoder "
                        "(default: 3 steps where the weights allow it and the image is at most 2.1 megapixels; "
                        "0: the fastest encode)")  # fmt: skip
    p.add_argument("--psnr", action="store_true", help="decode the written file back and print its PSNR")
    p.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(handler=cmd_encode)

    p = sub.add_parser("decode", help="decompress .lic files to PNG", formatter_class=Formatter)
    p.add_argument("inputs", nargs="+", help=".lic files or - for stdin")
    p.add_argument("-o", "--output", help="output file, directory, or - for stdout (default: INPUT.png)")
    p.add_argument("--model", help="weights to decode with (default: the shipped weights the file names)")
    p.add_argument(
        "--fast",
        action="store_true",
        help="approximate synthesis: int8 where supported, else bfloat16; ~3x faster, pixels differ slightly",
    )
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="synthesis arithmetic (default: float32, or the --fast choice)",
    )
    p.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(handler=cmd_decode)

    p = sub.add_parser("info", help="print the header of .lic files", formatter_class=Formatter)
    p.add_argument("inputs", nargs="+", help=".lic files or - for stdin")
    p.set_defaults(handler=cmd_info)

    p = sub.add_parser("models", help="list architectures and shipped weights", formatter_class=Formatter)
    p.set_defaults(handler=cmd_models)
