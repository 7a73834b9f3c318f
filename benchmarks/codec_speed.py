"""Encode/decode seconds of licodec's Cheng 2020 models against CompressAI's cheng2020_attn, side by side on
one 768x512 image, N=128, random weights, on this machine.

    pip install compressai torch==2.13.0      # for this benchmark only (the pin keeps the CPU torch)
    python benchmarks/codec_speed.py [--image kodim23.png] [--threads 2] [--repeat 2]

Targets: cheng2020-attn-ckbd decodes >= 10x faster than CompressAI's cheng2020_attn and the serial K=3 model
no slower than CompressAI's single-Gaussian serial model; the octave codec (no context model)
decodes >= 10x faster than licodec's serial cheng2020-attn K=3. Rows marked bfloat16 run the
synthesis under bfloat16 autocast (`licodec decode --precision bfloat16`), rows marked --fast run its wide 3x3
convolutions in int8 and the rest in bfloat16 (`licodec decode --fast`, src/licodec/int8.py); the one-time
cost of making the int8 copy of a loaded model is printed apart. The octave codec's gains are scaled up until
its file is as large as the serial model's (its random latents are otherwise nearly all zero). licodec timings
are the library calls `compress`/`decompress` (real files; model loading excluded); CompressAI's are its
`compress`/`decompress` after `update()`.
"""

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from timing import best_of

from licodec.codec import compress, decompress
from licodec.fast.int8 import int8_copy
from licodec.fast.precision import synthesis_precision
from licodec.models import create_model

KODAK = Path(__file__).resolve().parents[2] / "shared/data/kodak/kodim23.png"


def load_image(path: str | None) -> np.ndarray:
    if path or KODAK.exists():
        return np.asarray(Image.open(path or KODAK).convert("RGB"))
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:512, 0:768]
    base = np.stack([np.sin(xx / 17 + c) * 70 + np.cos(yy / 23) * 40 + 128 for c in range(3)], -1)
    return np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)


def bench_licodec(name: str, rgb: np.ndarray, repeat: int, k: int = 3, precision: str = "float32", min_bytes: int = 0):
    """``min_bytes``: scale the model's gains up until its file is at least this large, so that a random
    network whose latents are nearly all zero does not decode fast merely for having nothing to decode."""
    torch.manual_seed(0)
    model = create_model(name, N=128, K=k).eval()
    for _ in range(20):
        if len(compress(rgb, model)) >= min_bytes:
            break
        with torch.no_grad():
            model.gain.mul_(1.5)
    t_enc, data = best_of(repeat, lambda: compress(rgb, model))
    t_dec, out = best_of(repeat, lambda: decompress(data, model, precision=precision))
    assert out.shape == rgb.shape
    return t_enc, t_dec, len(data)


def bench_compressai(rgb: np.ndarray, repeat: int) -> tuple[float, float, int] | None:
    try:
        # CompressAI imports torchvision, whose compiled ops do not load beside the CPU torch 2.13 wheel;
        # declaring the two op schemas it registers first lets the import succeed.
        for schema in (
            "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
            "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
        ):
            try:
                name, signature = schema.split("(", 1)
                torch.library.define(f"torchvision::{name}", "(" + signature)
            except RuntimeError:
                pass
        from compressai.zoo import cheng2020_attn
    except ImportError as e:
        print(f"compressai not importable ({e}); pip install compressai torch==2.13.0")
        return None
    torch.manual_seed(0)
    net = cheng2020_attn(quality=3, pretrained=False).eval()  # quality 1-3 use N=128
    net.update(force=True)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        t_enc, enc = best_of(repeat, lambda: net.compress(x))
        t_dec, _ = best_of(repeat, lambda: net.decompress(enc["strings"], enc["shape"]))
    size = sum(len(s[0]) for s in enc["strings"])
    return t_enc, t_dec, size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rgb = load_image(args.image)
    print(f"image {rgb.shape[1]}x{rgb.shape[0]}, N=128, random weights, threads={args.threads}, best of {args.repeat}")
    rows = {}
    ref = bench_compressai(rgb, args.repeat)
    if ref:
        rows["compressai cheng2020_attn (1 Gaussian, serial)"] = ref
    serial = "licodec cheng2020-attn K=3 (serial)"
    rows[serial] = bench_licodec("cheng2020-attn", rgb, args.repeat, 3)
    rows["licodec cheng2020-attn K=1 (serial)"] = bench_licodec("cheng2020-attn", rgb, args.repeat, 1)
    rows["licodec cheng2020-attn-ckbd K=3"] = bench_licodec("cheng2020-attn-ckbd", rgb, args.repeat, 3)
    ckbd = "cheng2020-attn-ckbd"
    rows["licodec cheng2020-attn-ckbd K=3, bfloat16"] = bench_licodec(ckbd, rgb, args.repeat, 3, "bfloat16")
    fast = synthesis_precision(None, fast=True, deterministic=False)
    rows[f"licodec cheng2020-attn-ckbd K=3, --fast ({fast})"] = bench_licodec(ckbd, rgb, args.repeat, 3, fast)
    size = rows[serial][2]  # the octave codec's random latents are nearly all zero: match the file size
    rows["licodec fu2022-octave K=3"] = bench_licodec("fu2022-octave", rgb, args.repeat, 3, min_bytes=size)
    octave_fast = bench_licodec("fu2022-octave", rgb, args.repeat, 3, fast, size)
    rows[f"licodec fu2022-octave K=3, --fast ({fast})"] = octave_fast
    print(f"{'model':52s} {'encode s':>9s} {'decode s':>9s} {'bytes':>8s} {'vs compressai':>14s} "
          f"{'vs serial K=3':>14s}")  # fmt: skip
    for label, (t_enc, t_dec, size) in rows.items():
        vs_ref = f"x{ref[1] / t_dec:.2f}" if ref else "-"
        print(f"{label:52s} {t_enc:9.2f} {t_dec:9.2f} {size:8d} {vs_ref:>14s} {rows[serial][1] / t_dec:13.2f}x")
    if fast == "int8":
        model = create_model(ckbd, N=128, K=3).eval()
        seconds, _ = best_of(1, lambda: int8_copy(model.g_s))
        print(f"int8 copy of {ckbd}'s g_s, made once per loaded model (in a one-file CLI decode too): {seconds:.3f} s")


if __name__ == "__main__":
    main()
