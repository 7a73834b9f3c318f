"""Evaluation subcommands of ``licodec``: ``eval`` (licodec models on real files), ``baselines``, ``plot``, ``bdrate``.

``add_commands(sub)`` adds them to the subparsers of ``licodec.cli``. Handlers return an exit code and
raise ``CliError`` for bad input. Heavy imports (numpy, Pillow, matplotlib, scipy) happen inside handlers.
"""

import argparse
from pathlib import Path

from licodec.cli.common import EXIT_IO, EXIT_USAGE, CliError, Formatter

EXIT_FAILED = 1  # a codec failed during `licodec baselines` (not a usage or I/O problem)


def cmd_eval(args: argparse.Namespace) -> int:
    from licodec import zoo
    from licodec.eval import evaluate

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


def _need(module: str) -> None:
    """Fail with one line when an optional dependency (the ``eval`` extra) is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise CliError(f"{module} is not installed: pip install 'licodec[eval]'", EXIT_USAGE)


def _load_curves(paths: list[str]) -> list:
    from licodec.eval.results import load_curve

    curves = []
    for path in paths:
        if not Path(path).is_file():
            raise CliError(f"no such results file: {path}", EXIT_IO)
        try:
            curves.append(load_curve(path))
        except (ValueError, OSError) as e:
            raise CliError(f"cannot read results: {e}", EXIT_IO) from e
    return curves


def cmd_baselines(args: argparse.Namespace) -> int:
    from licodec.eval.baselines import CODECS, get_codec
    from licodec.eval.baselines_run import run_baselines

    unknown = [c for c in args.codecs or [] if c not in CODECS]
    if unknown:
        raise CliError(f"unknown codec {unknown[0]!r}; valid: {', '.join(CODECS)}", EXIT_USAGE)
    if args.workers < 1:
        raise CliError(f"--workers must be at least 1, got {args.workers}", EXIT_USAGE)
    if not Path(args.folder).is_dir():
        raise CliError(f"no such folder: {args.folder}", EXIT_IO)
    codecs = [get_codec(name) for name in (args.codecs or CODECS)]
    try:
        curves = run_baselines(args.folder, codecs, out_dir=args.out, workers=args.workers,
                               progress=not args.no_progress)  # fmt: skip
    except OSError as e:  # missing or empty folder, unwritable --out
        raise CliError(str(e), EXIT_IO) from e
    except RuntimeError as e:  # a codec failed on one image; what was measured before is cached
        raise CliError(str(e), EXIT_FAILED) from e
    if not curves:
        raise CliError("no requested codec is available here (reasons above)", EXIT_USAGE)
    for codec, curve in zip([c for c in codecs if c.available()], curves, strict=True):
        rates = f"{min(curve.bpp):.3f}-{max(curve.bpp):.3f} bpp"
        psnrs = f"{min(curve.psnr_rgb):.2f}-{max(curve.psnr_rgb):.2f} dB"
        print(f"{codec.name:>9}: {len(curve.bpp):2d} points, {rates}, {psnrs} -> {Path(args.out) / codec.name}.json")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    _need("matplotlib")
    from licodec.eval.plot import plot_rd

    curves = _load_curves(args.results)
    zoom = tuple(args.zoom) if args.zoom else None
    if zoom is not None and not 0 <= zoom[0] < zoom[1]:
        raise CliError(f"--zoom needs BPP_MIN < BPP_MAX, both >= 0; got {zoom[0]} {zoom[1]}", EXIT_USAGE)
    try:
        path = plot_rd(curves, args.output, zoom=zoom, title=args.title)
    except OSError as e:
        raise CliError(f"cannot write {args.output}: {e}", EXIT_IO) from e
    print(f"plot: {path}")
    return 0


def cmd_bdrate(args: argparse.Namespace) -> int:
    _need("scipy")
    from licodec.eval.bdrate import bd_table, format_table

    curves = _load_curves(args.results)
    # The anchor may be named by its curve name or by its file's stem ("vvc" for vvc.json).
    names = {Path(p).stem.lower(): c.name for p, c in zip(args.results, curves, strict=True)}
    anchor = names.get(args.anchor.lower(), args.anchor)
    try:
        rows = bd_table(curves, anchor, metric=args.metric)
    except ValueError as e:
        raise CliError(str(e), EXIT_USAGE) from e
    print(format_table(rows, anchor, args.metric))
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

    """Add ``baselines``, ``plot`` and ``bdrate`` to an argparse subparsers object."""
    # Codec names are checked by the handler: importing licodec.eval.baselines here would load numpy and
    # Pillow for every licodec command.
    p = sub.add_parser("baselines", help="measure classical codecs on an image folder", formatter_class=Formatter)
    p.add_argument("folder", help="folder of images (e.g. Kodak)")
    names = "jpeg jpeg-444 webp jpeg2000 avif heic jpegxl vvc"  # = licodec.eval.baselines.CODECS (a test checks)
    p.add_argument("--codecs", nargs="+", metavar="NAME", help=f"codecs to run (default: all): {names}")
    p.add_argument("--out", default="results/baselines", help="folder for <codec>.json/.csv and the cache")
    p.add_argument("--workers", type=int, default=1, help="parallel processes")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=cmd_baselines)

    p = sub.add_parser("plot", help="plot RD curves from results JSON files", formatter_class=Formatter)
    p.add_argument("results", nargs="+", metavar="RESULTS.json")
    p.add_argument("-o", "--output", default="rd.png", help="PNG to write")
    p.add_argument("--zoom", nargs=2, type=float, metavar=("BPP_MIN", "BPP_MAX"), help="rate range to show")
    p.add_argument("--title", help="figure title")
    p.set_defaults(handler=cmd_plot)

    p = sub.add_parser("bdrate", help="Bjøntegaard deltas against an anchor curve", formatter_class=Formatter)
    p.add_argument("results", nargs="+", metavar="RESULTS.json")
    p.add_argument("--anchor", required=True, help="anchor: its curve name or its file's stem")
    p.add_argument("--metric", choices=["psnr-rgb", "ms-ssim-db"], default="psnr-rgb")
    p.set_defaults(handler=cmd_bdrate)
