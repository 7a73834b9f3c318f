"""Handlers of ``licodec eval`` and ``licodec inspect``: measuring licodec models on real images."""

import argparse
from pathlib import Path

from licodec.cli_common import EXIT_IO, EXIT_USAGE, CliError, Formatter


def cmd_eval(args: argparse.Namespace) -> int:
    from licodec import evaluate, zoo

    specs = args.model or [zoo.default_weights_name()]
    if args.refine is not None and args.refine < 0:
        raise CliError(f"--refine needs a step count >= 0, got {args.refine}", EXIT_USAGE)
    for spec in specs:
        try:
            results = evaluate.evaluate(spec, args.folder, args.qualities, args.workers, args.threads,
                                        progress=not args.no_progress, limit=args.limit,
                                        refine_steps=args.refine)  # fmt: skip
        except LookupError as e:
            raise CliError(str(e), EXIT_USAGE) from e
        except FileNotFoundError as e:
            raise CliError(str(e), EXIT_IO) from e
        except ValueError as e:
            raise CliError(str(e), EXIT_USAGE) from e
        steps = max(r.refine_steps for r in results)  # the default encoder refines only where it can
        name = (Path(spec).stem if spec else "licodec") + (f"-refine{steps}" if steps else "")
        how = f" with --refine {steps}" if steps else ""
        curve, extra = evaluate.to_curve(f"licodec-{name}", f"licodec {spec}{how} on {args.folder}", results)
        json_path, csv_path = evaluate.save(curve, extra, results, Path(args.out))
        print(f"{'quality':>7s} {'bpp':>7s} {'est bpp':>8s} {'PSNR':>7s} {'MS-SSIM':>8s} {'dB':>6s} "
              f"{'enc s':>6s} {'dec s':>6s}")  # fmt: skip
        for i, q in enumerate(curve.settings):
            print(f"{q:7d} {curve.bpp[i]:7.4f} {extra['bpp-estimated'][i]:8.4f} {curve.psnr_rgb[i]:7.2f} "
                  f"{curve.ms_ssim[i]:8.4f} {curve.ms_ssim_db[i]:6.2f} {curve.encoding_time[i]:6.2f} "
                  f"{curve.decoding_time[i]:6.2f}")  # fmt: skip
        print(f"wrote {json_path} and {csv_path}")
    return 0


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
    from licodec.latent_maps import latent_maps
    from licodec.plot import plot_latent_maps

    model, source, quality = _model_image_quality(args)
    if not hasattr(model, "context"):
        raise CliError(f"inspect draws one latent with its context model's mixture; {model.config['arch']} has "
                       "a two-resolution latent and no context model", EXIT_USAGE)  # fmt: skip
    maps = latent_maps(source, model, quality)
    title = f"{Path(args.image).name}: {model.config['arch']}, highest-entropy channel {maps.channel}"
    print(plot_latent_maps(maps, args.output, title))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from licodec import compare

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


def add_commands(sub) -> None:
    p = sub.add_parser("eval", help="evaluate licodec models on an image folder (real files)",
                       formatter_class=Formatter)  # fmt: skip
    p.add_argument("folder", help="folder of images, e.g. Kodak")
    p.add_argument("--model", action="append", help="weights name or file; repeat for several (default: default)")
    p.add_argument("--qualities", type=int, nargs="+", help="rate points, 1-based (default: all)")
    p.add_argument("--out", default="results", help="folder for <name>.json and <name>.csv")
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    p.add_argument("--limit", type=int, help="only the first N images")
    p.add_argument(
        "--refine",
        type=int,
        metavar="STEPS",
        help="encoder-side latent refinement steps (default: what licodec encode does; 0: none)",
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=cmd_eval)

    p = sub.add_parser("inspect", help="Cheng 2020 Fig. 3: the entropy model's view of one image",
                       formatter_class=Formatter)  # fmt: skip
    p.add_argument("image")
    p.add_argument("-o", "--output", default="inspect.png", help="PNG to write")
    p.add_argument("--model", help="weights name or file (default: the shipped default)")
    p.add_argument("--quality", type=int, help="rate point, 1-based (default: highest)")
    p.set_defaults(handler=cmd_inspect)

    p = sub.add_parser("compare", help="crops of licodec vs classical codecs at matched file size",
                       formatter_class=Formatter)  # fmt: skip
    p.add_argument("image")
    p.add_argument("-o", "--output", default="compare.png", help="PNG to write")
    p.add_argument("--model", help="weights name or file (default: the shipped default)")
    p.add_argument("--quality", type=int, help="licodec rate point, 1-based (default: highest)")
    p.add_argument("--codecs", nargs="+", default=["jpeg", "webp", "avif", "heic"], help="classical codecs")
    p.add_argument("--crop", type=int, nargs=4, metavar=("LEFT", "TOP", "W", "H"), help="region (default: centre)")
    p.add_argument("--zoom", type=int, default=2, help="enlargement of the crops")
    p.set_defaults(handler=cmd_compare)
