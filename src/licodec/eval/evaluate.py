"""Evaluate licodec models on an image folder with real files: bytes written, PSNR and MS-SSIM of the
decoded file, the model's own rate estimate, and coding times. Results in the field's JSON schema.
"""

import csv
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from licodec.codec import Encoded, decompress, encode, read_image
from licodec.eval.metrics import bpp, msssim, psnr
from licodec.eval.results import Measurement, RDCurve, curve_from_measurements
from licodec.image import list_images
from licodec.refine import objective_of
from licodec.train.distributed import torch_threads


@dataclass(frozen=True)
class ImageResult(Measurement):
    """A licodec file measured: the classical codecs' measurement plus which image, the quality, the
    model's own rate estimate and the refinement steps taken."""

    image: str = ""
    quality: int = 0  # 1-based, as on the command line
    bpp_estimated: float = 0.0
    refine_steps: int = 0  # encoder-side latent refinement steps taken for this file


CSV_FIELDS = ("image", "quality", "num_bytes", "bpp", "bpp_estimated", "psnr_rgb", "ms_ssim", "encoding_time",
              "decoding_time", "refine_steps")  # fmt: skip


def evaluate_image(model: torch.nn.Module, path: Path, quality: int, refine_steps: int | None = None) -> ImageResult:
    """Compress one image to real bytes, decode them, and measure (quality is 0-based here)."""
    source = read_image(path)
    rgb = source.rgb
    start = time.perf_counter()
    coded = encode(source, model, quality, refine_steps)
    data = coded.data
    encoded = time.perf_counter()
    decoded = decompress(data, model)
    decoding_time = time.perf_counter() - encoded
    if decoded.ndim == 2:
        decoded, rgb = np.repeat(decoded[..., None], 3, 2), np.repeat(rgb[..., :1], 3, 2)
    estimated_bits = estimated_bits_of(model, coded, quality)
    h, w = rgb.shape[:2]
    return ImageResult(
        image=path.name, quality=quality + 1, num_bytes=len(data), bpp=bpp(len(data), h, w),
        bpp_estimated=estimated_bits / (h * w), psnr_rgb=psnr(rgb, decoded), ms_ssim=msssim(rgb, decoded),
        encoding_time=encoded - start, decoding_time=decoding_time, refine_steps=coded.refine_steps,
    )  # fmt: skip


@torch.no_grad()
def estimated_bits_of(model: torch.nn.Module, coded: Encoded, quality: int) -> float:
    """The model's own rate estimate for the latent a file holds (what the entropy coder should reach)."""
    return float(model.latent_bits(coded.y)[0])


_WORKER_MODEL = None


def _init_worker(spec: str | None, threads: int) -> None:
    global _WORKER_MODEL
    from licodec.zoo import load_model

    torch.set_num_threads(threads)
    _WORKER_MODEL = load_model(spec)


def _work(job: tuple[str, int, int | None]) -> ImageResult:
    return evaluate_image(_WORKER_MODEL, Path(job[0]), job[1], job[2])


def evaluate(spec: str | None, folder: str | Path, qualities: list[int] | None = None, workers: int = 1,
             threads: int = 1, progress: bool = True, limit: int | None = None,
             refine_steps: int | None = None) -> list[ImageResult]:  # fmt: skip
    """All (image, quality) pairs for the model ``spec`` (zoo name or weights file; None = default).

    ``qualities`` are 1-based; default: every rate point of the model. ``refine_steps``: encoder-side
    latent refinement (refine.py) for every file; None, as for ``codec.encode``, takes what encode does.
    """
    from licodec.zoo import load_model

    model = load_model(spec)
    qualities = qualities or list(range(1, model.rates + 1))
    bad = [q for q in qualities if not 1 <= q <= model.rates]
    if bad:
        raise ValueError(f"qualities {bad} out of range 1..{model.rates}")
    images = list_images(folder)[:limit]
    if refine_steps:
        for q in qualities:  # RefineError (a ValueError) before any work
            objective_of(model, q - 1)
    jobs = [(str(p), q - 1, refine_steps) for q in qualities for p in images]
    bar = tqdm(total=len(jobs), disable=not progress, desc="eval", unit="img")
    results = []
    if workers <= 1:
        with torch_threads(threads):  # the caller's thread count comes back afterwards
            for job in jobs:
                results.append(evaluate_image(model, Path(job[0]), job[1], job[2]))
                bar.update(1)
    else:
        with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(spec, threads)) as pool:
            for r in pool.map(_work, jobs):
                results.append(r)
                bar.update(1)
    bar.close()
    return results


def to_curve(name: str, description: str, results: list[ImageResult]) -> tuple[RDCurve, dict]:
    """The curve of every image at every quality (averaged as the baselines are, eval/results.py), with the
    per-image and mean estimated bpp."""
    qualities = sorted({r.quality for r in results})
    by_image: dict[str, list[ImageResult]] = {}
    for r in sorted(results, key=lambda r: r.quality):
        by_image.setdefault(r.image, []).append(r)
    curve = curve_from_measurements(name, description, qualities, by_image)
    for image, rows in by_image.items():
        curve.per_image[image]["bpp-estimated"] = [r.bpp_estimated for r in rows]
    estimated = [math.fsum(rows[i].bpp_estimated for rows in by_image.values()) / len(by_image)
                 for i in range(len(qualities))]  # fmt: skip
    return curve, {"bpp-estimated": estimated}


def save(curve: RDCurve, extra_results: dict, results: list[ImageResult], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    d = curve.to_dict()
    d["results"].update(extra_results)
    json_path = out_dir / f"{curve.name}.json"
    json_path.write_text(json.dumps(d, indent=2) + "\n")
    csv_path = out_dir / f"{curve.name}.csv"
    with open(csv_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_FIELDS)
        for r in results:
            writer.writerow([getattr(r, k) for k in CSV_FIELDS])
    return json_path, csv_path
