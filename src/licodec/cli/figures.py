"""Handlers of ``licodec inspect`` and ``licodec compare``: figures of one image."""

import argparse
from pathlib import Path

from licodec.cli.common import EXIT_IO, EXIT_USAGE, CliError, Formatter


def _model_image_quality(args: argparse.Namespace):
    """The --model, IMAGE and --quality (0-based; the highest when not given) of inspect and compare."""
    from licodec import codec, zoo

    try:
        model = zoo.load_model(args.model)
    except LookupError as e:
        raise CliError(str(e), EXIT_USAGE) from e
    try:
        source = codec.read_image(Path(args.image).read_bytes())
    except (OSError, codec.ImageError) as e:
        raise CliError(f"{args.image}: {e}", EXIT_IO) from e
    if args.quality is not None and not 1 <= args.quality <= model.rates:
        raise CliError(f"--quality {args.quality} out of range 1..{model.rates}", EXIT_USAGE)
    return model, source, (args.quality or model.rates) - 1


def cmd_inspect(args: argparse.Namespace) -> int:
    from licodec.eval.latent_maps import latent_maps
    from licodec.eval.plot import plot_latent_maps

    model, source, quality = _model_image_quality(args)
    try:
        maps = latent_maps(source, model, quality)
    except ValueError as e:
        raise CliError(str(e), EXIT_USAGE) from e
    title = f"{Path(args.image).name}: {model.config['arch']}, highest-entropy channel {maps.channel}"
    print(plot_latent_maps(maps, args.output, title))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from licodec.eval import compare

    model, source, quality = _model_image_quality(args)
    h, w = source.rgb.shape[:2]
    box = tuple(args.crop) if args.crop else compare.default_box(h, w)
    if box[0] < 0 or box[1] < 0 or box[2] < 1 or box[3] < 1 or box[0] + box[2] > w or box[1] + box[3] > h:
        raise CliError(f"--crop {box} does not fit in the {w}x{h} image", EXIT_USAGE)
    panels, skipped = compare.panels_at_matched_size(source, model, quality, tuple(args.codecs))
    for line in skipped:
        print(f"skipped {line}")
    compare.compose(panels, box, args.zoom).save(args.output)
    for p in panels[1:]:
        print(f"{p.label:14s} {p.bpp:.4f} bpp  {p.psnr:.2f} dB")
    print(args.output)
    return 0


def _figure_command(sub, name: str, help: str, handler) -> argparse.ArgumentParser:
    """A subcommand drawing a PNG of one image with one model at one quality."""
    p = sub.add_parser(name, help=help, formatter_class=Formatter)
    p.add_argument("image")
    p.add_argument("-o", "--output", default=f"{name}.png", help="PNG to write")
    p.add_argument("--model", help="weights name or file (default: the shipped default)")
    p.add_argument("--quality", type=int, help="licodec rate point, 1-based (default: highest)")
    p.set_defaults(handler=handler)
    return p


def add_commands(sub) -> None:
    _figure_command(sub, "inspect", "Cheng 2020 Fig. 3: the entropy model's view of one image", cmd_inspect)
    p = _figure_command(sub, "compare", "crops of licodec vs classical codecs at matched file size", cmd_compare)
    p.add_argument("--codecs", nargs="+", default=["jpeg", "webp", "avif", "heic"], help="classical codecs")
    p.add_argument("--crop", type=int, nargs=4, metavar=("LEFT", "TOP", "W", "H"), help="region (default: centre)")
    p.add_argument("--zoom", type=int, default=2, help="enlargement of the crops")
