"""The run that measures the classical codecs of ``licodec.eval.baselines`` on an image folder: every codec at
every setting on every image, cached per (codec and library versions, setting, image hash), in parallel
worker processes, written as ``<codec>.json`` (``licodec.eval.results``) and ``<codec>.csv``.
"""

import hashlib
import json
import os
import sys
from pathlib import Path

from licodec.eval.baselines import CODECS, Codec, Setting, get_codec, measure
from licodec.eval.results import Measurement, RDCurve, curve_from_measurements, save_curve
from licodec.image import list_images, read_image


def _cache_file(cache: Path, codec_name: str, description: str, setting: Setting, image_hash: str) -> Path:
    key = hashlib.sha256(f"{description}|{setting!r}|{image_hash}".encode()).hexdigest()[:32]
    return cache / codec_name / f"{key}.json"


def _measure_task(codec: Codec, setting: Setting, path: Path, cache_file: Path) -> Measurement:
    rgb = read_image(path).rgb
    try:
        m = measure(codec, rgb, setting)
    except Exception as e:  # name the codec, setting and image: the library's message alone rarely does
        raise RuntimeError(f"{codec.name} failed at {codec.setting_name} {setting} on {path.name}: {e}") from e
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"image": path.name, "setting": setting, **m.to_dict()}))
    os.replace(tmp, cache_file)
    return m


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _run_tasks(tasks: list[tuple], workers: int, progress: bool) -> list[Measurement]:
    from tqdm import tqdm

    bar = tqdm(total=len(tasks), disable=not progress or not tasks, desc="baselines", unit="img", file=sys.stderr)
    results: list[Measurement] = []
    if workers <= 1:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # MS-SSIM in torch: one thread, like the encoders
        try:
            for task in tasks:
                bar.set_postfix_str(f"{task[0].name} {task[2].name}")
                results.append(_measure_task(*task))
                bar.update()
        finally:
            torch.set_num_threads(threads)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")  # no fork of a process holding OpenMP threads
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker) as pool:
            futures = [pool.submit(_measure_task, *task) for task in tasks]
            for future in futures:
                results.append(future.result())
                bar.update()
    bar.close()
    return results


def _write_csv(curve: RDCurve, codec: Codec, path: Path) -> None:
    columns = ("bytes", "bpp", "psnr-rgb", "ms-ssim", "ms-ssim-db", "encoding_time", "decoding_time")
    lines = ["codec," + codec.setting_name.replace(" ", "_") + ",image," + ",".join(columns)]
    for image, values in curve.per_image.items():
        for i, setting in enumerate(curve.settings):
            lines.append(",".join([codec.name, str(setting), image, *(f"{values[c][i]:.6g}" for c in columns)]))
    path.write_text("\n".join(lines) + "\n")


def run_baselines(
    folder: str | Path,
    codecs: list[str | Codec] | None = None,
    out_dir: str | Path = "results/baselines",
    workers: int = 1,
    progress: bool = True,
) -> list[RDCurve]:
    """Measure each available codec at every setting on every image of ``folder``.

    Writes ``<out_dir>/<codec>.json`` (see ``licodec.eval.results``) and ``<out_dir>/<codec>.csv`` (one row per
    image and setting). Measurements are cached in ``<out_dir>/cache/`` under (codec description with library
    versions, setting, SHA-256 of the image file), so a re-run only measures what is new. Unavailable codecs
    are skipped with their reason on stderr. Returns the curves written.
    """
    images = list_images(folder)
    selected = [get_codec(c) if isinstance(c, str) else c for c in (codecs if codecs else list(CODECS))]
    runnable = []
    for codec in selected:
        reason = codec.unavailable_reason()
        if reason:
            print(f"skipping {codec.name}: {reason}", file=sys.stderr)
        else:
            runnable.append(codec)
    out_dir, hashes = Path(out_dir), {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in images}
    descriptions = {codec.name: codec.description() for codec in runnable}
    found: dict[tuple[str, Setting, Path], Measurement] = {}
    pending = []
    for path in images:  # image-major, so an interrupted run has covered whole images
        for codec in runnable:
            for setting in codec.settings:
                cache_file = _cache_file(out_dir / "cache", codec.name, descriptions[codec.name], setting, hashes[path])
                if cache_file.is_file():
                    found[codec.name, setting, path] = Measurement.from_dict(json.loads(cache_file.read_text()))
                else:
                    pending.append((codec, setting, path, cache_file))
    for task, m in zip(pending, _run_tasks(pending, workers, progress), strict=True):
        found[task[0].name, task[1], task[2]] = m
    curves = []
    for codec in runnable:
        per_image = {p.name: [found[codec.name, s, p] for s in codec.settings] for p in images}
        description = f"{descriptions[codec.name]}; {len(images)} images of {Path(folder).name}"
        curve = curve_from_measurements(codec.label, description, list(codec.settings), per_image)
        save_curve(curve, out_dir / f"{codec.name}.json")
        _write_csv(curve, codec, out_dir / f"{codec.name}.csv")
        curves.append(curve)
    return curves
